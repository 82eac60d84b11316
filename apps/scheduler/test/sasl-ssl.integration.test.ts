/**
 * The real `ksched` process through a SASL_SSL listener only (SCRAM-SHA-512 over TLS, the broker's
 * certificate checked against a CA file), with each adapter: topics migrate, run, schedule with
 * the CLI, the dispatch read back through SASL_SSL too; the password must appear nowhere in the
 * processes' output (debug logs included) nor in /metrics, /readyz, /healthz; a wrong password
 * must fail fast with an authentication error.
 *
 * Where the SASL_SSL listener comes from:
 * - `KSCHED_SASL_INFO`: JSON as `scripts/kafka/kafka.sh sasl-info` prints it (any cluster);
 * - else, when `KSCHED_BROKERS` is kafka.sh's own broker (`127.0.0.1:<port>` and `kafka.sh status`
 *   says it runs there, as in CI and with the integration global setup): `kafka.sh sasl-info` on
 *   that port. A broker started without the listener makes this test FAIL (start it with
 *   `KSCHED_KAFKA_SASL=1`), it never passes silently;
 * - else (`KSCHED_BROKERS` points at an external cluster without `KSCHED_SASL_INFO`): skipped.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanEnv, get, killSpawned, ksched, startKsched, waitFor, watchTopic, type KschedProcess } from './helpers.js';

const KAFKA_SH = fileURLToPath(new URL('../../../scripts/kafka/kafka.sh', import.meta.url));

interface SaslInfo {
  readonly brokers: string;
  readonly mechanism: 'scram-sha-512';
  readonly username: string;
  readonly passwordFile: string;
  readonly caFile: string;
}

/** The SASL_SSL listener to test, an error to fail with, or `skip` for an external cluster without SASL info. */
function findSaslInfo(): SaslInfo | Error | 'skip' {
  const given = process.env['KSCHED_SASL_INFO'];
  if (given) return JSON.parse(given) as SaslInfo;
  const brokers = process.env['KSCHED_BROKERS'] ?? '';
  const match = /^(?:127\.0\.0\.1|localhost):(\d+)$/.exec(brokers);
  const env = { ...process.env, KSCHED_KAFKA_PORT: match?.[1] ?? '' };
  if (!match || spawnSync('bash', [KAFKA_SH, 'status'], { env, stdio: 'ignore' }).status !== 0) return 'skip';
  const info = spawnSync('bash', [KAFKA_SH, 'sasl-info'], { env, encoding: 'utf8' });
  if (info.status !== 0) {
    return new Error(
      `the local broker ${brokers} has no SASL_SSL listener (kafka.sh sasl-info: ${info.stderr.trim()}). ` +
        'Start it with KSCHED_KAFKA_SASL=1 (the integration global setup and .ci/run do), or set KSCHED_SASL_INFO.',
    );
  }
  return JSON.parse(info.stdout) as SaslInfo;
}

const found = findSaslInfo();

afterEach(async () => {
  await killSpawned();
});

