/**
 * The real `ksched` process against the real broker: migrate topics, run the scheduler, schedule
 * and cancel with the CLI, watch the dispatch on the target topic, read /metrics and /readyz,
 * SIGTERM, and see `stopped` reported and exit 0.
 */
import { randomUUID } from 'node:crypto';
import { Header } from '@ksched/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  brokers,
  cleanEnv,
  get,
  killSpawned,
  ksched,
  metricValue,
  rdkafkaAvailable,
  startKsched,
  waitFor,
  watchTopic,
  type KschedProcess,
} from './helpers.js';

const id = randomUUID().slice(0, 8);
const schedules = `it_sched_${id}`;
const target = `it_target_${id}`;
const group = `it_group_${id}`;
const env = () => cleanEnv({ KSCHED_BROKERS: brokers(), KSCHED_TOPICS: schedules, KSCHED_GROUP_ID: group, KSCHED_LOG_PRETTY: 'false' });

/** Starts `ksched run` on a free HTTP port; resolves once it logged the port. */
async function runScheduler(extra: readonly string[] = [], environment = env()): Promise<{ p: KschedProcess; base: string }> {
  const p = startKsched(['run', '--http-port', '0', ...extra], environment);
  const port = await waitFor(
    'the HTTP port in the logs',
    () => {
      if (p.child.exitCode !== null) throw new Error(`ksched run exited ${p.child.exitCode}: ${p.stderr()}`);
      return p.logs().find((l) => typeof l['port'] === 'number' && String(l['msg']).startsWith('HTTP on'))?.['port'] as number | undefined;
    },
    60_000,
  );
  return { p, base: `http://127.0.0.1:${port}` };
}

afterEach(async () => {
  await killSpawned();
});

