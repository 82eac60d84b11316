/**
 * The Web UI in a real browser (Debian's Chromium driven by puppeteer-core) against `ksched run
 * --ui` on the real broker: planned counts match what was produced, paging and jump-to-time land
 * on the right records, a record full of `<script>`/`onerror=` renders as text and runs nothing,
 * actions are refused without the credential, and cancel and reschedule (signed in, confirmed)
 * write the right record on the right partition and the scheduler obeys them.
 *
 * With KSCHED_UPDATE_SCREENSHOTS=1 the screenshots of each view are written to
 * packages/web/docs/screenshots (the package README shows them); otherwise to a temporary folder.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createScheduleAdmin, schedule, type EnvelopeRecord, type ScheduleAdmin, type Transport } from '@ksched/core';
import { createKafkaJsTransport } from '@ksched/kafka-adapter-kafkajs';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brokers, cleanEnv, killSpawned, ksched, startKsched, waitFor, watchTopic, type KschedProcess } from './helpers.js';

const id = randomUUID().slice(0, 8);
const topic = `it_ui_${id}`;
const target = `it_ui_target_${id}`;
const TOKEN = `ui-token-${id}`;
const MINUTE = 60_000;
const EVIL_KEY = 'xss-<script>window.__pwned=1</script>';
const EVIL_HEADER = '<img src=x onerror="window.__pwned=2">';
const EVIL_PAYLOAD = '<script>window.__pwned=3</script><img src=x onerror=window.__pwned=4>"\'';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
let screenshots: string;

const env = () =>
  cleanEnv({
    KSCHED_BROKERS: brokers(),
    KSCHED_TOPICS: topic,
    KSCHED_GROUP_ID: `it_ui_group_${id}`,
    KSCHED_LOG_PRETTY: 'false',
    KSCHED_STATES_REPORT_INTERVAL_MS: '1s',
    KSCHED_UI_TOKEN: TOKEN,
  });

let browser: Browser;
let scheduler: KschedProcess;
let base: string;
let transport: Transport;
let admin: ScheduleAdmin;
let watcher: Awaited<ReturnType<typeof watchTopic>>;
const start = Date.now();
/** Partition 0's records were written a minute apart, from here. */
const T0 = start - 30 * MINUTE;
const produced = new Map<number, number>();

function record(
  partition: number,
  key: string,
  payload: string,
  dueMs: number,
  options: { timestamp?: number; headers?: Record<string, string> } = {},
): EnvelopeRecord {
  produced.set(partition, (produced.get(partition) ?? 0) + 1);
  const headers = { source: 'browser-test', ...options.headers };
  const envelope = schedule({
    message: { topic: target, key: `${key}-target`, payload, headers },
    at: dueMs,
    envelope: { topic, key, partition },
  });
  return options.timestamp === undefined ? envelope : { ...envelope, timestamp: options.timestamp };
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(screenshots, `${name}.png`), fullPage: true });
}

/** Text of the cells of each row of `table.<name>`. */
async function rows(page: Page, name: string): Promise<string[][]> {
  return page.$$eval(`table.${name} tbody tr`, (trs) =>
    trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => (td.textContent ?? '').trim())),
  );
}

