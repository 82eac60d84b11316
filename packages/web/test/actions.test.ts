/**
 * Cancel and reschedule through the UI on the FakeBroker: refused without a configured credential,
 * without the request's credential, without the form's CSRF token and from another site; with
 * them, the cancel or new schedule lands on the schedule's partition and the scheduler obeys it.
 */
import { describe, expect, it } from 'vitest';
import { headerText } from '@ksched/core';
import { Client, csrfOf, TOKEN, TOPIC, uiFixture } from './helpers.js';

const MINUTE = 60_000;

async function pendingSchedule(ui: Awaited<ReturnType<typeof uiFixture>>, key = 'reminder-7') {
  const now = ui.env.clock.now();
  return ui.env.schedule({
    message: { topic: 'events', key: 'order-7', payload: 'remind me' },
    at: now + 10 * MINUTE,
    envelope: { key, partitionKey: 'customer-3' },
  });
}

function records(ui: Awaited<ReturnType<typeof uiFixture>>, partition: number) {
  return ui.env.broker.records(TOPIC, partition);
}

describe('without a configured credential', () => {
  it('is read-only: says so, offers no action, and refuses every state-changing request', async () => {
    await using ui = await uiFixture();
    const routed = await pendingSchedule(ui);
    const client = new Client(ui);
    const page = await client.get(`/schedule?topic=${TOPIC}&partition=${routed.partition}&key=reminder-7`);
    expect(page.body).toContain('Read-only: no credential is configured');
    expect(page.body).not.toContain('Cancel…');
    const before = records(ui, routed.partition).length;
    for (const [path, form] of [
      ['/cancel', { topic: TOPIC, partition: String(routed.partition), key: 'reminder-7', confirm: 'yes' }],
      ['/reschedule', { topic: TOPIC, partition: String(routed.partition), key: 'reminder-7', confirm: 'yes', due_ms: '1900000000000' }],
    ] as const) {
      const refused = await client.post(path, form);
      expect(refused.status).toBe(403);
      expect(refused.body).toContain('read-only');
    }
    expect((await client.postJson('/api/cancel', { key: 'reminder-7' }, { authorization: `Bearer ${TOKEN}` })).status).toBe(403);
    expect((await client.get(`/cancel?topic=${TOPIC}&partition=${routed.partition}&key=reminder-7`)).status).toBe(403);
    expect((await client.get('/login')).status).toBe(404);
    expect(records(ui, routed.partition)).toHaveLength(before);
  });
});

