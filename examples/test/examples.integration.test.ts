/**
 * The examples run as a user runs them, against the real broker: the embedded HTTP app is the
 * scheduler (its /readyz, /metrics and Web UI answer), the order-reminder service gets the reminder
 * of the unpaid order and none of the paid one, and the downstream test passes under node:test.
 * They run the built packages (`pnpm build`, which CI runs first), through tsx.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const here = fileURLToPath(new URL('..', import.meta.url));
const brokers = process.env['KSCHED_BROKERS'] ?? '';
const id = randomUUID().slice(0, 8);
const schedulesTopic = `it_examples_${id}`;
const started: ChildProcess[] = [];

interface Run {
  readonly child: ChildProcess;
  output(): string;
  readonly exited: Promise<number | null>;
}

function run(args: readonly string[], env: Record<string, string> = {}): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    cwd: here,
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', KSCHED_BROKERS: brokers, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (output += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (output += c));
  const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
  return { child, output: () => output, exited };
}

async function until<T>(what: string, check: () => T | undefined | Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

afterAll(() => {
  for (const child of started) if (child.exitCode === null) child.kill('SIGKILL');
});

describe('examples', () => {
  it('the embedded HTTP app schedules like the service; the order-reminder service sees only the unpaid order’s reminder', async () => {
    const app = run(['src/embedded-http.ts'], { SCHEDULES_TOPIC: schedulesTopic, PORT: '0', GROUP_ID: `it_examples_group_${id}` });
    const base = await until('the app listening', () => /listening on (http:\/\/127\.0\.0\.1:\d+)\//.exec(app.output())?.[1], 90_000);
    await until('the app ready', async () => ((await fetch(`${base}/readyz`)).status === 200 ? true : undefined), 90_000);

    const service = run(['src/order-reminders.ts'], {
      SCHEDULES_TOPIC: schedulesTopic,
      REMINDERS_TOPIC: `it_examples_reminders_${id}`,
      REMINDER_DELAY_MS: '3000',
      WAIT_MS: '30000',
    });
    expect(await service.exited).toBe(0);
    const last = service.output().trim().split('\n').at(-1)!;
    const { reminded } = JSON.parse(last) as { reminded: string[] };
    expect(reminded).toHaveLength(1);
    expect(reminded[0]).toMatch(/^order-.*-1$/);

    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/^ksched_dispatched_total\{[^}]*\} 1$/m);
    expect(metrics).toMatch(/^app_http_requests_total\{path="\/readyz"\} \d+$/m);
    const ui = await fetch(`${base}/ksched/planned?topic=${schedulesTopic}`);
    expect(ui.status).toBe(200);
    expect(await ui.text()).toContain(`href="/ksched/explorer?topic=${schedulesTopic}`);
    expect((await fetch(`${base}/ksched/live`)).status).toBe(200);

    app.child.kill('SIGTERM');
    expect(await app.exited).toBe(0);
    expect(app.output()).toContain('stopped: stopped');
  }, 240_000);

  it('the downstream test passes under node:test', async () => {
    const test = run(['--test', 'src/reminders.test.ts']);
    expect(await test.exited).toBe(0);
    expect(test.output()).toMatch(/# pass 1\b/);
    expect(test.output()).toMatch(/# fail 0\b/);
  }, 120_000);
});
