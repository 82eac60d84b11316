/**
 * The `ksched start` demo: once the scheduler is ready, schedule a few messages due seconds later
 * and log each dispatch, with its lateness, as it happens.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { DispatchedEvent } from '@ksched/core';
import { formatDuration } from './duration.js';
import type { ServiceContext } from './main.js';
import { connectionOptions } from './select-transport.js';
import { portLogger } from './logger.js';

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** Target topic of the demo messages. Default `ksched_demo`. */
  readonly targetTopic?: string;
  /** Delays of the demo schedules, ms. Default 3 s, 6 s, 9 s. */
  readonly delaysMs?: readonly number[];
  /** Longest wait for the scheduler to be ready, ms. Default 120 s. */
  readonly readyTimeoutMs?: number;
}

/** Waits until `ready()` holds, polling; false on timeout or when `stopping` settles first. */
async function waitUntil(ready: () => boolean, timeoutMs: number, stopping: Promise<void>): Promise<boolean> {
  let stopped = false;
  void stopping.then(() => {
    stopped = true;
  });
  const deadline = Date.now() + timeoutMs;
  while (!ready()) {
    if (stopped || Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return true;
}

/** Schedules the demo messages and logs their dispatches. Resolves when all were dispatched (or on shutdown). */
export async function runDemo(context: ServiceContext, options: DemoOptions = {}): Promise<void> {
  const { scheduler, logger, adapter, config, transport } = context;
  const targetTopic = options.targetTopic ?? 'ksched_demo';
  const delays = options.delaysMs ?? [3000, 6000, 9000];
  const log = logger.child({ component: 'demo' });

  // Client logs off: kafkajs logs "topic already exists" as an error, which it is not here.
  await adapter.createTopic({
    ...connectionOptions(config, portLogger(logger, { component: config.connection.adapter })),
    logLevel: 'nothing',
    topic: targetTopic,
    partitions: 1,
  });
  if (!(await waitUntil(() => scheduler.isReady(), options.readyTimeoutMs ?? 120_000, context.stopping))) {
    log.warn({}, 'demo: the scheduler did not become ready; no demo schedules sent');
    return;
  }

  const run = randomUUID().slice(0, 8);
  const pending = new Set<string>();
  let resolveAll: () => void = () => {};
  const allDispatched = new Promise<void>((resolve) => {
    resolveAll = resolve;
  });
  // `ksched start` logs every dispatch (with its lateness) at info; the demo only waits for its own.
  const off = scheduler.on('dispatched', (e: DispatchedEvent) => {
    if (!pending.delete(e.key)) return;
    if (pending.size === 0) resolveAll();
  });

  const client = adapter.createScheduleClient({ transport, schedulesTopic: config.scheduler.topics[0]! });
  try {
    const now = Date.now();
    for (const [i, delayMs] of delays.entries()) {
      const key = `ksched-demo-${run}-${i + 1}`;
      pending.add(key);
      const ref = await client.schedule({
        message: {
          topic: targetTopic,
          key: `demo-${i + 1}`,
          payload: JSON.stringify({ demo: i + 1, of: delays.length, scheduledAt: new Date(now).toISOString() }),
        },
        envelope: { key },
        at: now + delayMs,
      });
      log.info(
        { key, schedulesTopic: ref.topic, partition: ref.partition, offset: ref.offset, dueAt: new Date(now + delayMs).toISOString() },
        `demo: scheduled message ${i + 1}/${delays.length} for ${targetTopic}, due in ${formatDuration(delayMs)}`,
      );
    }
    log.info({}, `demo: ${delays.length} schedules written; each dispatch is logged as it happens`);
    await Promise.race([allDispatched, context.stopping]);
    if (pending.size === 0) {
      log.info(
        {},
        'demo: all demo messages dispatched. The scheduler keeps running: `ksched schedule --help` to add your own, Ctrl-C to stop',
      );
    }
  } finally {
    off();
    await client.close();
  }
}
