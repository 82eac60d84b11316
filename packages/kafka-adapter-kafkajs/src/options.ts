/**
 * Options of the kafkajs adapter: one zod schema for the connection (shared by the transport, the
 * topic administration and the schedule client) and one for the transport. Units are in the names.
 *
 * @module
 */
import { z } from 'zod';
import { ConfigError, noopLogger } from '@ksched/core';
import type { Logger, Violation } from '@ksched/core';
import type { SASLOptions } from 'kafkajs';
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';

const positiveInt = (what: string) => z.number({ error: `needs to be an integer ${what}` }).int(`needs to be an integer ${what}`);

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

const loggerSchema = z.custom<Logger>(
  (value) => isObject(value) && ['debug', 'info', 'warn', 'error'].every((m) => typeof value[m] === 'function'),
  { error: 'needs to be a logger with debug, info, warn and error methods' },
);

const saslSchema = z.custom<SASLOptions>((value) => isObject(value) && typeof value['mechanism'] === 'string', {
  error: 'needs to be a kafkajs SASL object with a mechanism (plain, scram-sha-256, scram-sha-512, aws, oauthbearer)',
});

const sslSchema = z.union([z.boolean(), z.custom<TlsConnectionOptions>((value) => isObject(value))], {
  error: 'needs to be a boolean or a tls.connect() options object',
});

const brokersSchema = z
  .union([z.string(), z.array(z.string({ error: 'needs to be host:port strings' }))], {
    error: 'needs to be a list of host:port strings (or one comma-separated string)',
  })
  .transform((value) => (typeof value === 'string' ? value.split(',') : value).map((b) => b.trim()).filter((b) => b.length > 0))
  .pipe(z.array(z.string().regex(/^[^\s:]+:\d+$/, 'each broker needs to be host:port')).min(1, 'needs at least one broker (host:port)'));

/** Retry policy of the kafkajs clients (kafkajs `retry`). */
export const retryOptionsSchema = z.strictObject({
  /** Retries of one operation before it fails. */
  retries: positiveInt('≥ 0').min(0, 'needs to be an integer ≥ 0').default(5),
  /** First backoff, ms. */
  initialRetryTimeMs: positiveInt('≥ 1').min(1, 'needs to be an integer ≥ 1').default(300),
  /** Longest backoff, ms. */
  maxRetryTimeMs: positiveInt('≥ 1').min(1, 'needs to be an integer ≥ 1').default(30_000),
});

const connectionShape = {
  /** Bootstrap brokers, `host:port` (a list, or one comma-separated string). */
  brokers: brokersSchema,
  /** Client id sent to the brokers (logs, quotas). */
  clientId: z.string({ error: 'needs to be a string' }).min(1, 'must not be empty').default('ksched'),
  /** TLS: `true`, or `tls.connect()` options; passed to kafkajs as-is. */
  ssl: sslSchema.optional(),
  /** SASL authentication, passed to kafkajs as-is. */
  sasl: saslSchema.optional(),
  /** TCP connect timeout, ms. */
  connectionTimeoutMs: positiveInt('≥ 1').min(1, 'needs to be an integer ≥ 1').default(3000),
  /** Timeout of one request, ms. */
  requestTimeoutMs: positiveInt('≥ 1').min(1, 'needs to be an integer ≥ 1').default(30_000),
  /** Retry policy of every kafkajs client. */
  retry: retryOptionsSchema.optional(),
  /** Most verbose kafkajs log level forwarded to `logger`. */
  logLevel: z
    .enum(['nothing', 'error', 'warn', 'info', 'debug'], { error: 'needs to be nothing, error, warn, info or debug' })
    .default('warn'),
  /** Receives the kafkajs logs (and the adapter's own); default: drops them. */
  logger: loggerSchema.default(() => noopLogger),
};

/** Connection settings shared by the transport, the topic administration and the schedule client. */
export const kafkaJsConnectionOptionsSchema = z.strictObject(connectionShape, {
  error: (i) => (i.code === 'unrecognized_keys' ? `unknown setting(s): ${i.keys.join(', ')}` : 'needs to be an object'),
});

