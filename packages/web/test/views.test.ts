/**
 * The UI's read views on the FakeBroker: topics and planned from the states reports, the explorer's
 * paging and jumps, find and the schedule page, escaping of everything from a record, and 4xx
 * answers naming the parameter.
 */
import { describe, expect, it } from 'vitest';
import { CONTENT_SECURITY_POLICY } from '../src/index.js';
import { Client, tableRows, TOPIC, uiFixture } from './helpers.js';

const MINUTE = 60_000;

describe('topics and planned', () => {
  it('show each partition with its watermarks and last states report, and say when a partition has none', async () => {
    await using ui = await uiFixture({ env: { start: false } });
    const client = new Client(ui);
    const empty = await client.get('/planned');
    expect(empty.status).toBe(200);
    expect(empty.body.match(/No states report/g)).toHaveLength(3);

    await ui.env.addMember();
    const now = ui.env.clock.now();
    for (let i = 0; i < 5; i++)
      await ui.env.schedule({ message: { topic: 'events', payload: `p${i}` }, at: now + (i + 1) * MINUTE, envelope: { partition: 1 } });
    await ui.env.schedule({ message: { topic: 'events', payload: 'later' }, at: now + 3 * 86_400_000, envelope: { partition: 2 } });
    await ui.env.advance(30_000);

    const topics = await client.get('/');
    expect(topics.status).toBe(200);
    expect(topics.body).toContain(`<h2>${TOPIC}</h2>`);
    expect(/data-total="records">(\d+)</.exec(topics.body)?.[1]).toBe('6');
    expect(/data-total="planned">(\d+)</.exec(topics.body)?.[1]).toBe('6');
    expect(tableRows(topics.body, 'partitions').map((r) => r.slice(0, 4))).toEqual([
      ['0', '0', '0', '0'],
      ['1', '0', '5', '5'],
      ['2', '0', '1', '1'],
    ]);

    const planned = await client.get(`/planned?topic=${TOPIC}`);
    const card1 = /<div class="card" data-partition="1">([\s\S]*?)<\/div><div/.exec(planned.body)![1]!;
    expect(card1).toContain('class="badge loaded"');
    const daily = tableRows(card1, 'daily');
    expect(daily.reduce((sum, [, n]) => sum + Number(n), 0)).toBe(5);
    const card2 = /<div class="card" data-partition="2">([\s\S]*?)<\/div><\/div>/.exec(planned.body)![1]!;
    expect(tableRows(card2, 'daily').filter(([, n]) => n !== '0')).toHaveLength(1);
    expect(planned.body).not.toContain('No states report');
  });
});