describe('ksched against the local broker', () => {
  let watcher: Awaited<ReturnType<typeof watchTopic>>;

  beforeAll(async () => {
    const migrated = await ksched(['topics', 'migrate', '--partitions', '2'], env());
    expect(migrated.stderr).toBe('');
    expect(migrated.stdout).toContain(`created ${schedules}\n`);
    expect(migrated.stdout).toContain(`created ${schedules}_states\n`);
    expect(migrated.stdout).toContain('ok: topics match the reference settings');
    expect(migrated.code).toBe(0);
    const target0 = await ksched(['topics', 'migrate', '-s', target, '--partitions', '1'], env());
    expect(target0.code).toBe(0);
    watcher = await watchTopic(target);
  });

  afterAll(async () => {
    await watcher?.close();
  });

  it('topics migrate is idempotent and reports the existing topics', async () => {
    const again = await ksched(['topics', 'migrate', '--dry-run', '--json'], env());
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toEqual({
      topics: [schedules, `${schedules}_states`],
      created: [],
      differences: [],
      configsChecked: true,
      ok: true,
    });
  });

  it('topics migrate reports differences and exits 1', async () => {
    const result = await ksched(['topics', 'migrate', '--dry-run', '--partitions', '3'], env());
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`differs schedules topic "${schedules}" has 2 partitions, expected 3`);
  });

  it('schedules with the CLI, dispatches on time, serves /readyz and /metrics, and stops cleanly on SIGTERM', async () => {
    const { p, base } = await runScheduler();
    expect((await get(`${base}/healthz`)).status).toBe(200);
    const ready = await waitFor('/readyz 200', async () => {
      const r = await get(`${base}/readyz`);
      return r.status === 200 ? (JSON.parse(r.body) as { partitions: { state: string }[]; brokerReachable: boolean }) : undefined;
    });
    expect(ready.brokerReachable).toBe(true);
    expect(ready.partitions.map((x) => x.state)).toEqual(['loaded', 'loaded']);

    // Schedule with the CLI: payload on stdin, a header, due in 2 s.
    const scheduled = await ksched(
      ['schedule', '-t', target, '-k', 'order-1', '-H', 'origin=it', '--in', '2s', '--id', `it-${id}-1`, '--json'],
      env(),
      'hello from stdin',
    );
    expect(scheduled.stderr).toBe('');
    expect(scheduled.code).toBe(0);
    const ref = JSON.parse(scheduled.stdout) as { key: string; schedulesTopic: string; partition: number; offset: number; dueAt: string };
    expect(ref).toMatchObject({ key: `it-${id}-1`, schedulesTopic: schedules });
    const dueMs = Date.parse(ref.dueAt);

    // A second schedule, far off (but within the 1 h horizon, so held in memory), then cancelled:
    // it must leave the buffer and never be dispatched.
    const beforeFar = Date.now();
    const far = await ksched(['schedule', '-t', target, '--payload', 'never', '--in', '20m', '--id', `it-${id}-2`, '--json'], env());
    expect(far.code).toBe(0);
    const farRef = JSON.parse(far.stdout) as { partition: number };
    await waitFor(
      'the far schedule buffered',
      async () =>
        metricValue((await get(`${base}/metrics`)).body, 'ksched_schedules_buffered', {
          topic: schedules,
          partition: String(farRef.partition),
        }) === 1,
    );
    // `ksched find` sees it pending, on its partition, with its due time.
    const pending = JSON.parse((await ksched(['find', `it-${id}-2`, '--partition', String(farRef.partition), '--json'], env())).stdout) as {
      partition: number;
      status: string;
      dueAt: string | null;
    };
    expect(pending).toMatchObject({ partition: farRef.partition, status: 'pending' });
    expect(Date.parse(pending.dueAt!)).toBeGreaterThan(Date.now() + 10 * 60_000);
    const pendingRows = JSON.parse((await ksched(['list', '-p', String(farRef.partition), '--pending', '--json'], env())).stdout) as {
      records: { key: string; type: string }[];
    };
    expect(pendingRows.records).toContainEqual(expect.objectContaining({ key: `it-${id}-2`, type: 'schedule' }));
    // `ksched list --since` starts at the first record written since then: the far schedule, not the first one.
    const since = JSON.parse(
      (await ksched(['list', '-p', String(farRef.partition), '--since', new Date(beforeFar).toISOString(), '--json'], env())).stdout,
    ) as { records: { key: string; type: string; createdAt: string }[] };
    expect(since.records).toContainEqual(expect.objectContaining({ key: `it-${id}-2`, type: 'schedule' }));
    expect(since.records).not.toContainEqual(expect.objectContaining({ key: `it-${id}-1`, type: 'schedule' }));
    expect(since.records.every((r) => Date.parse(r.createdAt) >= beforeFar - 1000)).toBe(true);
    // `ksched reschedule` moves it (same partition, 25 min from now); `ksched cancel` without a
    // partition finds it where it is.
    const moved = await ksched(['reschedule', `it-${id}-2`, '--in', '25m', '--json'], env());
    expect(moved.code).toBe(0);
    const movedRef = JSON.parse(moved.stdout) as { partition: number; dueAt: string; was: string };
    expect(movedRef).toMatchObject({ partition: farRef.partition, was: pending.dueAt });
    expect(Date.parse(movedRef.dueAt)).toBeGreaterThan(Date.parse(pending.dueAt!));
    const cancelled = await ksched(['cancel', `it-${id}-2`], env());
    expect(cancelled.code).toBe(0);
    expect(cancelled.stdout).toMatch(new RegExp(`^cancel for it-${id}-2 written to ${schedules}/${farRef.partition}@\\d+\\n$`));

    // The dispatch, observed on the target topic.
    const record = await waitFor(
      'the dispatched message',
      () => watcher.records.find((r) => r.key !== null && Buffer.from(r.key).toString() === 'order-1'),
      60_000,
    );
    expect(Buffer.from(record.value!).toString()).toBe('hello from stdin');
    const headers = Object.fromEntries(Object.entries(record.headers).map(([k, v]) => [k, Buffer.from(v).toString()]));
    expect(headers).toMatchObject({
      origin: 'it',
      [Header.sourceTopic]: schedules,
      [Header.sourceKey]: `it-${id}-1`,
      [Header.sourcePartition]: String(ref.partition),
    });
    expect(record.timestamp).toBeGreaterThanOrEqual(dueMs);

    // Metrics: one dispatch with its lateness, nothing left in the buffers, both partitions loaded.
    const metrics = await waitFor('the cancel applied', async () => {
      const text = (await get(`${base}/metrics`)).body;
      return metricValue(text, 'ksched_schedules_buffered') === 0 ? text : undefined;
    });
    expect(metricValue(metrics, 'ksched_dispatched_total', { topic: schedules })).toBe(1);
    expect(metricValue(metrics, 'ksched_dispatch_lateness_seconds_count', { topic: schedules })).toBe(1);
    expect(metricValue(metrics, 'ksched_dispatch_lateness_seconds_sum', { topic: schedules })).toBeLessThan(5);
    expect(metricValue(metrics, 'ksched_partition_state', { topic: schedules, state: 'loaded' })).toBe(2);
    expect(metricValue(metrics, 'ksched_load_duration_seconds_count', { topic: schedules })).toBe(2);
    expect(metricValue(metrics, 'ksched_ready')).toBe(1);
    expect(metricValue(metrics, 'ksched_broker_reachable')).toBe(1);
    expect(metrics).toContain('# TYPE ksched_invalid_records_total counter');

    // `ksched list` shows the schedule, its tombstone and the cancel.
    const listed = await ksched(['list', '-p', String(ref.partition), '--json'], env());
    expect(listed.code).toBe(0);
    const rows = (JSON.parse(listed.stdout) as { records: { type: string; key: string; targetTopic: string | null }[] }).records;
    expect(rows).toContainEqual(expect.objectContaining({ type: 'schedule', key: `it-${id}-1`, targetTopic: target }));
    expect(rows).toContainEqual(expect.objectContaining({ type: 'tombstone', key: `it-${id}-1` }));
    const farRows = (
      JSON.parse((await ksched(['list', '-p', String(farRef.partition), '--json'], env())).stdout) as {
        records: { type: string; key: string }[];
      }
    ).records;
    expect(farRows).toContainEqual(expect.objectContaining({ type: 'cancel', key: `it-${id}-2` }));
    // Nothing is pending any more on either partition.
    const stillPending = JSON.parse((await ksched(['list', '-p', String(farRef.partition), '--pending', '--json'], env())).stdout) as {
      records: unknown[];
    };
    expect(stillPending.records).toEqual([]);

    // `ksched find`: the first one dispatched (its schedule and tombstone), the second cancelled,
    // an unknown key not found (exit 1).
    const first = await ksched(['find', `it-${id}-1`, '--partition', String(ref.partition), '--json'], env());
    expect(first.code).toBe(0);
    const firstFound = JSON.parse(first.stdout) as { status: string; history: { type: string }[] };
    expect(firstFound.status).toBe('dispatched');
    expect(firstFound.history.map((h) => h.type)).toEqual(['schedule', 'tombstone']);
    const second = await ksched(['find', `it-${id}-2`, '--partition', String(farRef.partition)], env());
    expect(second.stdout).toMatch(new RegExp(`^it-${id}-2: cancelled \\(${schedules}/${farRef.partition}\\)\\n`));
    const none = await ksched(['find', `it-${id}-none`], env());
    expect(none.code).toBe(1);
    expect(none.stdout).toMatch(/no record with this key/);

    // SIGTERM: stopped reported per partition, group left, exit 0.
    p.child.kill('SIGTERM');
    const exit = await p.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    const messages = p.logs().map((l) => String(l['msg']));
    expect(messages).toContain(`partition ${schedules}/0 stopped`);
    expect(messages).toContain(`partition ${schedules}/1 stopped`);
    expect(messages).toContain('left the group; all partitions reported stopped');
    expect(p.stderr()).toBe('');

    const status = await ksched(['status', '--json'], env());
    expect(status.code).toBe(0);
    const states = JSON.parse(status.stdout) as {
      partition: number;
      state: string;
      schemaVersion: string;
      daily: Record<string, number>;
    }[];
    expect(states.map((s) => [s.partition, s.state])).toEqual([
      [0, 'stopped'],
      [1, 'stopped'],
    ]);
    expect(states[0]!.schemaVersion).toBe('1.0.0');
    const table = await ksched(['status'], env());
    expect(table.stdout).toMatch(/^TOPIC\s+PARTITION\s+STATE\s+REPORTED AT/);
    expect(table.stdout).toContain('stopped');

    // The cancelled schedule was never dispatched.
    expect(watcher.records.filter((r) => Buffer.from(r.value ?? new Uint8Array()).toString() === 'never')).toHaveLength(0);
  });
});

