/**
 * Example 2: a scheduler embedded in an existing HTTP service. The application already serves
 * its own routes and its own Prometheus registry; ksched adds its metrics to that registry, its
 * readiness to `/readyz`, and the Web UI under `/ksched/` (read-only unless KSCHED_UI_TOKEN is set).
 * SIGTERM stops it gracefully (flushes finished, `stopped` reported, group left).
 *
 *   KSCHED_BROKERS=127.0.0.1:19092 pnpm --filter @ksched/examples embedded-http
 *
 * Environment: KSCHED_BROKERS, SCHEDULES_TOPIC (scheduled_messages), PORT (8080; 0 picks one),
 * GROUP_ID (embedded-example), KSCHED_UI_TOKEN.
 */
import { createServer } from 'node:http';
import { createScheduleAdmin, Scheduler, systemClock } from '@ksched/core';
import { createKafkaJsTransport, ensureSchedulesTopics } from '@ksched/kafka-adapter-kafkajs';
import { observeScheduler, stopGracefully } from '@ksched/scheduler';
import { createWebHandler, LiveStats } from '@ksched/web';
import { Counter, Registry } from 'prom-client';

const brokers = (process.env['KSCHED_BROKERS'] ?? '127.0.0.1:19092').split(',');
const schedulesTopic = process.env['SCHEDULES_TOPIC'] ?? 'scheduled_messages';
const token = process.env['KSCHED_UI_TOKEN'];

// The application's own metrics registry and one of its metrics.
const registry = new Registry();
const requests = new Counter({ name: 'app_http_requests_total', help: 'HTTP requests', labelNames: ['path'], registers: [registry] });

await ensureSchedulesTopics({ brokers, topics: [schedulesTopic], partitions: 3 });
const transport = createKafkaJsTransport({ brokers, clientId: 'embedded-example' });
const scheduler = new Scheduler({
  transport,
  clock: systemClock,
  options: { topics: [schedulesTopic], groupId: process.env['GROUP_ID'] ?? 'embedded-example' },
});

// ksched's metrics on the app's registry, and readiness as the ksched service answers it.
const observed = observeScheduler(scheduler, { registry, checkBroker: () => transport.partitionCount(schedulesTopic) });

// The Web UI, through a transport of its own (it reads outside the scheduler's group).
const uiTransport = createKafkaJsTransport({ brokers, clientId: 'embedded-example-ui' });
await uiTransport.connect();
const live = new LiveStats(scheduler);
const admin = createScheduleAdmin({ transport: uiTransport, schedulesTopics: [schedulesTopic] });
const ui = createWebHandler({
  admin,
  basePath: '/ksched',
  live,
  ...(token !== undefined ? { auth: { token } } : {}),
});

const server = createServer((req, res) => {
  const path = new URL(req.url ?? '/', 'http://app').pathname;
  requests.inc({ path: path.startsWith('/ksched') ? '/ksched' : path });
  if (path === '/ksched' || path.startsWith('/ksched/')) return ui(req, res);
  if (path === '/metrics') {
    void observed.renderMetrics().then((text) => res.writeHead(200, { 'content-type': observed.contentType }).end(text));
    return;
  }
  if (path === '/readyz' || path === '/healthz') {
    const { status, body } = path === '/readyz' ? observed.readiness() : observed.health();
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    return;
  }
  if (path === '/') {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('the application\n');
    return;
  }
  res.writeHead(404).end();
});
await new Promise<void>((resolve) => server.listen(Number(process.env['PORT'] ?? 8080), '127.0.0.1', resolve));
const { port } = server.address() as { port: number };
console.log(`listening on http://127.0.0.1:${port}/ (metrics /metrics, readiness /readyz, Web UI /ksched/)`);

await scheduler.start();
console.log('scheduler started');

process.once('SIGTERM', () => {
  void (async () => {
    const result = await stopGracefully(scheduler, { timeoutMs: 25_000 });
    observed.close();
    live.close();
    await new Promise((resolve) => server.close(resolve));
    server.closeAllConnections();
    await admin.close();
    await uiTransport.close();
    console.log(`stopped: ${result}`);
    process.exit(result === 'stopped' ? 0 : 1);
  })();
});