describe('explorer', () => {
  it('pages by offset, jumps to an offset or a time, and shows compacted offsets as gaps', async () => {
    await using ui = await uiFixture({ env: { partitions: 1 } });
    const client = new Client(ui);
    const start = ui.env.clock.now();
    const keys: string[] = [];
    for (let i = 0; i < 12; i++) {
      keys.push((await ui.env.schedule({ message: { topic: 'events', key: `t${i}`, payload: `p${i}` }, at: start + 10 * MINUTE + i })).key);
      await ui.env.advance(1000); // record i written at start + i s (+ the advance before)
    }
    const first = await client.get('/explorer?partition=0&limit=5');
    expect(first.status).toBe(200);
    const rows = tableRows(first.body, 'records');
    expect(rows.map((r) => r[1])).toEqual(['0', '1', '2', '3', '4']);
    expect(rows[0]).toEqual(['0', '0', 'schedule', expect.any(String), expect.any(String), keys[0], 'events', 't0']);
    expect(first.body).toContain('rel="next"');
    const next = /href="([^"]+)" rel="next"/.exec(first.body)![1]!.replace(/&amp;/g, '&');
    expect(tableRows((await client.get(next)).body, 'records').map((r) => r[1])).toEqual(['5', '6', '7', '8', '9']);

    const jump = await client.get('/explorer?partition=0&offset=10&limit=5');
    expect(tableRows(jump.body, 'records').map((r) => r[1])).toEqual(['10', '11']);
    expect(jump.body).not.toContain('rel="next"');

    const at = new Date(start + 7000).toISOString();
    const byTime = await client.get(`/explorer?partition=0&time=${encodeURIComponent(at)}&limit=2`);
    const timed = tableRows(byTime.body, 'records');
    expect(timed.map((r) => r[1])).toEqual(['7', '8']);

    // A record of a type this version does not know, and one that is not an envelope at all.
    await ui.env.produce([
      {
        topic: TOPIC,
        partition: 0,
        key: 'from-the-future',
        value: 'x',
        headers: { schedule_source_type: 'postpone', schedule_schema_version: '1.0.0' },
      },
      { topic: TOPIC, partition: 0, key: 'garbage', value: 'x', headers: {} },
    ]);
    const tail = await client.get('/explorer?partition=0&offset=12');
    const odd = tableRows(tail.body, 'records');
    expect(odd.map((r) => [r[1], r[5]])).toEqual([
      ['12', 'from-the-future'],
      ['13', 'garbage'],
    ]);
    expect(odd[0]![2]).toMatch(/^unknown type\s*postpone$/);
    expect(odd[1]![2]).toMatch(/^invalid\s*missing_source_type/);

    // Compaction: two schedules cancelled leave a gap where they were.
    await ui.env.cancel(keys[3]!, { partition: 0 });
    await ui.env.cancel(keys[4]!, { partition: 0 });
    ui.env.broker.compact(TOPIC);
    const compacted = await client.get('/explorer?partition=0&offset=2&limit=3');
    expect(tableRows(compacted.body, 'records').map((r) => r[1])).toEqual(['2', '3–4', '5', '6']);
    expect(compacted.body).toContain('<tr class="gap" data-gap="3-5">');
    expect(compacted.body).toContain('these 2 offsets');
  });

  it('answers a bad parameter with a 4xx naming it, as a page or as JSON, and never with a stack', async () => {
    await using ui = await uiFixture({ env: { partitions: 2 } });
    const client = new Client(ui);
    await ui.env.schedule({ message: { topic: 'events', payload: 'x' }, at: ui.env.clock.now() + MINUTE, envelope: { partition: 0 } });
    const cases: [string, number, string][] = [
      ['/explorer?topic=nope', 404, 'topic'],
      ['/explorer?partition=7', 404, 'partition'],
      ['/explorer?partition=-1', 400, 'partition'],
      ['/explorer?offset=abc', 400, 'offset'],
      ['/explorer?offset=99', 400, 'offset'],
      ['/explorer?time=soon', 400, 'time'],
      ['/explorer?time=99999-01-01', 400, 'time'],
      ['/explorer?offset=1&time=2026-01-01', 400, 'time'],
      ['/explorer?limit=0', 400, 'limit'],
      ['/explorer?limit=5000', 400, 'limit'],
      ['/schedule', 400, 'key'],
      ['/planned?topic=%3Cscript%3E', 404, 'topic'],
    ];
    for (const [path, status, parameter] of cases) {
      const page = await client.get(path);
      expect({ path, status: page.status }).toEqual({ path, status });
      expect(page.body).toContain(`data-parameter="${parameter}"`);
      expect(page.body).not.toMatch(/\n\s+at /);
      const api = await client.get(
        path.replace(/^\/(explorer|schedule|planned)/, (_, p: string) =>
          p === 'explorer' ? '/api/records' : p === 'schedule' ? '/api/schedule' : '/planned',
        ),
        { accept: 'application/json' },
      );
      expect(api.status).toBe(status);
      expect(JSON.parse(api.body)).toMatchObject({ parameter, status });
    }
    expect((await client.get('/planned?topic=%3Cscript%3E')).body).not.toContain('<script>');
    const missing = await client.get('/nothing-here');
    expect(missing.status).toBe(404);
    const method = await client.post('/explorer', {});
    expect(method.status).toBe(405);
    expect(method.headers.get('allow')).toBe('GET, HEAD');
  });
});

