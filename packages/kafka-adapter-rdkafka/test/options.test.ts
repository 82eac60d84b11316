import { describe, expect, it } from 'vitest';
import { ConfigError, noopLogger } from '@ksched/core';
import { parseRdKafkaConnectionOptions, parseRdKafkaTransportOptions } from '../src/options.js';

function violations(run: () => unknown): { field: string; message: string }[] {
  try {
    run();
  } catch (error) {
    if (!ConfigError.isInstance(error)) throw error;
    return error.violations.map(({ field, message }) => ({ field, message }));
  }
  throw new Error('expected a ConfigError');
}

describe('rdkafka transport options', () => {
  it('fills in defaults', () => {
    const o = parseRdKafkaTransportOptions({ brokers: ['127.0.0.1:19092'] });
    expect(o).toMatchObject({
      brokers: ['127.0.0.1:19092'],
      clientId: 'ksched',
      connectionTimeoutMs: 10_000,
      requestTimeoutMs: 30_000,
      sessionTimeoutMs: 30_000,
      rebalanceTimeoutMs: 60_000,
      heartbeatIntervalMs: 3000,
      maxWaitTimeMs: 500,
      fetchMaxBytesPerPartition: 1_048_576,
      fetchMaxBytes: 52_428_800,
      transactionTimeoutMs: 60_000,
      messageTimeoutMs: 60_000,
      consumeBatchSize: 500,
      consumeTimeoutMs: 100,
      maxQueuedRecordsPerPartition: 2000,
      lingerMs: 1,
      pollIntervalMs: 5,
      maxBatchRetries: 3,
      readerBatchSize: 500,
      logLevel: 'warn',
      librdkafka: {},
    });
    expect(o.logger).toBe(noopLogger);
    expect(o.partitionAssignmentStrategy).toBeUndefined();
    expect(o.ssl).toBeUndefined();
    expect(o.sasl).toBeUndefined();
  });

  it('accepts a comma-separated broker list, TLS, SASL, a logger and librdkafka pass-through', () => {
    const logger = { debug() {}, info() {}, warn() {}, error() {} };
    const o = parseRdKafkaTransportOptions({
      brokers: ' a:1, b:2 ,',
      ssl: { ca: ['-----BEGIN CERTIFICATE-----'], rejectUnauthorized: false },
      sasl: { mechanism: 'scram-sha-512', username: 'u', password: 'p' },
      logger,
      librdkafka: { 'statistics.interval.ms': 1000, 'socket.keepalive.enable': true },
    });
    expect(o.brokers).toEqual(['a:1', 'b:2']);
    expect(o.logger).toBe(logger);
    expect(o.librdkafka).toEqual({ 'statistics.interval.ms': 1000, 'socket.keepalive.enable': true });
    expect(parseRdKafkaConnectionOptions({ brokers: 'x:9092', ssl: true }).ssl).toBe(true);
  });

  it('names every bad setting', () => {
    expect(
      violations(() =>
        parseRdKafkaTransportOptions({
          brokers: ['no-port'],
          consumeBatchSize: 0,
          connectionTimeoutMs: 10,
          lingerMs: -1,
          logLevel: 'loud' as never,
          sasl: { mechanism: 'gssapi' as never, username: 'u', password: 'p' },
        }),
      )
        .map((v) => v.field)
        .sort(),
    ).toEqual(['brokers.0', 'connectionTimeoutMs', 'consumeBatchSize', 'lingerMs', 'logLevel', 'sasl.mechanism']);
    expect(violations(() => parseRdKafkaTransportOptions({ brokers: 'a:1', partitionAssignmentStrategy: 'sticky' as never }))).toEqual([
      { field: 'partitionAssignmentStrategy', message: 'needs to be range, roundrobin or cooperative-sticky' },
    ]);
    expect(
      parseRdKafkaTransportOptions({ brokers: 'a:1', partitionAssignmentStrategy: 'cooperative-sticky' }).partitionAssignmentStrategy,
    ).toBe('cooperative-sticky');
    expect(violations(() => parseRdKafkaTransportOptions({ brokers: [] }))).toEqual([
      { field: 'brokers', message: 'needs at least one broker (host:port)' },
    ]);
    expect(violations(() => parseRdKafkaTransportOptions({ brokers: 'a:1', retry: {} } as never))).toEqual([
      { field: '(options)', message: 'unknown setting(s): retry' },
    ]);
    expect(violations(() => parseRdKafkaTransportOptions({ brokers: 'a:1', logger: {} as never }))[0]!.field).toBe('logger');
    expect(violations(() => parseRdKafkaConnectionOptions({ brokers: 'a:1', consumeBatchSize: 5 } as never))[0]!.message).toBe(
      'unknown setting(s): consumeBatchSize',
    );
  });
});
