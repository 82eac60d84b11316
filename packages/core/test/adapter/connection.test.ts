import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { configViolations } from '@ksched/testkit';
import { noopLogger } from '../../src/ports/logger.js';
import {
  adapterOptionSchemas,
  connectionOptionsSchema,
  integerAtLeast,
  parseConnectionOptions,
  schemaDefault,
  schemaDescription,
} from '../../src/adapter/connection.js';

describe('connection settings shared by the adapters', () => {
  it('fills in defaults', () => {
    const o = parseConnectionOptions({ brokers: ['127.0.0.1:19092'] });
    expect(o).toEqual({ brokers: ['127.0.0.1:19092'], clientId: 'ksched', requestTimeoutMs: 30_000, logLevel: 'warn', logger: noopLogger });
    expect(o.connectionTimeoutMs).toBeUndefined();
    expect(o.ssl).toBeUndefined();
    expect(o.sasl).toBeUndefined();
  });

  it('accepts a comma-separated broker list, TLS, SASL and a logger', () => {
    const logger = { debug() {}, info() {}, warn() {}, error() {} };
    const o = parseConnectionOptions({
      brokers: ' a:9092, b:9093 ,',
      ssl: { ca: ['-----BEGIN CERTIFICATE-----'], rejectUnauthorized: false },
      sasl: { mechanism: 'scram-sha-512', username: 'u', password: 'p' },
      logger,
      logLevel: 'debug',
    });
    expect(o.brokers).toEqual(['a:9092', 'b:9093']);
    expect(o.ssl).toEqual({ ca: ['-----BEGIN CERTIFICATE-----'], rejectUnauthorized: false });
    expect(o.sasl).toEqual({ mechanism: 'scram-sha-512', username: 'u', password: 'p' });
    expect(o.logger).toBe(logger);
    expect(parseConnectionOptions({ brokers: 'a:1', ssl: true }).ssl).toBe(true);
    expect(parseConnectionOptions({ brokers: 'a:1', ssl: {} }).ssl).toEqual({ rejectUnauthorized: true });
  });

  it('names every bad setting in one ConfigError', () => {
    expect(
      configViolations(() =>
        parseConnectionOptions({
          brokers: ['no-port'],
          clientId: '',
          logLevel: 'loud' as never,
          logger: { info() {} } as never,
          requestTimeoutMs: 1.5,
          sasl: { mechanism: 'gssapi' as never, username: 'u', password: 'p' },
          typo: 1,
        } as never),
      ),
    ).toEqual([
      { field: 'brokers.0', message: 'each broker needs to be host:port' },
      { field: 'clientId', message: 'must not be empty' },
      { field: 'sasl.mechanism', message: 'needs to be plain, scram-sha-256 or scram-sha-512' },
      { field: 'requestTimeoutMs', message: 'needs to be an integer ≥ 1' },
      { field: 'logLevel', message: 'needs to be nothing, error, warn, info or debug' },
      { field: 'logger', message: 'needs to be a logger with debug, info, warn and error methods' },
      { field: '(options)', message: 'unknown setting(s): typo' },
    ]);
    expect(configViolations(() => parseConnectionOptions({ brokers: [] }))).toEqual([
      { field: 'brokers', message: 'needs at least one broker (host:port)' },
    ]);
    expect(configViolations(() => parseConnectionOptions({ brokers: 'a:1', ssl: { pem: 'x' } as never }))).toEqual([
      { field: 'ssl', message: 'unknown TLS setting(s): pem' },
    ]);
    expect(
      configViolations(() => parseConnectionOptions({ brokers: 'a:1', sasl: { mechanism: 'plain' } as never })).map((v) => v.field),
    ).toEqual(['sasl.username', 'sasl.password']);
    expect(configViolations(() => parseConnectionOptions(undefined as never))).toEqual([
      { field: '(options)', message: 'needs to be an object' },
    ]);
  });

  it('an adapter extends it: its own settings added, a shared one given its default, the rest kept', () => {
    const adapter = connectionOptionsSchema.extend({ connectionTimeoutMs: z.number().default(3000), extra: z.boolean().default(false) });
    expect(adapter.parse({ brokers: 'a:1' })).toMatchObject({ clientId: 'ksched', connectionTimeoutMs: 3000, extra: false });
    expect(adapter.safeParse({ brokers: 'a:1', typo: 1 }).error?.issues[0]?.message).toBe('unknown setting(s): typo');
  });

  it('documents each setting: a description, and the default read back through wrappers', () => {
    for (const [key, schema] of Object.entries(connectionOptionsSchema.shape)) {
      expect(schemaDescription(schema)?.length ?? 0, key).toBeGreaterThan(10);
    }
    expect(schemaDefault(connectionOptionsSchema.shape.clientId)).toBe('ksched');
    expect(schemaDefault(connectionOptionsSchema.shape.requestTimeoutMs)).toBe(30_000);
    expect(schemaDefault(connectionOptionsSchema.shape.logLevel)).toBe('warn');
    expect(schemaDefault(connectionOptionsSchema.shape.logger)).toBe(noopLogger);
    expect(schemaDefault(connectionOptionsSchema.shape.connectionTimeoutMs)).toBeUndefined();
    expect(schemaDefault(z.preprocess((v) => v, z.number().default(5)).optional())).toBe(5);
    expect(schemaDescription(z.number().describe('inner').optional())).toBe('inner');
  });
});

describe('adapterOptionSchemas', () => {
  const schemas = adapterOptionSchemas({
    connection: { connectionTimeoutMs: integerAtLeast(1).default(3000), extra: z.string().optional() },
    transport: { fetchMaxBytes: integerAtLeast(1).default(10) },
  });

  it('extends the kit connection schema with the adapter settings, and the transport schema with transportSettingsShape too', () => {
    const c = schemas.parseConnection({ brokers: 'a:1', extra: 'x' });
    expect(c).toMatchObject({ brokers: ['a:1'], clientId: 'ksched', connectionTimeoutMs: 3000, extra: 'x' });
    expect(c).not.toHaveProperty('sessionTimeoutMs');
    const t = schemas.parseTransport({ brokers: 'a:1' });
    expect(t).toMatchObject({
      brokers: ['a:1'],
      connectionTimeoutMs: 3000,
      sessionTimeoutMs: 30_000,
      maxBatchRetries: 3,
      fetchMaxBytes: 10,
    });
    expect(Object.keys(schemas.transport.shape)).toEqual(expect.arrayContaining(Object.keys(schemas.connection.shape)));
  });

  it('parsers throw a ConfigError naming each bad setting; transport settings are unknown to the connection', () => {
    expect(configViolations(() => schemas.parseConnection({ brokers: [], sessionTimeoutMs: 1 } as never))).toEqual([
      { field: 'brokers', message: 'needs at least one broker (host:port)' },
      { field: '(options)', message: 'unknown setting(s): sessionTimeoutMs' },
    ]);
    expect(configViolations(() => schemas.parseTransport({ brokers: 'a:1', fetchMaxBytes: 0 }))).toEqual([
      { field: 'fetchMaxBytes', message: 'needs to be an integer ≥ 1' },
    ]);
  });
});
