/**
 * Starts the repository's local development broker (scripts/kafka/kafka.sh: a single-node KRaft
 * Kafka on 127.0.0.1, no Docker) for `ksched start` when no brokers are configured.
 *
 * @module
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Logger as PinoLogger } from 'pino';
import { CliError, ExitCode } from './errors.js';

/** The broker script of this repository (apps/scheduler/src → scripts/kafka/kafka.sh). */
export const KAFKA_SCRIPT = fileURLToPath(new URL('../../../scripts/kafka/kafka.sh', import.meta.url));

/**
 * Runs `kafka.sh start` (which fetches the Kafka jars on first use, formats storage, starts the
 * broker and waits until it is ready; a broker already running is reused) and resolves with its
 * address, e.g. `127.0.0.1:19092`. The port comes from `KSCHED_KAFKA_PORT` (default 19092).
 *
 * @throws CliError when the script is missing or fails.
 */
export async function startLocalBroker(logger: PinoLogger, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if (!existsSync(KAFKA_SCRIPT)) {
    throw new CliError(
      `no brokers configured, and ${KAFKA_SCRIPT} is not here to start a local one: set KSCHED_BROKERS or --brokers`,
      ExitCode.usage,
    );
  }
  logger.info(
    { script: KAFKA_SCRIPT, port: env['KSCHED_KAFKA_PORT'] ?? '19092' },
    'no brokers configured: starting the local Kafka broker (the first run downloads the Kafka jars with Maven)',
  );
  const child = spawn('bash', [KAFKA_SCRIPT, 'start'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let tail: string[] = [];
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    for (const line of chunk.split('\n')) {
      if (line.trim() === '') continue;
      tail = [...tail.slice(-19), line];
      logger.info({ component: 'kafka.sh' }, line);
    }
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  const address = stdout.trim().split('\n').pop()?.trim() ?? '';
  if (code !== 0 || !/^[^\s:]+:\d+$/.test(address)) {
    throw new CliError(
      `the local broker did not start (kafka.sh exited ${code ?? 'by a signal'}): ${tail.slice(-3).join(' | ') || 'see its log under ~/.cache/ksched/kafka'}`,
      ExitCode.failure,
    );
  }
  logger.info({ brokers: address }, `local Kafka broker ready on ${address} (stop it with scripts/kafka/kafka.sh stop)`);
  return address;
}
