/**
 * Helpers of the integration tests: run the real `ksched` process (bin/ksched.js, from source),
 * wait for conditions by polling, and watch a topic through the kafkajs transport.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ConsumedRecord, Subscription, Transport } from '@ksched/core';
import { createKafkaJsTransport, type KafkaJsTransportOptions } from '@ksched/kafka-adapter-kafkajs';

export const BIN = fileURLToPath(new URL('../bin/ksched.js', import.meta.url));

/** The broker of the integration run (the root vitest global setup sets it when unset). */
export function brokers(): string {
  const value = process.env['KSCHED_BROKERS'];
  if (!value) throw new Error('KSCHED_BROKERS is not set: run the integration project (its global setup starts the local broker)');
  return value;
}

/** The parent environment without KSCHED_* settings (so a developer's shell cannot leak in), plus `extra`. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (!k.startsWith('KSCHED_') && !k.startsWith('VITEST') && k !== 'NODE_OPTIONS') env[k] = v;
  return { ...env, ...extra };
}

/** A spawned `ksched` process with its output collected. */
export interface KschedProcess {
  readonly child: ChildProcess;
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** stdout lines parsed as JSON log records (non-JSON lines skipped). */
  readonly logs: () => Record<string, unknown>[];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const spawned = new Set<ChildProcess>();

/** Starts `ksched <args>`. */
export function startKsched(args: readonly string[], env: NodeJS.ProcessEnv, input?: string): KschedProcess {
  const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  spawned.add(child);
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (err += c));
  child.stdin!.end(input ?? '');
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('close', (code, signal) => {
      spawned.delete(child);
      resolve({ code, signal });
    });
  });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    logs: () =>
      out.split('\n').flatMap((line) => {
        try {
          return line.startsWith('{') ? [JSON.parse(line) as Record<string, unknown>] : [];
        } catch {
          return [];
        }
      }),
    exited,
  };
}

/** Runs `ksched <args>` to completion. */
export async function ksched(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  input?: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = startKsched(args, env, input);
  const { code } = await p.exited;
  return { code, stdout: p.stdout(), stderr: p.stderr() };
}

/** Kills every process these helpers started that is still running (call in afterEach). */
export async function killSpawned(): Promise<void> {
  const running = [...spawned];
  for (const child of running) child.kill('SIGKILL');
  await Promise.all(
    running.map(
      (child) =>
        new Promise((resolve) =>
          child.exitCode !== null || child.signalCode !== null ? resolve(undefined) : child.once('close', resolve),
        ),
    ),
  );
}

/** Polls `check` until it returns a value other than undefined/false, or throws after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 60_000,
  everyMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/**
 * Consumes `topic` from its beginning into `records` until closed (kafkajs transport; `options`
 * replace the test broker, e.g. a SASL_SSL listener with its credentials).
 */
export async function watchTopic(
  topic: string,
  options: Partial<KafkaJsTransportOptions> = {},
): Promise<{ records: ConsumedRecord[]; transport: Transport; close: () => Promise<void> }> {
  const transport = createKafkaJsTransport({ brokers: brokers(), clientId: 'ksched-it-watch', ...options });
  const records: ConsumedRecord[] = [];
  const subscribing = transport.subscribe({
    groupId: `ksched-it-watch-${topic}-${Date.now()}`,
    topics: [topic],
    listener: {
      onAssigned: async (tps) => {
        for (const tp of tps) await transport.seekToBeginning(tp);
      },
      onRevoked: () => {},
      onBatch: (batch) => {
        records.push(...batch.records);
      },
    },
  });
  const subscribed: Subscription = await subscribing;
  return {
    records,
    transport,
    close: async () => {
      await subscribed.close();
      await transport.close();
    },
  };
}

/** HTTP GET returning status and body. */
export async function get(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.text() };
}

/** The value of a sample line of a Prometheus text exposition (summed over matching lines). */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  let total: number | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const labelText = match[2] ?? '';
    if (!Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`))) continue;
    total = (total ?? 0) + Number(match[3]);
  }
  return total;
}

/** Whether the node-rdkafka adapter loads here (its native module is built). */
export function rdkafkaAvailable(): Promise<boolean> {
  return import('../src/select-transport.js').then(
    (m) =>
      m.loadAdapter('rdkafka').then(
        () => true,
        () => false,
      ),
    () => false,
  );
}
