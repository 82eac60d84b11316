import { SchedulerEvents, type PartitionStatus } from '@ksched/core';
import { beforeEach, describe, expect, it } from 'vitest';
import { SchedulerMetrics, type MetricsSource } from '../src/metrics.js';

function status(partition: number, overrides: Partial<PartitionStatus> = {}): PartitionStatus {
  return {
    topic: 'sm',
    partition,
    state: 'loaded',
    halted: false,
    buffered: 0,
    reloads: 1,
    endOffset: 0,
    position: 0,
    invalid: 0,
    dispatched: 0,
    undeliverable: 0,
    windowEndMs: 0,
    bufferedBytes: 0,
    refilling: false,
    ...overrides,
  };
}

/** A fake scheduler: core's typed event emitter plus a settable partition list. */
function fakeSource() {
  const events = new SchedulerEvents();
  let partitions: PartitionStatus[] = [];
  const source: MetricsSource = { on: (name, listener) => events.on(name, listener), partitions: () => partitions };
  return { source, events, setPartitions: (p: PartitionStatus[]) => (partitions = p) };
}

/** The sample lines of the text exposition (comments dropped). */
async function samples(metrics: SchedulerMetrics): Promise<string[]> {
  return (await metrics.render()).split('\n').filter((l) => l !== '' && !l.startsWith('#'));
}