describe('find and the schedule page', () => {
  it('find redirects to the schedule on the partition it was routed to, by key or partition key; a missing key is a 404 page', async () => {
    await using ui = await uiFixture();
    const client = new Client(ui);
    const now = ui.env.clock.now();
    const routed = await ui.env.schedule({
      message: { topic: 'events', key: 'order-1', payload: '{"order":1,"total":12.5}', headers: { trace: 'abc' } },
      at: now + 5 * MINUTE,
      envelope: { key: 'reminder-1', partitionKey: 'customer-9' },
    });
    const find = await client.get('/find?key=reminder-1');
    expect(find.status).toBe(303);
    expect(find.headers.get('location')).toBe(`/schedule?topic=${TOPIC}&partition=${routed.partition}&key=reminder-1`);
    const byPartitionKey = await client.get('/find?key=reminder-1&partition_key=customer-9');
    expect(byPartitionKey.headers.get('location')).toBe(find.headers.get('location'));

    const page = await client.get(find.headers.get('location')!);
    expect(page.status).toBe(200);
    expect(page.body).toContain('data-status="pending"');
    expect(page.body).toContain(new Date(now + 5 * MINUTE).toISOString().replace('T', ' '));
    expect(page.body).toContain('&quot;order&quot;: 1'); // pretty-printed JSON, escaped
    expect(tableRows(page.body, 'headers')).toContainEqual(['trace', 'abc']);
    expect(page.body).toMatch(/<dt>target key<\/dt><dd class="mono">order-1<\/dd>/);
    expect(tableRows(page.body, 'history').map((r) => r[1])).toEqual(['schedule']);

    const nothing = await client.get('/find?key=nobody');
    expect(nothing.status).toBe(404);
    expect(nothing.body).toContain('No record with the key <code>nobody</code>');
    expect(nothing.body).toContain('(any partition)');
  });

  it('renders keys, headers, payloads and topic names from records as text: nothing of theirs becomes markup', async () => {
    await using ui = await uiFixture({ env: { partitions: 1 } });
    const client = new Client(ui);
    const evil = '<script>alert(1)</script><img src=x onerror=alert(2)>';
    await ui.env.schedule({
      message: { topic: 'events', key: `k${evil}`, payload: `${evil}"'`, headers: { [`h${evil}`]: `v${evil}` } },
      at: ui.env.clock.now() + MINUTE,
      envelope: { key: `key${evil}\u202e`, partition: 0 },
    });
    const explorer = await client.get('/explorer?partition=0');
    const find = await client.get(`/find?key=${encodeURIComponent(`key${evil}\u202e`)}`);
    const page = await client.get(find.headers.get('location')!);
    for (const body of [explorer.body, page.body]) {
      expect(body).not.toContain('<script>alert');
      expect(body).not.toContain('<img src=x');
      expect(body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;');
      expect(body).not.toContain('\u202e'); // a bidi override is shown, not obeyed
    }
    expect(page.body).toContain('\\u{202e}');
    expect(page.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
    expect(CONTENT_SECURITY_POLICY).toContain("default-src 'none'");
    expect(CONTENT_SECURITY_POLICY).not.toContain('script-src');
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('x-frame-options')).toBe('DENY');
  });
});

describe('live', () => {
  it('is there only when the UI has a scheduler’s live stats', async () => {
    await using ui = await uiFixture();
    const client = new Client(ui);
    const live = await client.get('/live');
    expect(live.status).toBe(404);
    expect(live.body).toContain('ksched run --ui');
    expect(live.body).not.toContain('href="/live"');
  });
});

describe('mounting', () => {
  it('under Express-style mounting builds links from req.baseUrl and passes unknown paths to next(); basePath strips a prefix', async () => {
    const { createServer } = await import('node:http');
    const { createScheduleAdmin } = await import('@ksched/core');
    const { createWebHandler } = await import('../src/index.js');
    await using ui = await uiFixture({ env: { partitions: 1 } });
    const transport = ui.env.broker.createTransport({ clientId: 'mount' });
    await transport.connect();
    const admin = createScheduleAdmin({ transport, schedulesTopics: [TOPIC] });
    const mounted = createWebHandler({ admin });
    const prefixed = createWebHandler({ admin, basePath: '/ops/ksched' });
    // What Express does for app.use('/ksched', handler): strip the prefix, set req.baseUrl.
    const server = createServer((req, res) => {
      const next = () => {
        res.writeHead(418).end('the app');
      };
      if (req.url?.startsWith('/ksched')) {
        Object.assign(req, { baseUrl: '/ksched', url: req.url.slice('/ksched'.length) || '/' });
        mounted(req, res, next);
      } else prefixed(req, res, next);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      const page = await (await fetch(`${base}/ksched/explorer`)).text();
      expect(page).toContain('href="/ksched/assets/style.css"');
      expect(page).toContain('action="/ksched/find"');
      expect((await fetch(`${base}/ksched/not-ours`)).status).toBe(418);
      const prefixedPage = await fetch(`${base}/ops/ksched/planned`);
      expect(prefixedPage.status).toBe(200);
      expect(await prefixedPage.text()).toContain('href="/ops/ksched/explorer?topic=');
      expect((await fetch(`${base}/elsewhere`)).status).toBe(418);
    } finally {
      await new Promise((resolve) => server.close(resolve));
      await transport.close();
    }
  });
});