describe.skipIf(found === 'skip')('ksched through SASL_SSL (SCRAM-SHA-512) only', () => {
  it('the SASL_SSL listener is available', () => {
    if (found instanceof Error) throw found;
    expect(found).toMatchObject({ mechanism: 'scram-sha-512' });
  });
  if (found === 'skip' || found instanceof Error) return;
  const info = found;
  const password = readFileSync(info.passwordFile, 'utf8').trim();
  const ca = readFileSync(info.caFile, 'utf8');

  /** Only the SASL_SSL listener: KSCHED_* of the parent are dropped by cleanEnv. */
  const saslEnv = (adapter: string, extra: Record<string, string> = {}) =>
    cleanEnv({
      KSCHED_ADAPTER: adapter,
      KSCHED_BROKERS: info.brokers,
      KSCHED_SSL_CA_FILE: info.caFile,
      KSCHED_SASL_MECHANISM: info.mechanism,
      KSCHED_SASL_USERNAME: info.username,
      KSCHED_SASL_PASSWORD: password,
      KSCHED_LOG_PRETTY: 'false',
      ...extra,
    });

  /** Everything a process wrote, for the leak checks. */
  const outputs: string[] = [];
  const run = async (args: readonly string[], env: NodeJS.ProcessEnv, input?: string) => {
    const result = await ksched(args, env, input);
    outputs.push(result.stdout, result.stderr);
    return result;
  };

  for (const adapter of ['kafkajs', 'rdkafka'] as const) {
    it(`${adapter}: migrates, runs, schedules and dispatches through SASL_SSL; the password is in no log and no HTTP body`, async () => {
      const id = randomUUID().slice(0, 8);
      const schedules = `it_sasl_${adapter}_${id}`;
      const target = `it_sasl_${adapter}_target_${id}`;
      outputs.length = 0;
      const env = saslEnv(adapter, { KSCHED_TOPICS: schedules, KSCHED_GROUP_ID: `it_sasl_${adapter}_${id}` });

      const migrated = await run(['topics', 'migrate', '--partitions', '1'], env);
      expect(migrated.code, migrated.stderr).toBe(0);
      expect(migrated.stdout).toContain(`created ${schedules}\n`);
      expect((await run(['topics', 'migrate', '-s', target, '--partitions', '1'], env)).code).toBe(0);
      const watcher = await watchTopic(target, {
        brokers: [info.brokers],
        clientId: 'ksched-it-sasl-watch',
        ssl: { ca },
        sasl: { mechanism: info.mechanism, username: info.username, password },
      });
      let p: KschedProcess | undefined;
      try {
        // Debug logs of ksched and of the Kafka client: the most a log could give away.
        p = startKsched(['run', '--http-port', '0'], { ...env, KSCHED_LOG_LEVEL: 'debug', KSCHED_CLIENT_LOG_LEVEL: 'debug' });
        const proc = p;
        const port = await waitFor('the HTTP port in the logs', () => {
          if (proc.child.exitCode !== null) throw new Error(`ksched run exited ${proc.child.exitCode}: ${proc.stderr()}`);
          return proc.logs().find((l) => typeof l['port'] === 'number' && String(l['msg']).startsWith('HTTP on'))?.['port'] as
            number | undefined;
        });
        const base = `http://127.0.0.1:${port}`;
        await waitFor('/readyz 200', async () => (await get(`${base}/readyz`)).status === 200, 60_000);
        const starting = p.logs().find((l) => l['msg'] === 'ksched scheduler starting');
        expect(starting).toMatchObject({ adapter, brokers: [info.brokers] });

        const scheduled = await run(
          ['schedule', '-t', target, '-k', `k-${id}`, '--in', '2s', '--id', `it-sasl-${id}`, '--json'],
          env,
          `hello over SASL_SSL (${adapter})`,
        );
        expect(scheduled.code, scheduled.stderr).toBe(0);
        const dueMs = Date.parse((JSON.parse(scheduled.stdout) as { dueAt: string }).dueAt);

        const record = await waitFor('the dispatched message, read through SASL_SSL', () =>
          watcher.records.find((r) => r.key !== null && Buffer.from(r.key).toString() === `k-${id}`),
        );
        expect(Buffer.from(record.value!).toString()).toBe(`hello over SASL_SSL (${adapter})`);
        expect(record.timestamp).toBeGreaterThanOrEqual(dueMs);

        const bodies = await Promise.all(['/metrics', '/readyz', '/healthz'].map(async (path) => (await get(`${base}${path}`)).body));
        expect(bodies[0]).toMatch(/^ksched_dispatched_total\{[^}]*\} 1$/m);
        p.child.kill('SIGTERM');
        expect(await p.exited).toEqual({ code: 0, signal: null });
        outputs.push(p.stdout(), p.stderr(), ...bodies);
        // The debug logs are there (so the check below looked at something), the password is not.
        expect(p.logs().filter((l) => l['level'] === 20).length).toBeGreaterThan(0);
        const leaks = outputs.filter((text) => text.includes(password));
        expect(leaks, 'the SASL password appears in an output or HTTP body').toEqual([]);
      } finally {
        p?.child.kill('SIGKILL');
        await watcher.close();
      }
    });

    it(`${adapter}: a wrong password fails fast with an authentication error, and is not printed either`, async () => {
      const wrong = `wrong-${randomUUID()}`;
      const started = Date.now();
      const p = startKsched(['run', '--no-http', '-s', 'it_sasl_never'], saslEnv(adapter, { KSCHED_SASL_PASSWORD: wrong }));
      const exit = await Promise.race([p.exited, new Promise((resolve) => setTimeout(() => resolve('timeout'), 45_000))]);
      expect(exit, `still running after 45 s; output: ${p.stdout()} ${p.stderr()}`).toEqual({ code: 1, signal: null });
      expect(Date.now() - started).toBeLessThan(30_000);
      const output = `${p.stdout()}\n${p.stderr()}`;
      expect(output).toMatch(/authentication failed.*invalid credentials with SASL mechanism SCRAM-SHA-512/i);
      // The final error line itself says why (rdkafka used to end on a vague ERR__TRANSPORT after its timeout).
      expect(p.stderr()).toMatch(/^error: .*authentication/im);
      expect(output).not.toContain(wrong);
      expect(output).not.toContain(password);
    });
  }
});
