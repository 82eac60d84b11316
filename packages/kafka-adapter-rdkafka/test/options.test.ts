// The shared connection settings (brokers, clientId, TLS, SASL, logLevel, logger, unknown keys) and
// transport settings (session, rebalance, heartbeat, fetch wait and size, redeliveries) are tested
// once in core (`packages/core/test/adapter/connection.test.ts`, `transport-settings.test.ts`), and
// that each adapter takes the latter in tests/interop; here only what node-rdkafka adds.
import { describe, expect, it } from 'vitest';
import { configViolations } from '@ksched/testkit';
import { parseRdKafkaConnectionOptions, parseRdKafkaTransportOptions } from '../src/options.js';

describe('rdkafka transport options', () => {
  it('fills in the librdkafka defaults', () => {
    const o = parseRdKafkaTransportOptions({ brokers: ['127.0.0.1:19092'] });
    expect(o).toMatchObject({
      connectionTimeoutMs: 10_000,
      fetchMaxBytes: 52_428_800,
      transactionTimeoutMs: 60_000,
      messageTimeoutMs: 60_000,
      consumeBatchSize: 500,
      consumeTimeoutMs: 100,
      maxQueuedRecordsPerPartition: 2000,
      lingerMs: 1,
      pollIntervalMs: 5,
      readerBatchSize: 500,
      librdkafka: {},
    });
    expect(o.partitionAssignmentStrategy).toBeUndefined();
  });

  it('passes librdkafka properties through and takes an assignment strategy', () => {
    const o = parseRdKafkaConnectionOptions({
      brokers: 'a:1',
      librdkafka: { 'statistics.interval.ms': 1000, 'socket.keepalive.enable': true },
    });
    expect(o.librdkafka).toEqual({ 'statistics.interval.ms': 1000, 'socket.keepalive.enable': true });
    expect(
      parseRdKafkaTransportOptions({ brokers: 'a:1', partitionAssignmentStrategy: 'cooperative-sticky' }).partitionAssignmentStrategy,
    ).toBe('cooperative-sticky');
  });

  it('names every bad rdkafka setting', () => {
    expect(
      configViolations(() =>
        parseRdKafkaTransportOptions({ brokers: 'a:1', consumeBatchSize: 0, connectionTimeoutMs: 10, requestTimeoutMs: 5, lingerMs: -1 }),
      )
        .map((v) => v.field)
        .sort(),
    ).toEqual(['connectionTimeoutMs', 'consumeBatchSize', 'lingerMs', 'requestTimeoutMs']);
    expect(
      configViolations(() => parseRdKafkaTransportOptions({ brokers: 'a:1', partitionAssignmentStrategy: 'sticky' as never })),
    ).toEqual([{ field: 'partitionAssignmentStrategy', message: 'needs to be range, roundrobin or cooperative-sticky' }]);
    expect(configViolations(() => parseRdKafkaTransportOptions({ brokers: 'a:1', retry: {} } as never))).toEqual([
      { field: '(options)', message: 'unknown setting(s): retry' },
    ]);
    expect(configViolations(() => parseRdKafkaConnectionOptions({ brokers: 'a:1', consumeBatchSize: 5 } as never))[0]!.message).toBe(
      'unknown setting(s): consumeBatchSize',
    );
  });
});
