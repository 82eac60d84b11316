// The shared connection settings (brokers, clientId, logLevel, logger, unknown keys) are tested
// once in core (`packages/core/test/adapter/connection.test.ts`); here only what kafkajs adds.
import { describe, expect, it } from 'vitest';
import { ConfigError } from '@ksched/core';
import { configViolations } from '@ksched/testkit';
import { createKafkaJsTransport, parseKafkaJsConnectionOptions, parseKafkaJsTransportOptions } from '../src/index.js';

describe('kafkajs transport options', () => {
  it('fills in the kafkajs defaults', () => {
    expect(parseKafkaJsTransportOptions({ brokers: ['127.0.0.1:19092'] })).toMatchObject({
      connectionTimeoutMs: 3000,
      sessionTimeoutMs: 30_000,
      rebalanceTimeoutMs: 60_000,
      consumerRetry: { retries: 20, initialRetryTimeMs: 300, maxRetryTimeMs: 5000 },
      heartbeatIntervalMs: 3000,
      maxWaitTimeMs: 500,
      fetchMaxBytesPerPartition: 1_048_576,
      fetchMaxBytes: 10_485_760,
      partitionsConsumedConcurrently: 1,
      maxBatchRetries: 3,
      transactionTimeoutMs: 60_000,
      eofCheckDelayMs: 200,
    });
  });

  it('passes TLS options and any kafkajs SASL mechanism through as given', () => {
    const sasl = { mechanism: 'oauthbearer' as const, oauthBearerProvider: async () => ({ value: 't' }) };
    const o = parseKafkaJsConnectionOptions({ brokers: 'a:1', ssl: { servername: 'kafka.local', rejectUnauthorized: false }, sasl });
    expect(o.ssl).toEqual({ servername: 'kafka.local', rejectUnauthorized: false });
    expect(o.sasl).toBe(sasl);
    expect(o.retry).toBeUndefined();
  });

  it('names every bad kafkajs setting in one ConfigError', () => {
    expect(
      configViolations(() =>
        parseKafkaJsTransportOptions({
          brokers: 'a:1',
          sasl: { username: 'u' } as never,
          connectionTimeoutMs: 0,
          retry: { retries: -1 },
          sessionTimeoutMs: 0,
          maxWaitTimeMs: 1.5,
        }),
      ),
    ).toEqual([
      { field: 'sasl', message: expect.stringContaining('mechanism') },
      { field: 'connectionTimeoutMs', message: 'needs to be an integer ≥ 1' },
      { field: 'retry.retries', message: 'needs to be an integer ≥ 0' },
      { field: 'sessionTimeoutMs', message: 'needs to be an integer ≥ 1' },
      { field: 'maxWaitTimeMs', message: 'needs to be an integer ≥ 0' },
    ]);
    expect(configViolations(() => parseKafkaJsConnectionOptions({ brokers: 'a:1', sessionTimeoutMs: 5 } as never))).toEqual([
      { field: '(options)', message: 'unknown setting(s): sessionTimeoutMs' },
    ]);
  });

  it('createKafkaJsTransport validates eagerly and declares the v1 contract', () => {
    expect(() => createKafkaJsTransport({ brokers: [] })).toThrow(ConfigError);
    const t = createKafkaJsTransport({ brokers: ['127.0.0.1:1'] });
    expect(t.specificationVersion).toBe('v1');
  });
});