describe('a standby replica (more members than partitions)', async () => {
  const rdkafka = await import('../src/select-transport.js').then(
    (m) =>
      m.loadAdapter('rdkafka').then(
        () => true,
        () => false,
      ),
    () => false,
  );
  type ReadyBody = { status: string; reason: string; partitions: { state: string }[] };
  const readyz = async (base: string): Promise<{ status: number; body: ReadyBody }> => {
    const r = await get(`${base}/readyz`);
    return { status: r.status, body: JSON.parse(r.body) as ReadyBody };
  };

  for (const adapter of ['kafkajs', 'rdkafka'] as const) {
    it.runIf(adapter === 'kafkajs' || rdkafka)(
      `${adapter}: answers /readyz 200 and says it is a standby; takes the partition over when the owner stops`,
      async () => {
        const standbyTopic = `it_standby_${adapter}_${id}`;
        const standbyGroup = `it_standby_group_${adapter}_${id}`;
        const standbyEnv = () =>
          cleanEnv({
            KSCHED_BROKERS: brokers(),
            KSCHED_TOPICS: standbyTopic,
            KSCHED_GROUP_ID: standbyGroup,
            KSCHED_LOG_PRETTY: 'false',
            KSCHED_ADAPTER: adapter,
          });
        expect((await ksched(['topics', 'migrate', '--partitions', '1'], standbyEnv())).code).toBe(0);
        const first = await runScheduler([], standbyEnv());
        await waitFor('/readyz 200 of the first member', async () => (await readyz(first.base)).status === 200);
        const second = await runScheduler([], standbyEnv());
        // The second member's join moves the partition or not (the assignor's choice): one owns it, the other stands by.
        const [a, b] = await waitFor('both ready, one of them a standby', async () => {
          const both = [await readyz(first.base), await readyz(second.base)];
          const owners = both.filter((r) => r.body.partitions.length === 1).length;
          return both.every((r) => r.status === 200) && owners === 1 ? both : undefined;
        });
        const [owner, standby] = a!.body.partitions.length === 1 ? [first, second] : [second, first];
        expect((a!.body.partitions.length === 1 ? b : a)!.body).toEqual({
          status: 'ready',
          reason: `standby: member of group ${standbyGroup} with no partitions`,
          brokerReachable: true,
          partitions: [],
        });

        owner.p.child.kill('SIGTERM');
        expect(await owner.p.exited).toEqual({ code: 0, signal: null });
        const tookOver = await waitFor('the standby owning the partition, loaded', async () => {
          const r = await readyz(standby.base);
          return r.status === 200 && r.body.partitions.length === 1 ? r.body : undefined;
        });
        expect(tookOver.reason).toBe(`1 partition loaded (group ${standbyGroup})`);
        expect(tookOver.partitions.map((x) => x.state)).toEqual(['loaded']);
      },
    );
  }
});

