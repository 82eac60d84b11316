/**
 * Child process of rebalance.ts: feeds the schedules (each produced `leadMs` before its due time,
 * `rate` per second spread over the partitions) and, `joinAtMs` after the first due time, starts
 * the second group member (a Scheduler with the same transport options as the first). Reports the
 * join time, its `loaded` events and the keys it dispatched over IPC.
 */
import type kafkajs from 'kafkajs';
import { Scheduler, systemClock } from '@ksched/core';
import { kafka, payload, scheduleHeaders, sleep, transportFor, type AdapterName } from './lib/common.js';

interface Go {
  brokers: string[];
  topic: string;
  target: string;
  groupId: string;
  adapter: AdapterName;
  transportOptions: object;
  partitions: number;
  rate: number;
  total: number;
  leadMs: number;
  joinAtMs: number;
}
const send = (m: unknown) => new Promise<void>((r) => process.send!(m, () => r()));
const cfg = await new Promise<Go>((resolve) => process.once('message', (m) => resolve(m as Go)));
const stopRequested = new Promise<void>((resolve) => process.on('message', (m) => (m as { type?: string }).type === 'stop' && resolve()));
const value = payload(200);

const producer = kafka(cfg.brokers).producer({ allowAutoTopicCreation: false });
await producer.connect();

const member = new Scheduler({
  transport: transportFor(cfg.adapter, cfg.brokers, cfg.transportOptions),
  clock: systemClock,
  options: { topics: [cfg.topic], groupId: cfg.groupId },
});
const loaded: { partition: number; atMs: number; durationMs: number }[] = [];
const reloads: { partition: number; reason: string; atMs: number }[] = [];
const dispatched: { key: string; partition: number; dueMs: number; atMs: number }[] = [];
member.on('loaded', (e) => loaded.push({ partition: e.partition, atMs: Date.now(), durationMs: e.durationMs }));
member.on('reload', (e) => reloads.push({ partition: e.partition, reason: e.reason, atMs: Date.now() }));
member.on('dispatched', (e) => dispatched.push({ key: e.key, partition: e.partition, dueMs: e.dueMs, atMs: e.dispatchedAtMs }));

const startMs = Date.now() + cfg.leadMs + 500;
const dueOf = (i: number) => startMs + Math.floor((i * 1000) / cfg.rate);
let joinStartMs = NaN;
let joinReturnedMs = NaN;
const join = (async () => {
  await sleep(startMs + cfg.joinAtMs - Date.now());
  joinStartMs = Date.now();
  await member.start();
  joinReturnedMs = Date.now();
})();

let next = 0;
while (next < cfg.total) {
  const horizon = Date.now() + cfg.leadMs;
  const messages: kafkajs.Message[] = [];
  while (next < cfg.total && dueOf(next) <= horizon) {
    messages.push({ key: `reb-${next}`, value, headers: scheduleHeaders(dueOf(next), cfg.target), partition: next % cfg.partitions });
    next++;
  }
  if (messages.length > 0) await producer.send({ topic: cfg.topic, messages, acks: 1 });
  await sleep(20);
}
await join;
await producer.disconnect();
await sleep(dueOf(cfg.total - 1) + 3000 - Date.now());
await send({ type: 'fed', startMs, lastDueMs: dueOf(cfg.total - 1) });
await stopRequested;
const stopAtMs = Date.now();
await member.stop();
await send({ type: 'done', joinStartMs, joinReturnedMs, stopAtMs, loaded, reloads, dispatched });
process.exit(0);
