/**
 * Vitest global setup for the `integration` project: tests run against a real Kafka broker.
 *
 * - `KSCHED_BROKERS` set: use that broker (an external cluster, or one you started yourself).
 * - unset: start the repo's local KRaft broker (scripts/kafka/kafka.sh, port KSCHED_KAFKA_PORT,
 *   default 19092) with its SASL_SSL listener (port + 2, unless KSCHED_KAFKA_SASL says otherwise;
 *   apps/scheduler/test/sasl-ssl.integration.test.ts needs it), point the tests at it, and stop it
 *   afterwards if this run started it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('./kafka.sh', import.meta.url));

export default function setup(): (() => void) | undefined {
  if (process.env['KSCHED_BROKERS']) return undefined;
  const port = process.env['KSCHED_KAFKA_PORT'] ?? '19092';
  const wasRunning = spawnSync('bash', [script, 'status'], { stdio: 'ignore' }).status === 0;
  const env = { ...process.env, KSCHED_KAFKA_SASL: process.env['KSCHED_KAFKA_SASL'] ?? '1' };
  execFileSync('bash', [script, 'start'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  process.env['KSCHED_BROKERS'] = `127.0.0.1:${port}`;
  return () => {
    if (!wasRunning && !process.env['KSCHED_KEEP_BROKER']) {
      spawnSync('bash', [script, 'stop'], { stdio: ['ignore', 'ignore', 'inherit'] });
    }
  };
}
