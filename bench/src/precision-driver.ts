/**
 * Child process of precision.ts (and partitions.ts): feeds the schedules (each produced `leadMs`
 * before its due time; with `partitions`, spread round-robin over that many partitions) and
 * observes the targets with a plain kafkajs consumer, in its own process so that neither competes
 * with the scheduler's event loop. Talks to the parent over IPC.
 *
 * Its own lag is reported, so that a late feeder is not taken for a late scheduler: per produce
 * request, `feedLagMs` = acknowledgement − the time its first schedule was meant to be sent
 * (due − leadMs), and `minAheadMs` = the smallest (due − acknowledgement) of any schedule (how
 * long before its due time the broker had it; the scheduler still has to read it).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type kafkajs from 'kafkajs';
import { Header } from '@ksched/core';
import { kafka, payload, processCpu, scheduleHeaders, sleep } from './lib/common.js';
import type { DriverGo } from './lib/driver.js';

/** What to feed (the parent's `runDriver` sends it). */
type Go = DriverGo;
const send = (m: unknown) => new Promise<void>((r) => process.send!(m, () => r()));
const cfg = await new Promise<Go>((resolve) => process.once('message', (m) => resolve(m as Go)));
const value = payload(200);

const lateness: number[] = [];
const dues: number[] = [];
const createLag: number[] = [];
let early = 0;
let observed = 0;
let allObserved: () => void = () => {};
const allDone = new Promise<void>((r) => (allObserved = r));
const observer = kafka(cfg.brokers).consumer({ groupId: `bench-prec-observer-${cfg.topic}-${Date.now()}`, maxWaitTimeInMs: 100 });
await observer.connect();
await observer.subscribe({ topic: cfg.target, fromBeginning: true });
const joined = new Promise<void>((r) => observer.on(observer.events.GROUP_JOIN, () => r()));
void observer.run({
  autoCommit: false,
  eachBatch: async ({ batch }) => {
    const at = Date.now();
    for (const m of batch.messages) {
      const due = Number(m.headers?.[Header.targetEpochMs]?.toString());
      const created = Number(m.timestamp);
      lateness.push(at - due);
      dues.push(due);
      createLag.push(created - due);
      if (created < due || at < due) early++;
      observed++;
    }
    if (observed >= cfg.total) allObserved();
  },
});
await joined;
const producer = kafka(cfg.brokers).producer({ allowAutoTopicCreation: false });
await producer.connect();

const loopDelay = monitorEventLoopDelay({ resolution: 5 });
loopDelay.enable();
const cpu = processCpu();
const startMs = Date.now() + cfg.leadMs + 500;
const dueOf = (i: number) => startMs + Math.floor((i * 1000) / cfg.rate);
const partitions = cfg.partitions ?? 1;
const feedLag: number[] = [];
let minAheadMs = Infinity;
let next = 0;
while (next < cfg.total) {
  const horizon = Date.now() + cfg.leadMs;
  const messages: kafkajs.Message[] = [];
  const firstDue = dueOf(next);
  while (next < cfg.total && dueOf(next) <= horizon) {
    messages.push({ key: `prec-${next}`, value, headers: scheduleHeaders(dueOf(next), cfg.target), partition: next % partitions });
    next++;
  }
  if (messages.length > 0) {
    await producer.send({ topic: cfg.topic, messages, acks: 1 });
    const ackedAt = Date.now();
    feedLag.push(ackedAt - (firstDue - cfg.leadMs));
    minAheadMs = Math.min(minAheadMs, firstDue - ackedAt);
  }
  await sleep(20);
}
await Promise.race([allDone, sleep(cfg.leadMs + 30_000)]);
loopDelay.disable();
const cpuCores = cpu();
await producer.disconnect();
await observer.disconnect();
await send({
  observed,
  early,
  lateness,
  dues,
  createLag,
  driverLoopDelayP99Ms: loopDelay.percentile(99) / 1e6,
  feedLag,
  minAheadMs,
  requests: feedLag.length,
  cpuCores,
});
process.exit(0);
