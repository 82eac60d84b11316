import { afterEach, describe, expect, it } from 'vitest';
import type { PartitionStatus } from '@ksched/core';
import { ReadinessProbe } from '../src/health.js';
import { startHttpServer, type HttpServer } from '../src/http-server.js';

const partition = (state: PartitionStatus['state']): PartitionStatus => ({
  topic: 'sm',
  partition: 0,
  state,
  halted: false,
  buffered: 2,
  bufferedBytes: 900,
  windowEndMs: 0,
  refilling: false,
  reloads: 1,
  endOffset: 0,
  position: 0,
  invalid: 0,
  dispatched: 0,
  undeliverable: 0,
});

describe('HTTP endpoints', () => {
  let server: HttpServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function start(ready: boolean, reachable: boolean | undefined, partitions = [partition(ready ? 'loaded' : 'loading')]) {
    const reason =
      partitions.length === 0
        ? 'standby: member of group g with no partitions'
        : ready
          ? '1 partition loaded (group g)'
          : 'loading 1 of 1 partition';
    server = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      readiness: () => ({
        ready,
        reason,
        ...(reachable !== undefined ? { brokerReachable: reachable } : {}),
        partitions,
      }),
      metrics: async () => 'ksched_ready 1\n',
      metricsContentType: 'text/plain; version=0.0.4; charset=utf-8',
    });
    return `http://127.0.0.1:${server.port}`;
  }

  it('binds to the given host and a free port with port 0', async () => {
    await start(true, true);
    expect(server!.host).toBe('127.0.0.1');
    expect(server!.port).toBeGreaterThan(0);
  });

  it('/healthz answers 200 while the process is alive', async () => {
    const base = await start(false, false);
    const res = await fetch(`${base}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('/readyz answers 200 with the partitions when ready', async () => {
    const base = await start(true, true);
    const res = await fetch(`${base}/readyz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      status: 'ready',
      reason: '1 partition loaded (group g)',
      brokerReachable: true,
      partitions: [{ topic: 'sm', partition: 0, state: 'loaded', halted: false, buffered: 2 }],
    });
  });

  it('/readyz answers 200 for a standby member holding no partitions, and says so', async () => {
    const base = await start(true, true, []);
    const res = await fetch(`${base}/readyz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      status: 'ready',
      reason: 'standby: member of group g with no partitions',
      brokerReachable: true,
      partitions: [],
    });
  });

  it('/readyz answers 503 when not ready', async () => {
    const base = await start(false, undefined);
    const res = await fetch(`${base}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ status: 'not ready', reason: 'loading 1 of 1 partition', brokerReachable: null });
  });

  it('/metrics serves the Prometheus text format', async () => {
    const base = await start(true, true);
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(await res.text()).toBe('ksched_ready 1\n');
  });

  it('answers 404 elsewhere and 405 to other methods; HEAD has no body', async () => {
    const base = await start(true, true);
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    const post = await fetch(`${base}/healthz`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    const head = await fetch(`${base}/readyz`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  it('a failing handler gives a 500 and is reported', async () => {
    const errors: unknown[] = [];
    server = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      readiness: () => ({ ready: true, reason: 'standby', partitions: [] }),
      metrics: () => Promise.reject(new Error('boom')),
      metricsContentType: 'text/plain',
      onError: (e) => errors.push(e),
    });
    expect((await fetch(`http://127.0.0.1:${server.port}/metrics`)).status).toBe(500);
    expect(errors).toHaveLength(1);
  });
});

describe('ReadinessProbe', () => {
  const scheduler = (ready: boolean) => ({
    readiness: () => ({ ready, reason: ready ? '1 partition loaded (group g)' : 'loading 1 of 1 partition' }),
    partitions: () => [partition(ready ? 'loaded' : 'loading')],
  });
  const standby = {
    readiness: () => ({ ready: true, reason: 'standby: member of group g with no partitions' }),
    partitions: () => [],
  };

  it('is not ready before the first broker check answers', () => {
    const probe = new ReadinessProbe({ scheduler: scheduler(true), checkBroker: () => new Promise(() => {}) });
    expect(probe.report()).toMatchObject({ ready: false, reason: 'no broker check answered yet; 1 partition loaded (group g)' });
    expect(probe.report().brokerReachable).toBeUndefined();
  });

  it('is ready when every partition is loaded and the broker answered', async () => {
    const changes: boolean[] = [];
    const probe = new ReadinessProbe({ scheduler: scheduler(true), checkBroker: async () => 1, onChange: (r) => changes.push(r) });
    await probe.check();
    probe.stop();
    expect(probe.report()).toMatchObject({ ready: true, brokerReachable: true, reason: '1 partition loaded (group g)' });
    expect(changes).toEqual([true]);
  });

  it('is ready as a standby (a member of its group with no partitions), with the reason', async () => {
    const probe = new ReadinessProbe({ scheduler: standby, checkBroker: async () => 1 });
    await probe.check();
    probe.stop();
    expect(probe.report()).toEqual({
      ready: true,
      reason: 'standby: member of group g with no partitions',
      brokerReachable: true,
      partitions: [],
    });
  });

  it('a standby is not ready while the broker is unreachable', async () => {
    const probe = new ReadinessProbe({ scheduler: standby, checkBroker: () => Promise.reject(new Error('ECONNREFUSED')) });
    await probe.check();
    probe.stop();
    expect(probe.report()).toMatchObject({
      ready: false,
      brokerReachable: false,
      reason: 'broker unreachable; standby: member of group g with no partitions',
    });
  });

  it('is not ready while partitions load, even with the broker reachable', async () => {
    const probe = new ReadinessProbe({ scheduler: scheduler(false), checkBroker: async () => 1 });
    await probe.check();
    probe.stop();
    expect(probe.report()).toMatchObject({ ready: false, brokerReachable: true, reason: 'loading 1 of 1 partition' });
  });

  it('a failing or hanging broker check makes it unready', async () => {
    let fail = false;
    const probe = new ReadinessProbe({
      scheduler: scheduler(true),
      checkBroker: () => (fail ? new Promise(() => {}) : Promise.resolve(1)),
      timeoutMs: 20,
    });
    await probe.check();
    expect(probe.report().ready).toBe(true);
    fail = true;
    await probe.check();
    probe.stop();
    expect(probe.report()).toMatchObject({ ready: false, brokerReachable: false });
  });
});
