/**
 * The UI's parts on their own: payload previews, escaping, and the live stats fed by a scheduler on
 * the FakeBroker (rendered by the live view).
 */
import { describe, expect, it } from 'vitest';
import { createScheduleAdmin } from '@ksched/core';
import { createTestEnvironment } from '@ksched/testkit';
import { createWebHandler, escapeHtml, html, LiveStats, previewPayload, startWebServer } from '../src/index.js';
import { visible } from '../src/html.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('previewPayload', () => {
  it('shows text, pretty JSON, hex for binary, and cuts long payloads without splitting a character', () => {
    expect(previewPayload(null)).toMatchObject({ kind: 'null', size: 0 });
    expect(previewPayload(new Uint8Array())).toMatchObject({ kind: 'empty' });
    expect(previewPayload(bytes('hello'))).toEqual({ kind: 'text', text: 'hello', size: 5, truncated: false });
    expect(previewPayload(bytes('{"a":[1,2]}')).text).toBe('{\n  "a": [\n    1,\n    2\n  ]\n}');
    const binary = previewPayload(new Uint8Array([0, 1, 0x41, 0xff]));
    expect(binary).toMatchObject({ kind: 'hex', size: 4 });
    expect(binary.text).toBe(`00000000  ${'00 01 41 ff'.padEnd(47)}  ..A.`);
    const long = previewPayload(bytes('é'.repeat(10)), 5); // 2-byte characters cut at byte 5
    expect(long).toMatchObject({ kind: 'text', text: 'éé', size: 20, truncated: true });
  });
});

describe('escaping', () => {
  it('escapes every interpolated value but markup made by html``, and makes invisible characters visible', () => {
    expect(escapeHtml(`<a href="x" onclick='y'>&`)).toBe('&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;');
    const inner = html`<b>${'<i>'}</b>`;
    expect(html`<p>${inner}${['<u>', 1]}${null}${undefined}${false}</p>`.toString()).toBe('<p><b>&lt;i&gt;</b>&lt;u&gt;1</p>');
    expect(visible('a\u0000b\u202ec\u200bd')).toBe('a\\u{0}b\\u{202e}c\\u{200b}d');
  });
});

describe('LiveStats', () => {
  it('counts dispatches by lateness, the rate, buffered schedules and invalid records by reason; the live view shows them', async () => {
    await using env = await createTestEnvironment({ partitions: 2 });
    const live = new LiveStats(env.scheduler, { now: () => env.clock.now() });
    const now = env.clock.now();
    for (let i = 0; i < 4; i++)
      await env.schedule({ message: { topic: 'events', payload: `p${i}` }, at: now + 1000 + i, envelope: { partition: i % 2 } });
    await env.schedule({ message: { topic: 'events', payload: 'later' }, at: now + 600_000, envelope: { partition: 0 } });
    await env.produce([
      { topic: env.topic, partition: 1, key: 'broken', value: bytes('x'), headers: { schedule_source_type: 'schedule' } },
    ]);
    await env.advance(5000);
    const snapshot = live.snapshot();
    expect(snapshot.dispatched).toBe(4);
    expect(snapshot.lateness.counts.reduce((a, b) => a + b, 0)).toBe(4);
    expect(snapshot.buffered).toBe(1);
    expect(snapshot.invalidByReason).toEqual({ [env.events.invalid[0]!.reason]: 1 });
    expect(snapshot.dispatchedPerSecond).toBeGreaterThan(0);
    expect(snapshot.partitions.map((p) => [p.partition, p.state, p.halted])).toEqual([
      [0, 'loaded', false],
      [1, 'loaded', false],
    ]);

    const transport = env.broker.createTransport({ clientId: 'ui', clock: env.clock });
    await transport.connect();
    const admin = createScheduleAdmin({ transport, schedulesTopics: [env.topic] });
    const server = await startWebServer({ handler: createWebHandler({ admin, live }), port: 0 });
    try {
      const page = (await (await fetch(new URL('live', server.url))).text()).replace(/>\s+</g, '><');
      expect(page).toContain('<div class="value" data-stat="dispatched">4</div>');
      expect(page).toContain('<div class="value" data-stat="buffered">1</div>');
      expect(page).toContain('<meta http-equiv="refresh" content="5"');
      expect(page).toContain(`<td>${env.events.invalid[0]!.reason}</td><td class="num">1</td>`);
      const json = (await (await fetch(new URL('api/live', server.url))).json()) as { dispatched: number };
      expect(json.dispatched).toBe(4);
    } finally {
      live.close();
      await server.close();
      await transport.close();
    }
  });
});
