/**
 * `groupInstanceId` (static membership, KIP-345) on the real broker: a member killed with SIGKILL
 * (no LeaveGroup) and restarted with the same instance id gets its partitions back at once; a
 * dynamic member in its place waits for the dead one's session to expire.
 *
 * The killed member runs in a child process on the built adapter (`pnpm build`, which CI runs
 * before the tests).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { TopicPartition } from '@ksched/core';
import { kafkaBrokers, RecordingListener, waitUntil } from '@ksched/testkit';
import { harness } from './helpers.js';

const r = harness.useResources();
const SESSION_TIMEOUT_MS = 45_000;
const built = fileURLToPath(new URL('../dist/index.js', import.meta.url));

// The member to kill: joins, prints "assigned" once it holds partitions, then waits to be killed.
const MEMBER = `
const { createRdKafkaTransport } = await import(process.argv[1]);
const [brokers, topic, groupId, groupInstanceId, sessionTimeoutMs] = process.argv.slice(2);
const transport = createRdKafkaTransport({
  brokers: brokers.split(','),
  sessionTimeoutMs: Number(sessionTimeoutMs),
  ...(groupInstanceId !== '-' ? { groupInstanceId } : {}),
});
await transport.subscribe({
  groupId,
  topics: [topic],
  listener: {
    onAssigned: (tps) => { if (tps.length > 0) console.log('assigned ' + tps.length); },
    onRevoked: () => {},
    onBatch: () => {},
  },
});
setInterval(() => {}, 60_000);
`;

let child: ChildProcess | undefined;
afterEach(() => {
  child?.kill('SIGKILL');
  child = undefined;
});

/** Starts the member in a child process and resolves once it holds the topic's partitions. */
async function startMember(topic: string, groupId: string, instanceId: string | undefined): Promise<ChildProcess> {
  expect(existsSync(built), `the adapter is built (${built}): run pnpm build first`).toBe(true);
  const args = [kafkaBrokers().join(','), topic, groupId, instanceId ?? '-', String(SESSION_TIMEOUT_MS)];
  const proc = spawn(process.execPath, ['--input-type=module', '-e', MEMBER, built, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    proc.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('assigned')) resolve();
    });
    proc.once('exit', (code) => reject(new Error(`the member exited (${code}) before it was assigned`)));
  });
  return proc;
}

/** Kills the member, starts its replacement in this process, and returns ms until it holds partitions. */
async function replaceKilled(topic: string, groupId: string, instanceId: string | undefined): Promise<number> {
  child = await startMember(topic, groupId, instanceId);
  child.kill('SIGKILL');
  await new Promise((resolve) => child!.once('exit', resolve));
  const started = Date.now();
  const transport = await r.transport({
    sessionTimeoutMs: SESSION_TIMEOUT_MS,
    ...(instanceId !== undefined ? { groupInstanceId: instanceId } : {}),
  });
  const listener = new RecordingListener();
  const assigned: TopicPartition[] = [];
  listener.onAssignedHook = async (tps) => {
    assigned.push(...tps);
  };
  await transport.subscribe({ groupId, topics: [topic], listener });
  await waitUntil(() => assigned.length === 2, 'the replacement holds both partitions', 90_000);
  return Date.now() - started;
}

describe('rdkafka transport: static membership (groupInstanceId)', () => {
  it('a member killed and restarted with the same instance id takes its partitions back well before its session expires', async () => {
    const topic = await r.topic('static', 2);
    const tookMs = await replaceKilled(topic, harness.unique('group'), harness.unique('instance'));
    expect(tookMs).toBeLessThan(SESSION_TIMEOUT_MS / 3);
  }, 120_000);

  it('without one, the replacement waits for the killed member session to expire (what static membership saves)', async () => {
    const topic = await r.topic('dynamic', 2);
    const tookMs = await replaceKilled(topic, harness.unique('group'), undefined);
    expect(tookMs).toBeGreaterThan(SESSION_TIMEOUT_MS / 3);
  }, 150_000);
});