/** Settings of {@link createKafkaJsTransport}: the connection plus the consumer and producer tuning. */
export const kafkaJsTransportOptionsSchema = z.strictObject(
  {
    ...connectionShape,
    /** Consumer group session timeout, ms: a member silent this long is removed from the group. */
    sessionTimeoutMs: positiveInt('≥ 1').min(1, 'needs to be an integer ≥ 1').default(30_000),
    /** How long the group waits for members to rejoin during a rebalance, ms. */
    rebalanceTimeoutMs: positiveInt('≥ 1').min(1, 'needs to be an integer ≥ 1').default(60_000),
    /**
     * Retry policy of the group consumer. When kafkajs runs out of retries (a broker down longer
     * than they last) the consumer crashes and rejoins as a *new* member, and the group then waits
     * up to `sessionTimeoutMs` for the old one before assigning partitions: dispatching pauses that
     * long. The default rides out about 80 s of outage and retries at least every 5 s, so the
     * member keeps its identity through a broker restart.
     */
    consumerRetry: retryOptionsSchema.default({ retries: 20, initialRetryTimeMs: 300, maxRetryTimeMs: 5000 }),
    /** Heartbeat interval, ms (also while a long `onBatch` runs). */
    heartbeatIntervalMs: positiveInt('≥ 1').min(1, 'needs to be an integer ≥ 1').default(3000),
    /**
     * Longest a fetch waits for new records, ms. Also bounds how late a paused partition (after an
     * assignment or a seek) resumes, so keep it short.
     */
    maxWaitTimeMs: positiveInt('≥ 0').min(0, 'needs to be an integer ≥ 0').default(500),
    /** Fetch size hint per partition, bytes (kafkajs `maxBytesPerPartition`): the upper bound of one batch. */
    fetchMaxBytesPerPartition: positiveInt('≥ 1').min(1, 'needs to be an integer ≥ 1').default(1_048_576),
    /** Fetch size hint per request, bytes (kafkajs `maxBytes`). */
    fetchMaxBytes: positiveInt('≥ 1').min(1, 'needs to be an integer ≥ 1').default(10_485_760),
    /** Partitions whose `onBatch` may run at the same time (batches of one partition are always serialised). */
    partitionsConsumedConcurrently: positiveInt('≥ 1').min(1, 'needs to be an integer ≥ 1').default(1),
    /**
     * How many times in a row a batch whose `onBatch` rejected is delivered again (after a
     * backoff) before the partition stops until its next seek.
     */
    maxBatchRetries: positiveInt('≥ 0').min(0, 'needs to be an integer ≥ 0').default(3),
    /** Transaction timeout of transactional producers, ms. */
    transactionTimeoutMs: positiveInt('≥ 1').min(1, 'needs to be an integer ≥ 1').default(60_000),
    /**
     * A partition idle this long below the fetched high watermark has its end offset checked (an
     * open transaction stops the read-committed end there), ms; then rechecked with backoff.
     */
    eofCheckDelayMs: positiveInt('≥ 1').min(1, 'needs to be an integer ≥ 1').default(200),
  },
  { error: (i) => (i.code === 'unrecognized_keys' ? `unknown setting(s): ${i.keys.join(', ')}` : 'needs to be an object') },
);

/** Connection settings as given. */
export type KafkaJsConnectionOptions = z.input<typeof kafkaJsConnectionOptionsSchema>;
/** Connection settings with defaults applied. */
export type ResolvedKafkaJsConnectionOptions = z.output<typeof kafkaJsConnectionOptionsSchema>;
/** Transport settings as given (defaults optional). */
export type KafkaJsTransportOptions = z.input<typeof kafkaJsTransportOptionsSchema>;
/** Transport settings with defaults applied. */
export type ResolvedKafkaJsTransportOptions = z.output<typeof kafkaJsTransportOptionsSchema>;

function toViolations(error: z.ZodError, root: string): Violation[] {
  return error.issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    return {
      field: path.length > 0 ? (root ? `${root}.${path}` : path) : root || '(options)',
      rule: issue.code,
      message: issue.message,
    };
  });
}

function parse<T>(schema: z.ZodType<T>, input: unknown, root: string): T {
  const result = schema.safeParse(input);
  if (!result.success) throw new ConfigError(toViolations(result.error, root));
  return result.data;
}

/**
 * Validates transport settings and fills in defaults.
 *
 * @throws ConfigError (`KSM_CONFIG`) naming each bad setting, e.g. `brokers: needs at least one broker (host:port)`.
 */
export function parseKafkaJsTransportOptions(input: KafkaJsTransportOptions): ResolvedKafkaJsTransportOptions {
  return parse(kafkaJsTransportOptionsSchema, input, '');
}

/**
 * Validates connection settings and fills in defaults.
 *
 * @throws ConfigError (`KSM_CONFIG`) naming each bad setting.
 */
export function parseKafkaJsConnectionOptions(input: KafkaJsConnectionOptions): ResolvedKafkaJsConnectionOptions {
  return parse(kafkaJsConnectionOptionsSchema, input, '');
}