describe('SchedulerMetrics', () => {
  let metrics: SchedulerMetrics;
  let fake: ReturnType<typeof fakeSource>;

  beforeEach(() => {
    metrics = new SchedulerMetrics({ processMetrics: false });
    fake = fakeSource();
    metrics.attach(fake.source);
  });

  it('renders HELP and TYPE lines for every metric, in the Prometheus text format', async () => {
    const text = await metrics.render();
    for (const [name, type] of [
      ['ksched_schedules_buffered', 'gauge'],
      ['ksched_partition_state', 'gauge'],
      ['ksched_dispatched_total', 'counter'],
      ['ksched_dispatch_lateness_seconds', 'histogram'],
      ['ksched_invalid_records_total', 'counter'],
      ['ksched_load_duration_seconds', 'histogram'],
      ['ksched_reloads_total', 'counter'],
      ['ksched_flush_errors_total', 'counter'],
      ['ksched_ready', 'gauge'],
    ]) {
      expect(text).toContain(`# TYPE ${name} ${type}\n`);
      expect(text).toMatch(new RegExp(`# HELP ${name} \\S`));
    }
    expect(metrics.contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
  });

  it('reports buffered schedules per assigned partition at scrape time', async () => {
    fake.setPartitions([status(0, { buffered: 3 }), status(1, { buffered: 0 })]);
    expect(await samples(metrics)).toEqual(
      expect.arrayContaining([
        'ksched_schedules_buffered{topic="sm",partition="0"} 3',
        'ksched_schedules_buffered{topic="sm",partition="1"} 0',
      ]),
    );
    fake.setPartitions([status(1, { buffered: 5 })]);
    const after = await samples(metrics);
    expect(after).toContain('ksched_schedules_buffered{topic="sm",partition="1"} 5');
    fake.setPartitions([status(1, { bufferedBytes: 4096, windowEndMs: Date.now() + 3_600_000 })]);
    const window = await samples(metrics);
    expect(window).toContain('ksched_buffer_bytes{topic="sm",partition="1"} 4096');
    const ahead = Number(window.find((l) => l.startsWith('ksched_window_ahead_seconds{topic="sm",partition="1"}'))!.split(' ')[1]);
    expect(ahead).toBeGreaterThan(3590);
    expect(ahead).toBeLessThanOrEqual(3600);
    expect(after.some((l) => l.startsWith('ksched_schedules_buffered{topic="sm",partition="0"}'))).toBe(false);
  });

  it('counts dispatches and observes their lateness in seconds', async () => {
    const base = {
      topic: 'sm',
      partition: 2,
      key: 'k',
      offset: 1,
      targetTopic: 't',
      dueMs: 1000,
      dispatchedAtMs: 1012,
      possibleDuplicate: false,
    };
    fake.events.emit('dispatched', { ...base, lateMs: 12 });
    fake.events.emit('dispatched', { ...base, lateMs: 300, possibleDuplicate: true });
    const lines = await samples(metrics);
    expect(lines).toContain('ksched_dispatched_total{topic="sm",partition="2"} 2');
    expect(lines).toContain('ksched_possible_duplicates_total{topic="sm",partition="2"} 1');
    expect(lines).toContain('ksched_dispatch_lateness_seconds_bucket{le="0.01",topic="sm"} 0');
    expect(lines).toContain('ksched_dispatch_lateness_seconds_bucket{le="0.025",topic="sm"} 1');
    expect(lines).toContain('ksched_dispatch_lateness_seconds_bucket{le="0.5",topic="sm"} 2');
    expect(lines).toContain('ksched_dispatch_lateness_seconds_bucket{le="+Inf",topic="sm"} 2');
    expect(lines).toContain('ksched_dispatch_lateness_seconds_count{topic="sm"} 2');
    expect(lines).toContain('ksched_dispatch_lateness_seconds_sum{topic="sm"} 0.312');
  });

  it('counts invalid records by reason, and dead-lettered ones', async () => {
    fake.events.emit('invalid', { topic: 'sm', partition: 0, offset: 5, reason: 'bad_epoch', detail: 'x', deadLettered: true });
    fake.events.emit('invalid', { topic: 'sm', partition: 0, offset: 6, reason: 'bad_epoch', detail: 'x', deadLettered: false });
    fake.events.emit('invalid', { topic: 'sm', partition: 0, offset: 7, reason: 'null_key', detail: 'x', deadLettered: false });
    const lines = await samples(metrics);
    expect(lines).toContain('ksched_invalid_records_total{topic="sm",partition="0",reason="bad_epoch"} 2');
    expect(lines).toContain('ksched_invalid_records_total{topic="sm",partition="0",reason="null_key"} 1');
    expect(lines).toContain('ksched_dead_lettered_total{topic="sm",partition="0"} 1');
  });

  it('observes load durations and counts reloads by reason', async () => {
    fake.events.emit('reload', { topic: 'sm', partition: 0, reason: 'assigned', reloads: 1 });
    fake.events.emit('reload', { topic: 'sm', partition: 0, reason: 'resumed', reloads: 2 });
    fake.events.emit('loaded', { topic: 'sm', partition: 0, durationMs: 1500, buffered: 3, reloads: 2, by: 'end_offset' });
    const lines = await samples(metrics);
    expect(lines).toContain('ksched_reloads_total{topic="sm",partition="0",reason="assigned"} 1');
    expect(lines).toContain('ksched_reloads_total{topic="sm",partition="0",reason="resumed"} 1');
    expect(lines).toContain('ksched_load_duration_seconds_bucket{le="1",topic="sm"} 0');
    expect(lines).toContain('ksched_load_duration_seconds_bucket{le="2.5",topic="sm"} 1');
    expect(lines).toContain('ksched_load_duration_seconds_sum{topic="sm"} 1.5');
  });

  it('counts background reads by result with their duration, and each shortened horizon', async () => {
    fake.events.emit('refill', { topic: 'sm', partition: 0, phase: 'started', windowEndMs: 10 });
    fake.events.emit('refill', { topic: 'sm', partition: 0, phase: 'completed', windowEndMs: 10, records: 5, added: 2, durationMs: 700 });
    fake.events.emit('refill', { topic: 'sm', partition: 0, phase: 'failed', windowEndMs: 10, durationMs: 30 });
    fake.events.emit('horizon', { topic: 'sm', partition: 1, reason: 'memory', windowEndMs: 5, previousEndMs: 9, evicted: 3 });
    const lines = await samples(metrics);
    expect(lines).toContain('ksched_refills_total{topic="sm",partition="0",result="completed"} 1');
    expect(lines).toContain('ksched_refills_total{topic="sm",partition="0",result="failed"} 1');
    expect(lines).toContain('ksched_refill_duration_seconds_sum{topic="sm"} 0.7');
    expect(lines).toContain('ksched_horizon_shortened_total{topic="sm",partition="1"} 1');
  });

  it('shows the state of every partition it has seen, including stopped ones', async () => {
    fake.events.emit('state', { topic: 'sm', partition: 0, state: 'loading', halted: false });
    fake.events.emit('state', { topic: 'sm', partition: 0, state: 'loaded', halted: false });
    fake.events.emit('state', { topic: 'sm', partition: 1, state: 'stopped', halted: true });
    const lines = await samples(metrics);
    expect(lines).toContain('ksched_partition_state{topic="sm",partition="0",state="loaded"} 1');
    expect(lines).toContain('ksched_partition_state{topic="sm",partition="0",state="loading"} 0');
    expect(lines).toContain('ksched_partition_state{topic="sm",partition="1",state="stopped"} 1');
    expect(lines).toContain('ksched_partition_halted{topic="sm",partition="1"} 1');
    expect(lines).toContain('ksched_partition_halted{topic="sm",partition="0"} 0');
  });

  it('counts flushes, flush errors and errors by phase', async () => {
    fake.events.emit('flush', { topic: 'sm', partition: 0, records: 4, durationMs: 20, transactional: false });
    fake.events.emit('error', { topic: 'sm', partition: 0, phase: 'flush', error: new Error('x') });
    fake.events.emit('error', { topic: 'sm', partition: 0, phase: 'flush', error: new Error('x') });
    fake.events.emit('error', { topic: 'sm', partition: 0, phase: 'states', error: new Error('x') });
    const lines = await samples(metrics);
    expect(lines).toContain('ksched_flushes_total{topic="sm",partition="0"} 1');
    expect(lines).toContain('ksched_flush_errors_total{topic="sm",partition="0"} 2');
    expect(lines).toContain('ksched_errors_total{topic="sm",partition="0",phase="flush"} 2');
    expect(lines).toContain('ksched_errors_total{topic="sm",partition="0",phase="states"} 1');
  });

  it('reports readiness and broker reachability from the probe', async () => {
    expect(await samples(metrics)).toEqual(expect.arrayContaining(['ksched_ready 0', 'ksched_broker_reachable 0']));
    metrics.setReadiness(() => ({ ready: true, brokerReachable: true }));
    expect(await samples(metrics)).toEqual(expect.arrayContaining(['ksched_ready 1', 'ksched_broker_reachable 1']));
    metrics.setReadiness(() => ({ ready: false, brokerReachable: false }));
    expect(await samples(metrics)).toEqual(expect.arrayContaining(['ksched_ready 0', 'ksched_broker_reachable 0']));
  });

  it('stops counting once detached', async () => {
    const local = new SchedulerMetrics({ processMetrics: false });
    const source = fakeSource();
    const detach = local.attach(source.source);
    detach();
    source.events.emit('invalid', { topic: 'sm', partition: 0, offset: 1, reason: 'null_key', detail: '', deadLettered: false });
    expect((await samples(local)).some((l) => l.startsWith('ksched_invalid_records_total'))).toBe(false);
  });

  it('adds Node.js process metrics by default', async () => {
    const text = await new SchedulerMetrics().render();
    expect(text).toContain('# TYPE process_cpu_user_seconds_total counter');
    expect(text).toContain('# TYPE nodejs_heap_size_used_bytes gauge');
  });
});