describe('bad configuration and bad input', () => {
  it('ksched run with an invalid setting: one line on stderr, exit 2, nothing on stdout', async () => {
    const result = await ksched(['run'], cleanEnv({ KSCHED_BROKERS: brokers(), KSCHED_INTERVAL_MS: '500' }));
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe('error: invalid configuration: intervalMs: needs to be at least 1s (from KSCHED_INTERVAL_MS: "500")\n');
  });

  it('ksched run without brokers says how to configure them', async () => {
    const result = await ksched(['run'], cleanEnv());
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/^error: invalid configuration: brokers: .*KSCHED_BROKERS/);
  });

  it('ksched run on a schedules topic that does not exist asks for `topics migrate`', async () => {
    const result = await ksched(['run', '-s', `it_missing_${id}`, '--no-http'], cleanEnv({ KSCHED_BROKERS: brokers() }));
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/^error: schedules topic "it_missing_\w+" does not exist; .*ksched topics migrate/);
  });

  it('ksched schedule with bad input produces nothing', async () => {
    const e = cleanEnv({ KSCHED_BROKERS: brokers(), KSCHED_TOPICS: schedules });
    const before = await ksched(['list', '-p', '0', '--json'], e);
    const beforeAll1 = await ksched(['list', '-p', '1', '--json'], e);
    for (const args of [
      ['-t', target, '--payload', 'x', '--in', '5x'],
      ['-t', target, '--payload', 'x', '--at', 'next tuesday'],
      ['-t', 'bad topic!', '--payload', 'x', '--in', '5s'],
      ['-t', target, '--payload', 'x', '--at', '2001-01-01T00:00:00Z'],
      ['-t', target, '--payload', 'x'],
    ]) {
      const result = await ksched(['schedule', ...args], e);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(result.stderr).toMatch(/^error: /);
    }
    const after = await ksched(['list', '-p', '0', '--json'], e);
    const after1 = await ksched(['list', '-p', '1', '--json'], e);
    expect((JSON.parse(after.stdout) as { high: number }).high).toBe((JSON.parse(before.stdout) as { high: number }).high);
    expect((JSON.parse(after1.stdout) as { high: number }).high).toBe((JSON.parse(beforeAll1.stdout) as { high: number }).high);
  });
});

