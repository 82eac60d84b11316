import { describe, expect, it } from 'vitest';
import { ConfigError, noopLogger } from '@ksched/core';
import { createKafkaJsTransport, parseKafkaJsConnectionOptions, parseKafkaJsTransportOptions } from '../src/index.js';

function violations(run: () => unknown): { field: string; message: string }[] {
  try {
    run();
  } catch (error) {
    if (!ConfigError.isInstance(error)) throw error;
    return error.violations.map(({ field, message }) => ({ field, message }));
  }
  throw new Error('expected a ConfigError');
}

describe('kafkajs transport options', () => {
  it('fills in defaults', () => {
    const o = parseKafkaJsTransportOptions({ brokers: ['127.0.0.1:19092'] });
    expect(o).toMatchObject({
      brokers: ['127.0.0.1:19092'],
      clientId: 'ksched',
      connectionTimeoutMs: 3000,
      requestTimeoutMs: 30_000,
      sessionTimeoutMs: 30_000,
      rebalanceTimeoutMs: 60_000,
      heartbeatIntervalMs: 3000,
      maxWaitTimeMs: 500,
      fetchMaxBytesPerPartition: 1_048_576,
      fetchMaxBytes: 10_485_760,
      partitionsConsumedConcurrently: 1,
      maxBatchRetries: 3,
      transactionTimeoutMs: 60_000,
      eofCheckDelayMs: 200,
      logLevel: 'warn',
    });
    expect(o.logger).toBe(noopLogger);
    expect(o.ssl).toBeUndefined();
    expect(o.sasl).toBeUndefined();
  });

  it('accepts a comma-separated broker list, ssl/sasl pass-through and a logger', () => {
    const logger = { debug() {}, info() {}, warn() {}, error() {} };
    const sasl = { mechanism: 'plain' as const, username: 'u', password: 'p' };
    const o = parseKafkaJsTransportOptions({
      brokers: ' a:9092, b:9093 ',
      ssl: { rejectUnauthorized: false },
      sasl,
      logger,
      logLevel: 'debug',
    });
    expect(o.brokers).toEqual(['a:9092', 'b:9093']);
    expect(o.ssl).toEqual({ rejectUnauthorized: false });
    expect(o.sasl).toBe(sasl);
    expect(o.logger).toBe(logger);
    expect(parseKafkaJsConnectionOptions({ brokers: 'a:1', ssl: true }).ssl).toBe(true);
  });

  it('names every bad setting in one ConfigError', () => {
    expect(
      violations(() =>
        parseKafkaJsTransportOptions({
          brokers: ['no-port'],
          sessionTimeoutMs: 0,
          maxWaitTimeMs: 1.5,
          logLevel: 'loud' as never,
          logger: { info() {} } as never,
          sasl: { username: 'u' } as never,
          typo: 1,
        } as never),
      ),
    ).toEqual([
      { field: 'brokers.0', message: 'each broker needs to be host:port' },
      { field: 'sasl', message: expect.stringContaining('mechanism') },
      { field: 'logLevel', message: 'needs to be nothing, error, warn, info or debug' },
      { field: 'logger', message: 'needs to be a logger with debug, info, warn and error methods' },
      { field: 'sessionTimeoutMs', message: 'needs to be an integer ≥ 1' },
      { field: 'maxWaitTimeMs', message: 'needs to be an integer ≥ 0' },
      { field: '(options)', message: 'unknown setting(s): typo' },
    ]);
    expect(violations(() => parseKafkaJsTransportOptions({ brokers: [] }))).toEqual([
      { field: 'brokers', message: 'needs at least one broker (host:port)' },
    ]);
    expect(violations(() => parseKafkaJsTransportOptions(undefined as never))).toEqual([
      { field: '(options)', message: 'needs to be an object' },
    ]);
  });

  it('createKafkaJsTransport validates eagerly and declares the v1 contract', () => {
    expect(() => createKafkaJsTransport({ brokers: [] })).toThrow(ConfigError);
    const t = createKafkaJsTransport({ brokers: ['127.0.0.1:1'] });
    expect(t.specificationVersion).toBe('v1');
  });
});
