/**
 * `ksched start` (what `pnpm start` runs) with no brokers configured: it starts (here: finds
 * running) the local broker of scripts/kafka/kafka.sh, creates the topics, runs the scheduler and
 * shows the demo schedules being dispatched; SIGINT stops it with exit 0.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { brokers, cleanEnv, killSpawned, startKsched, waitFor } from './helpers.js';

const KAFKA_SH = fileURLToPath(new URL('../../../scripts/kafka/kafka.sh', import.meta.url));

/** The port of the broker under test when it is kafka.sh's own (so `start` reuses it instead of starting another). */
function localScriptPort(): string | undefined {
  const match = /^(?:127\.0\.0\.1|localhost):(\d+)$/.exec(process.env['KSCHED_BROKERS'] ?? '');
  if (!match) return undefined;
  const status = spawnSync('bash', [KAFKA_SH, 'status'], { env: { ...process.env, KSCHED_KAFKA_PORT: match[1] }, stdio: 'ignore' });
  return status.status === 0 ? match[1] : undefined;
}

afterEach(async () => {
  await killSpawned();
});

describe('ksched start', () => {
  const port = localScriptPort();

  it.runIf(port !== undefined)('without brokers: local broker, topics, scheduler and a demo dispatched seconds later', async () => {
    const id = randomUUID().slice(0, 8);
    const p = startKsched(
      ['start', '-s', `it_start_${id}`, '-g', `it_start_${id}`, '--demo-topic', `it_demo_${id}`, '--http-port', '0', '--partitions', '1'],
      cleanEnv({ KSCHED_KAFKA_PORT: port!, KSCHED_LOG_PRETTY: 'false' }),
    );
    const messages = () => p.logs().map((l) => String(l['msg']));
    await waitFor('all demo messages dispatched', () => messages().some((m) => m.startsWith('demo: all demo messages dispatched')), 90_000);
    const log = messages();
    expect(log).toContain(`local Kafka broker ready on ${brokers()} (stop it with scripts/kafka/kafka.sh stop)`);
    expect(log).toContain(`created topics it_start_${id}, it_start_${id}_states`);
    expect(log.filter((m) => /^demo: scheduled message \d\/3 for it_demo_\w+, due in \d/.test(m))).toHaveLength(3);
    const dispatched = p
      .logs()
      .filter((l) => /^dispatched ksched-demo-\w+-\d to it_demo_\w+, \S+ after its due time$/.test(String(l['msg'])));
    expect(dispatched).toHaveLength(3);
    for (const d of dispatched) {
      expect(d['lateMs']).toBeGreaterThanOrEqual(0);
      expect(d['lateMs']).toBeLessThan(5000);
    }
    p.child.kill('SIGINT');
    expect(await p.exited).toEqual({ code: 0, signal: null });
    expect(messages()).toContain(`partition it_start_${id}/0 stopped`);
  });

  it('with brokers configured: just the scheduler (no local broker, no demo)', async () => {
    const id = randomUUID().slice(0, 8);
    const env = cleanEnv({ KSCHED_BROKERS: brokers(), KSCHED_LOG_PRETTY: 'false' });
    const migrate = startKsched(['topics', 'migrate', '-s', `it_start_b_${id}`, '--partitions', '1'], env);
    expect((await migrate.exited).code).toBe(0);
    const p = startKsched(['start', '-s', `it_start_b_${id}`, '-g', `it_start_b_${id}`, '--http-port', '0'], env);
    await waitFor('ready', () => p.logs().some((l) => String(l['msg']).startsWith('ready: all 1 assigned partition loaded')), 60_000);
    const log = p.logs().map((l) => String(l['msg']));
    expect(log.some((m) => m.includes('local Kafka broker'))).toBe(false);
    expect(log.some((m) => m.startsWith('demo:'))).toBe(false);
    p.child.kill('SIGTERM');
    expect(await p.exited).toEqual({ code: 0, signal: null });
  });
});