describe('the rdkafka adapter, selected at run time', async () => {
  const available = await rdkafkaAvailable();

  it.runIf(available)('runs the scheduler and the CLI with --adapter rdkafka', async () => {
    const rid = randomUUID().slice(0, 8);
    const topic = `it_rd_${rid}`;
    const e = cleanEnv({
      KSCHED_BROKERS: brokers(),
      KSCHED_ADAPTER: 'rdkafka',
      KSCHED_TOPICS: topic,
      KSCHED_GROUP_ID: `it_rd_${rid}`,
      KSCHED_LOG_PRETTY: 'false',
    });
    const migrated = await ksched(['topics', 'migrate', '--partitions', '1'], e);
    expect(migrated.code).toBe(0);
    expect(migrated.stdout).toContain(`created ${topic}\n`);
    expect((await ksched(['topics', 'migrate', '-s', `it_rd_target_${rid}`, '--partitions', '1'], e)).code).toBe(0);
    const watcher = await watchTopic(`it_rd_target_${rid}`);
    try {
      const p = startKsched(['run', '--http-port', '0'], e);
      const port = await waitFor(
        'the HTTP port',
        () => p.logs().find((l) => String(l['msg']).startsWith('HTTP on'))?.['port'] as number | undefined,
      );
      await waitFor('/readyz 200', async () => (await get(`http://127.0.0.1:${port}/readyz`)).status === 200);
      const scheduled = await ksched(['schedule', '-t', `it_rd_target_${rid}`, '-k', 'rd-1', '--payload', 'via rdkafka', '--in', '1s'], e);
      expect(scheduled.code).toBe(0);
      const record = await waitFor('the dispatch', () =>
        watcher.records.find((r) => r.key !== null && Buffer.from(r.key).toString() === 'rd-1'),
      );
      expect(Buffer.from(record.value!).toString()).toBe('via rdkafka');
      p.child.kill('SIGTERM');
      expect(await p.exited).toEqual({ code: 0, signal: null });
      const status = JSON.parse((await ksched(['status', '--json'], e)).stdout) as { state: string }[];
      expect(status.map((s) => s.state)).toEqual(['stopped']);
    } finally {
      await watcher.close();
    }
  });
});