async function open(page: Page, path: string): Promise<number> {
  const response = await page.goto(new URL(path.replace(/^\//, ''), base).toString(), { waitUntil: 'load' });
  return response?.status() ?? 0;
}

beforeAll(async () => {
  const chromium = execFileSync('bash', [join(repoRoot, 'scripts/browser/chromium.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
  screenshots =
    process.env['KSCHED_UPDATE_SCREENSHOTS'] === '1'
      ? join(repoRoot, 'packages/web/docs/screenshots')
      : mkdtempSync(join(tmpdir(), 'ksched-ui-'));
  mkdirSync(screenshots, { recursive: true });
  expect((await ksched(['topics', 'migrate', '--partitions', '3'], env())).code).toBe(0);
  expect((await ksched(['topics', 'migrate', '-s', target, '--partitions', '1'], env())).code).toBe(0);
  watcher = await watchTopic(target);

  transport = createKafkaJsTransport({ brokers: brokers(), clientId: 'it-ui' });
  await transport.connect();
  admin = createScheduleAdmin({ transport, schedulesTopics: [topic] });
  const records: EnvelopeRecord[] = [];
  for (let i = 0; i < 12; i++)
    records.push(record(0, `order-${i}`, `{"order":${i},"total":${10 + i}.5}`, start + 2 * 3600_000 + i, { timestamp: T0 + i * MINUTE }));
  for (let i = 0; i < 4; i++) records.push(record(1, `invoice-${i}`, `invoice ${i}`, start + 26 * 3600_000 + i));
  records.push(record(1, EVIL_KEY, EVIL_PAYLOAD, start + 3 * 3600_000, { headers: { [`x-evil${EVIL_HEADER}`]: EVIL_HEADER } }));
  records.push(record(2, 'cancel-me', 'cancel me', start + 45_000));
  records.push(record(2, 'keep-me', 'keep me', start + 45_000));
  records.push(record(2, 'move-me', 'move me', start + 3600_000));
  await transport.produce(records);

  scheduler = startKsched(['run', '--ui', '--ui-port', '0', '--http-port', '0'], env());
  base = await waitFor(
    'the Web UI address in the logs',
    () => {
      if (scheduler.child.exitCode !== null) throw new Error(`ksched run exited ${scheduler.child.exitCode}: ${scheduler.stderr()}`);
      return scheduler.logs().find((l) => String(l['msg']).startsWith('Web UI on'))?.['url'] as string | undefined;
    },
    60_000,
  );
  // Every partition loaded and reported.
  await waitFor('loaded states reports of the 3 partitions', async () => {
    const [summary] = await admin.topics();
    return summary!.partitions.every((p) => p.states?.report.state === 'loaded');
  });
  browser = await puppeteer.launch({
    executablePath: chromium,
    headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--font-render-hinting=none'],
  });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await watcher?.close();
  await transport?.close();
  scheduler?.child.kill('SIGTERM');
  await scheduler?.exited;
  await killSpawned();
});

describe('the Web UI in Chromium against ksched run --ui', () => {
  it('topics and planned show what was produced, per partition', async () => {
    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 800 });
    expect(await open(page, '/')).toBe(200);
    const partitions = await rows(page, 'partitions');
    expect(partitions.map((r) => [r[0], r[3]])).toEqual([0, 1, 2].map((p) => [String(p), String(produced.get(p))]));
    expect(partitions.every((r) => r[4] === 'loaded')).toBe(true);
    await shot(page, 'topics');

    expect(await open(page, `/planned?topic=${topic}`)).toBe(200);
    const planned = await page.$$eval('.card', (cards) =>
      cards.map((card) => ({
        partition: Number(card.getAttribute('data-partition')),
        badge: card.querySelector('.badge')?.textContent,
        total: [...card.querySelectorAll('table.daily tbody tr td.num')].reduce((sum, td) => sum + Number(td.textContent), 0),
      })),
    );
    expect(planned).toEqual([0, 1, 2].map((p) => ({ partition: p, badge: 'loaded', total: produced.get(p) })));
    await shot(page, 'planned');
    await page.close();
  });

  it('the explorer pages by offset and jumps to a time', async () => {
    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 800 });
    expect(await open(page, `/explorer?topic=${topic}&partition=0&limit=5`)).toBe(200);
    expect((await rows(page, 'records')).map((r) => r[1])).toEqual(['0', '1', '2', '3', '4']);
    expect((await rows(page, 'records'))[0]!.slice(2)).toEqual([
      'schedule',
      expect.any(String),
      expect.any(String),
      'order-0',
      target,
      'order-0-target',
    ]);
    await Promise.all([page.waitForNavigation(), page.click('a[rel="next"]')]);
    expect((await rows(page, 'records')).map((r) => r[1])).toEqual(['5', '6', '7', '8', '9']);

    // Record 7 was written at T0 + 7 min: from 30 s before it, the page starts at 7.
    await page.$eval('input[name="limit"]', (input) => ((input as unknown as { value: string }).value = '3'));
    await page.$eval('input[name="offset"]', (input) => ((input as unknown as { value: string }).value = ''));
    await page.type('input[name="time"]', new Date(T0 + 7 * MINUTE - 30_000).toISOString());
    await Promise.all([page.waitForNavigation(), page.click('form.inline button[type="submit"]')]);
    expect((await rows(page, 'records')).map((r) => r[1])).toEqual(['7', '8', '9']);
    await shot(page, 'explorer');

    const bad = await open(page, `/explorer?topic=${topic}&partition=9`);
    expect(bad).toBe(404);
    expect(await page.$eval('[role="alert"]', (e) => e.getAttribute('data-parameter'))).toBe('partition');
    await page.close();
  });

  it('a record with <script> and onerror= in its key, headers and payload renders as text and runs nothing', async () => {
    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 900 });
    const dialogs: string[] = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    expect(await open(page, `/explorer?topic=${topic}&partition=1`)).toBe(200);
    expect(await page.$$eval('table.records td.key', (tds) => tds.map((td) => td.textContent))).toContain(EVIL_KEY);
    expect(await open(page, `/find?topic=${topic}&key=${encodeURIComponent(EVIL_KEY)}`)).toBe(200);
    expect(await page.$eval('h1 code', (e) => e.textContent)).toBe(EVIL_KEY);
    expect(await page.$eval('pre.payload', (e) => e.textContent)).toBe(EVIL_PAYLOAD);
    const headers = await rows(page, 'headers');
    expect(headers).toContainEqual([`x-evil${EVIL_HEADER}`, EVIL_HEADER]);
    expect(await page.$$eval('script', (s) => s.length)).toBe(0);
    expect(await page.$$eval('main img', (s) => s.length)).toBe(0);
    expect(await page.evaluate(() => (globalThis as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(dialogs).toEqual([]);
    await shot(page, 'schedule-escaped');
    await page.close();
  });

  it('refuses actions without the credential; signed in, cancels and reschedules on the schedule’s partition, and the scheduler obeys', async () => {
    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 800 });
    const schedulePath = (key: string) => `/schedule?topic=${topic}&partition=2&key=${key}`;

    // Anonymous: no buttons, the confirmation and the POST are refused, nothing is written.
    expect(await open(page, schedulePath('cancel-me'))).toBe(200);
    expect(await page.$$('a.button.danger')).toHaveLength(0);
    expect(await page.$eval('.banner.readonly', (e) => e.textContent)).toContain('Read-only until you');
    expect(await open(page, `/cancel?topic=${topic}&partition=2&key=cancel-me`)).toBe(401);
    // (The UI's CSP forbids a page's own fetch; the POSTs below come from outside, with and without its cookie.)
    const post = async (cookie?: string) =>
      (
        await fetch(new URL('cancel', base), {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookie !== undefined ? { cookie } : {}) },
          body: new URLSearchParams({ topic, partition: '2', key: 'cancel-me', confirm: 'yes' }).toString(),
        })
      ).status;
    const anonymousPost = await post();
    expect(anonymousPost).toBe(401);

    // Sign in with the token.
    expect(await open(page, '/login')).toBe(200);
    await page.type('input[name="token"]', TOKEN);
    await Promise.all([page.waitForNavigation(), page.click('form.inline button[type="submit"]')]);
    expect(await page.$('header .who button')).not.toBeNull();
    // Signed in, but a POST without the form's CSRF token is still refused.
    const session = (await page.cookies()).find((c) => c.name === 'ksched_session');
    expect(session?.httpOnly).toBe(true);
    expect(session?.sameSite).toBe('Strict');
    const noCsrf = await post(`ksched_session=${session!.value}`);
    expect(noCsrf).toBe(403);

    // Cancel: the button, the confirmation, the produced record.
    expect(await open(page, schedulePath('cancel-me'))).toBe(200);
    await Promise.all([page.waitForNavigation(), page.click('a.button.danger')]);
    await shot(page, 'cancel-confirm');
    await Promise.all([page.waitForNavigation(), page.click('button[name="confirm"]')]);
    expect(await page.$eval('.banner.ok', (e) => e.textContent)).toContain('Cancelled');
    const cancelAt = await page.$eval('dd[data-offset]', (e) => Number(e.getAttribute('data-offset')));
    expect(await page.$eval('dd[data-partition]', (e) => e.getAttribute('data-partition'))).toBe('2');
    const written = await admin.records(topic, 2, { fromOffset: cancelAt, limit: 1 });
    expect(written.records[0]).toMatchObject({ offset: cancelAt, type: 'cancel', key: 'cancel-me' });

    // Reschedule move-me from an hour away to a few seconds from now.
    expect(await open(page, schedulePath('move-me'))).toBe(200);
    await Promise.all([page.waitForNavigation(), page.click('a.button:not(.danger):not(.secondary)')]);
    await page.type('input[name="in"]', '4s');
    await Promise.all([page.waitForNavigation(), page.click('form.inline button[type="submit"]')]);
    const newDue = await page.$eval('input[name="due_ms"]', (e) => Number((e as unknown as { value: string }).value));
    expect(Math.abs(newDue - (Date.now() + 4000))).toBeLessThan(10_000);
    await shot(page, 'reschedule-confirm');
    await Promise.all([page.waitForNavigation(), page.click('button[name="confirm"]')]);
    expect(await page.$eval('.banner.ok', (e) => e.textContent)).toContain('Rescheduled');
    const movedAt = await page.$eval('dd[data-offset]', (e) => Number(e.getAttribute('data-offset')));
    expect(await page.$eval('dd[data-partition]', (e) => e.getAttribute('data-partition'))).toBe('2');
    await shot(page, 'action-result');
    const moved = await admin.records(topic, 2, { fromOffset: movedAt, limit: 1 });
    expect(moved.records[0]).toMatchObject({
      type: 'schedule',
      key: 'move-me',
      dueMs: newDue,
      target: { topic: target, key: 'move-me-target' },
    });

    // The scheduler obeys: move-me goes at its new time; keep-me at its own; cancel-me never.
    const keyOf = (r: { key: Uint8Array | null }) => (r.key === null ? null : new TextDecoder().decode(r.key));
    const movedOut = await waitFor('move-me dispatched', () => watcher.records.find((r) => keyOf(r) === 'move-me-target'), 60_000);
    expect(movedOut.timestamp).toBeGreaterThanOrEqual(newDue);
    await waitFor('keep-me dispatched', () => watcher.records.find((r) => keyOf(r) === 'keep-me-target'), 90_000);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(watcher.records.map(keyOf)).not.toContain('cancel-me-target');
    expect(Date.now()).toBeGreaterThan(start + 45_000);

    expect(await open(page, schedulePath('cancel-me'))).toBe(200);
    expect(await page.$eval('[data-status]', (e) => e.getAttribute('data-status'))).toBe('cancelled');
    await shot(page, 'schedule');

    expect(await open(page, '/live')).toBe(200);
    expect(Number(await page.$eval('[data-stat="dispatched"]', (e) => e.textContent))).toBeGreaterThanOrEqual(2);
    await shot(page, 'live');
    await page.close();
  }, 180_000);

  it('ksched ui serves it on its own: read-only without a credential, without the live view, and stops on SIGTERM', async () => {
    const standalone = startKsched(
      ['ui', '--ui-port', '0'],
      cleanEnv({ KSCHED_BROKERS: brokers(), KSCHED_TOPICS: topic, KSCHED_LOG_PRETTY: 'false' }),
    );
    const url = await waitFor('the standalone UI address', () => {
      if (standalone.child.exitCode !== null) throw new Error(`ksched ui exited ${standalone.child.exitCode}: ${standalone.stderr()}`);
      return standalone.logs().find((l) => String(l['msg']).startsWith('Web UI on'))?.['url'] as string | undefined;
    });
    const api = (await (await fetch(new URL('api/topics', url))).json()) as { topics: { topic: string; partitions: unknown[] }[] };
    expect(api.topics.map((t) => [t.topic, t.partitions.length])).toEqual([[topic, 3]]);
    expect(await (await fetch(url)).text()).toContain('Read-only: no credential is configured');
    const post = await fetch(new URL('cancel', url), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Bearer ${TOKEN}` },
      body: new URLSearchParams({ topic, partition: '0', key: 'order-1', confirm: 'yes' }).toString(),
    });
    expect(post.status).toBe(403);
    expect((await fetch(new URL('live', url))).status).toBe(404);
    standalone.child.kill('SIGTERM');
    expect((await standalone.exited).code).toBe(0);
  });
});