describe('with a token', () => {
  it('cancels after sign-in and confirmation, on the partition the schedule was routed to; the scheduler drops it', async () => {
    await using ui = await uiFixture({ web: { auth: { token: TOKEN } } });
    const routed = await pendingSchedule(ui);
    const client = new Client(ui);
    const form = { topic: TOPIC, partition: String(routed.partition), key: 'reminder-7', confirm: 'yes' };

    // Not signed in: pages are readable, actions are not.
    const anonymous = await client.get(`/schedule?topic=${TOPIC}&partition=${routed.partition}&key=reminder-7`);
    expect(anonymous.status).toBe(200);
    expect(anonymous.body).toContain('Read-only until you');
    expect((await client.post('/cancel', form)).status).toBe(401);

    expect((await client.login('wrong-token-xyz')).status).toBe(401);
    const login = await client.login();
    expect(login.status).toBe(303);
    expect(login.headers.get('set-cookie')).toMatch(/^ksched_session=[^;]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200$/);

    const confirm = await client.get(`/cancel?topic=${TOPIC}&partition=${routed.partition}&key=reminder-7`);
    expect(confirm.status).toBe(200);
    for (const page of [anonymous, confirm, await client.get('/login'), await client.get('/')]) expect(page.body).not.toContain(TOKEN);
    const csrf = csrfOf(confirm.body);
    const before = records(ui, routed.partition).length;
    expect((await client.post('/cancel', form)).status).toBe(403); // no CSRF token
    expect((await client.post('/cancel', { ...form, csrf: `${csrf}x` })).status).toBe(403);
    expect((await client.post('/cancel', { ...form, csrf }, { origin: 'https://evil.example' })).status).toBe(403);
    expect((await client.post('/cancel', { ...form, csrf }, { 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    // `Origin: null` (an opaque origin) passes only when the browser says the request is same-origin.
    expect((await client.post('/cancel', { ...form, csrf }, { origin: 'null' })).status).toBe(403);
    expect((await client.post('/cancel', { ...form, csrf }, { origin: 'null', 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    expect(records(ui, routed.partition)).toHaveLength(before);

    const done = await client.post('/cancel', { ...form, csrf }, { origin: 'null', 'sec-fetch-site': 'same-origin' });
    expect(done.status).toBe(200);
    expect(done.body).toContain('Cancelled.');
    const offset = Number(/<dd data-offset="(\d+)">/.exec(done.body)![1]);
    expect(done.body).toContain(`<dd data-partition="${routed.partition}">`);
    const written = records(ui, routed.partition).find((r) => r.offset === offset)!;
    expect(new TextDecoder().decode(written.key!)).toBe('reminder-7');
    expect(headerText(written.headers, 'schedule_source_type')).toBe('cancel');

    await ui.env.advance(11 * MINUTE);
    expect(ui.env.dispatched('events')).toHaveLength(0);
    const after = await client.get(`/schedule?topic=${TOPIC}&partition=${routed.partition}&key=reminder-7`);
    expect(after.body).toContain('data-status="cancelled"');
    // A second cancel is refused: the schedule is not pending any more.
    expect((await client.post('/cancel', { ...form, csrf })).status).toBe(409);

    const logout = await client.post('/logout', { csrf });
    expect(logout.status).toBe(303);
    expect((await client.post('/cancel', { ...form, csrf })).status).toBe(401);
  });

  it('reschedules in two steps (the new time shown, then confirmed); the scheduler dispatches at the new time', async () => {
    await using ui = await uiFixture({ web: { auth: { token: TOKEN } } });
    const routed = await pendingSchedule(ui);
    const client = new Client(ui);
    await client.login();
    const fields = { topic: TOPIC, partition: String(routed.partition), key: 'reminder-7' };
    const form = await client.get(`/reschedule?${new URLSearchParams(fields).toString()}`);
    const csrf = csrfOf(form.body);

    const bad = await client.post('/reschedule', { ...fields, csrf, in: 'soonish' });
    expect(bad.status).toBe(400);
    expect(bad.body).toContain('in: &quot;soonish&quot; is not a duration');
    const both = await client.post('/reschedule', { ...fields, csrf, in: '5m', at: '2030-01-01T00:00:00Z' });
    expect(both.status).toBe(400);

    const now = ui.env.clock.now();
    const step = await client.post('/reschedule', { ...fields, csrf, in: '2m' });
    expect(step.status).toBe(200);
    expect(step.body).toContain(new Date(now + 2 * MINUTE).toISOString().replace('T', ' '));
    const dueMs = Number(/name="due_ms" value="(\d+)"/.exec(step.body)![1]);
    expect(dueMs).toBe(now + 2 * MINUTE);
    expect(ui.env.dispatched('events')).toHaveLength(0);

    const done = await client.post('/reschedule', { ...fields, csrf, due_ms: String(dueMs), confirm: 'yes' });
    expect(done.status).toBe(200);
    expect(done.body).toContain('Rescheduled to');
    expect(done.body).toContain(`<dd data-partition="${routed.partition}">`);

    await ui.env.advance(MINUTE);
    expect(ui.env.dispatched('events')).toHaveLength(0);
    await ui.env.advance(2 * MINUTE);
    const sent = ui.env.dispatched('events');
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ key: 'order-7', value: 'remind me', dueMs: now + 2 * MINUTE });
    await ui.env.advance(10 * MINUTE);
    expect(ui.env.dispatched('events')).toHaveLength(1); // the old due time is gone
  });

  it('acts through the JSON API with a bearer token and application/json only', async () => {
    await using ui = await uiFixture({ web: { auth: { token: TOKEN } } });
    const routed = await pendingSchedule(ui);
    const client = new Client(ui);
    expect((await client.postJson('/api/cancel', { key: 'reminder-7', partition: routed.partition })).status).toBe(401);
    expect((await client.postJson('/api/cancel', { key: 'reminder-7' }, { authorization: 'Bearer nope-nope-nope' })).status).toBe(401);
    const asForm = await client.post('/api/cancel', { key: 'reminder-7' }, { authorization: `Bearer ${TOKEN}` });
    expect(asForm.status).toBe(415);
    const bad = await client.postJson('/api/reschedule', { key: 'reminder-7', in: 'later' }, { authorization: `Bearer ${TOKEN}` });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body)).toMatchObject({ parameter: 'in' });

    const moved = await client.postJson('/api/reschedule', { key: 'reminder-7', in: '1m' }, { authorization: `Bearer ${TOKEN}` });
    expect(moved.status).toBe(200);
    const body = JSON.parse(moved.body) as { produced: { partition: number; offset: number } };
    expect(body.produced.partition).toBe(routed.partition); // found on every partition, written where it was
    const cancelled = await client.postJson(
      '/api/cancel',
      { key: 'reminder-7', partition_key: 'customer-3' },
      { authorization: `Bearer ${TOKEN}` },
    );
    expect(cancelled.status).toBe(200);
    await ui.env.advance(2 * MINUTE);
    expect(ui.env.dispatched('events')).toHaveLength(0);
  });

  it('with readsNeedCredential, reading needs the sign-in too', async () => {
    await using ui = await uiFixture({ web: { auth: { token: TOKEN }, readsNeedCredential: true } });
    const client = new Client(ui);
    expect((await client.get('/')).status).toBe(401);
    expect((await client.get('/api/topics')).status).toBe(401);
    expect((await client.get('/assets/style.css')).status).toBe(200);
    expect((await client.get('/login')).status).toBe(200);
    await client.login();
    expect((await client.get('/')).status).toBe(200);
  });
});

describe('with basic auth', () => {
  it('asks the browser for the credential and still needs the CSRF token on forms', async () => {
    const basic = { username: 'ops', password: 'correct horse' };
    await using ui = await uiFixture({ web: { auth: { basic } } });
    const routed = await pendingSchedule(ui);
    const form = { topic: TOPIC, partition: String(routed.partition), key: 'reminder-7', confirm: 'yes' };
    const anonymous = new Client(ui);
    const refused = await anonymous.post('/cancel', form);
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toBe('Basic realm="ksched", charset="UTF-8"');
    expect((await anonymous.get('/login')).status).toBe(401);

    const wrong = new Client(ui, `Basic ${Buffer.from('ops:wrong password').toString('base64')}`);
    expect((await wrong.post('/cancel', form)).status).toBe(401);

    const ops = new Client(ui, `Basic ${Buffer.from(`${basic.username}:${basic.password}`).toString('base64')}`);
    expect((await ops.post('/cancel', form)).status).toBe(403); // cached basic credentials alone are not enough
    const confirm = await ops.get(`/cancel?topic=${TOPIC}&partition=${routed.partition}&key=reminder-7`);
    const done = await ops.post('/cancel', { ...form, csrf: csrfOf(confirm.body) });
    expect(done.status).toBe(200);
    expect(done.body).toContain('Cancelled.');
  });
});
