// The shared connection settings (brokers, clientId, logLevel, logger, unknown keys) and transport
// settings (session, rebalance, heartbeat, fetch wait and size, redeliveries) are tested once in core
// (`packages/core/test/adapter/connection.test.ts`, `transport-settings.test.ts`), and that each
// adapter takes the latter in tests/interop; here only what kafkajs adds.
import { describe, expect, it } from 'vitest';
import { ConfigError } from '@ksched/core';
import { configViolations } from '@ksched/testkit';
import { createKafkaJsTransport, parseKafkaJsConnectionOptions, parseKafkaJsTransportOptions } from '../src/index.js';

describe('kafkajs transport options', () => {
  it('fills in the kafkajs defaults', () => {
    expect(parseKafkaJsTransportOptions({ brokers: ['127.0.0.1:19092'] })).toMatchObject({
      connectionTimeoutMs: 3000,
      consumerRetry: { retries: 80, initialRetryTimeMs: 300, maxRetryTimeMs: 1000 },
      fetchMaxBytes: 10_485_760,
      partitionsConsumedConcurrently: 1,
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
          partitionsConsumedConcurrently: 0,
        }),
      ),
    ).toEqual([
      { field: 'sasl', message: expect.stringContaining('mechanism') },
      { field: 'connectionTimeoutMs', message: 'needs to be an integer ≥ 1' },
      { field: 'retry.retries', message: 'needs to be an integer ≥ 0' },
      { field: 'partitionsConsumedConcurrently', message: 'needs to be an integer ≥ 1' },
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
