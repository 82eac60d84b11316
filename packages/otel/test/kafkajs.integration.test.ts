/**
 * The dispatch span on a real broker (kafkajs adapter, the real clock): a schedule produced with a
 * `traceparent` by the schedule client is dispatched by a `Scheduler` with the OpenTelemetry
 * tracer; the target message read back from Kafka carries the dispatch span's `traceparent`, and
 * the span (status OK, PRODUCER) links to the scheduling context and names the target's offset.
 */
import { randomUUID } from 'node:crypto';
import { Scheduler, headerText, systemClock, type PartitionReader } from '@ksched/core';
import { createKafkaJsTransport, createScheduleClient, createTopicAdmin, ensureSchedulesTopics } from '@ksched/kafka-adapter-kafkajs';
import { kafkaBrokers } from '@ksched/testkit';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, describe, expect, it } from 'vitest';
import { createOtelDispatchTracer } from '../src/index.js';

const id = randomUUID().slice(0, 8);
const schedules = `it_otel_sched_${id}`;
const target = `it_otel_target_${id}`;
const brokers = kafkaBrokers();
const connection = { brokers, logLevel: 'nothing' as const };
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';

afterAll(async () => {
  const admin = await createTopicAdmin(connection);
  await admin.deleteTopics([schedules, `${schedules}_states`, target]).catch(() => {});
  await admin.close();
});

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('OpenTelemetry dispatch span on kafkajs', () => {
  it('links to the traceparent given when scheduling and hands its own context to the target message', async () => {
    await ensureSchedulesTopics({ ...connection, topics: [schedules], partitions: 1 });
    const admin = await createTopicAdmin(connection);
    await admin.createTopic({ topic: target, partitions: 1 });
    await admin.close();

    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const scheduler = new Scheduler({
      transport: createKafkaJsTransport({ ...connection, clientId: `it-otel-${id}` }),
      clock: systemClock,
      options: { topics: [schedules], groupId: `it_otel_group_${id}`, transactional: true },
      tracer: createOtelDispatchTracer({ tracerProvider: provider }),
    });
    const client = createScheduleClient({ ...connection, schedulesTopic: schedules });
    const reader = createKafkaJsTransport({ ...connection, clientId: `it-otel-reader-${id}` });
    let open: PartitionReader | undefined;
    try {
      await scheduler.start();
      const ref = await client.schedule({
        message: { topic: target, key: 'order-42', payload: 'remind', headers: { traceparent: `00-${TRACE_ID}-${SPAN_ID}-01` } },
        envelope: { key: `reminder-${id}` },
        delayMs: 2000,
      });

      const [span] = await waitFor('the dispatch span', () => {
        const spans = exporter.getFinishedSpans();
        return spans.length > 0 ? spans : undefined;
      });
      expect(exporter.getFinishedSpans()).toHaveLength(1);
      expect(span!.name).toBe(`ksched dispatch ${target}`);
      expect(span!.kind).toBe(SpanKind.PRODUCER);
      expect(span!.status.code).toBe(SpanStatusCode.OK);
      expect(span!.links.map((l) => [l.context.traceId, l.context.spanId])).toEqual([[TRACE_ID, SPAN_ID]]);
      expect(span!.attributes).toMatchObject({
        'messaging.system': 'kafka',
        'messaging.destination.name': target,
        'messaging.destination.partition.id': '0',
        'messaging.kafka.message.key': 'order-42',
        'ksched.schedule.key': `reminder-${id}`,
        'ksched.schedule.topic': schedules,
        'ksched.schedule.partition': ref.partition,
        'ksched.schedule.offset': ref.offset,
        'ksched.dispatch.transactional': true,
        'ksched.dispatch.possible_duplicate': false,
      });

      await reader.connect();
      open = await reader.openReader({ topic: target, partition: 0 }, { fromOffset: 0 });
      const records = await waitFor('the target message', async () => {
        const batch = await open!.read();
        return batch.records.length > 0 ? batch.records : undefined;
      });
      expect(records).toHaveLength(1);
      const message = records[0]!;
      expect(span!.attributes['messaging.kafka.offset']).toBe(message.offset);
      expect(headerText(message.headers, 'traceparent')).toBe(`00-${span!.spanContext().traceId}-${span!.spanContext().spanId}-01`);
    } finally {
      await open?.close();
      await reader.close();
      await client.close();
      await scheduler.stop();
    }
  });
});
