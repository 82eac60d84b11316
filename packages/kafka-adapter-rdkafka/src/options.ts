/**
 * Options of the node-rdkafka adapter: one zod schema for the connection (shared by the transport,
 * the topic administration and the schedule client) and one for the transport. Units are in the
 * names. Where a setting means the same as in `@ksched/kafka-adapter-kafkajs` it has the same name.
 *
 * @module
 */
import { z } from 'zod';
import { ConfigError, noopLogger } from '@ksched/core';
import type { Logger, Violation } from '@ksched/core';

const int = (what: string) => z.number({ error: `needs to be an integer ${what}` }).int(`needs to be an integer ${what}`);
const atLeast = (min: number) => int(`≥ ${min}`).min(min, `needs to be an integer ≥ ${min}`);

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

const loggerSchema = z.custom<Logger>(
  (value) => isObject(value) && ['debug', 'info', 'warn', 'error'].every((m) => typeof value[m] === 'function'),
  { error: 'needs to be a logger with debug, info, warn and error methods' },
);

const brokersSchema = z
  .union([z.string(), z.array(z.string({ error: 'needs to be host:port strings' }))], {
    error: 'needs to be a list of host:port strings (or one comma-separated string)',
  })
  .transform((value) => (typeof value === 'string' ? value.split(',') : value).map((b) => b.trim()).filter((b) => b.length > 0))
  .pipe(z.array(z.string().regex(/^[^\s:,]+:\d+$/, 'each broker needs to be host:port')).min(1, 'needs at least one broker (host:port)'));

const pem = z.string({ error: 'needs to be a PEM string' }).min(1, 'must not be empty');

/** TLS settings, mapped to librdkafka's `ssl.*` properties. */
export const sslOptionsSchema = z.strictObject(
  {
    /** CA certificate(s), PEM (`ssl.ca.pem`). Default: the system's CA store. */
    ca: z.union([pem, z.array(pem)]).optional(),
    /** Client certificate, PEM (`ssl.certificate.pem`). */
    cert: pem.optional(),
    /** Client private key, PEM (`ssl.key.pem`). */
    key: pem.optional(),
    /** Password of `key` (`ssl.key.password`). */
    passphrase: z.string().optional(),
    /** Verify the broker's certificate (`enable.ssl.certificate.verification`). Default true. */
    rejectUnauthorized: z.boolean({ error: 'needs to be a boolean' }).optional(),
  },
  {
    error: (i) =>
      i.code === 'unrecognized_keys' ? `unknown TLS setting(s): ${i.keys.join(', ')}` : 'needs to be a boolean or a TLS settings object',
  },
);

/** SASL settings, mapped to librdkafka's `sasl.*` properties. */
export const saslOptionsSchema = z.strictObject(
  {
    mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512'], { error: 'needs to be plain, scram-sha-256 or scram-sha-512' }),
    username: z.string({ error: 'needs to be a string' }).min(1, 'must not be empty'),
    password: z.string({ error: 'needs to be a string' }),
  },
  {
    error: (i) =>
      i.code === 'unrecognized_keys'
        ? `unknown SASL setting(s): ${i.keys.join(', ')} (other mechanisms: pass sasl.* through \`librdkafka\`)`
        : 'needs to be { mechanism, username, password }',
  },
);

const librdkafkaSchema = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]), {
  error: 'needs to be an object of librdkafka properties (string, number or boolean values)',
});

const connectionShape = {
  /** Bootstrap brokers, `host:port` (a list, or one comma-separated string). */
  brokers: brokersSchema,
  /** Client id sent to the brokers (logs, quotas). */
  clientId: z.string({ error: 'needs to be a string' }).min(1, 'must not be empty').default('ksched'),
  /** TLS: `true` (system CAs), or certificates. */
  ssl: z.union([z.boolean(), sslOptionsSchema], { error: 'needs to be a boolean or a TLS settings object' }).optional(),
  /** SASL authentication (PLAIN or SCRAM). */
  sasl: saslOptionsSchema.optional(),
  /** TCP + TLS/SASL connection set-up timeout, ms (`socket.connection.setup.timeout.ms`); also bounds `connect()`. */
  connectionTimeoutMs: atLeast(1000).default(10_000),
  /**
   * Timeout of one request, ms (`socket.timeout.ms`, producer `request.timeout.ms`); also the
   * timeout of metadata, watermark, seek and admin calls.
   */
  requestTimeoutMs: atLeast(10).default(30_000),
  /** Most verbose librdkafka log level forwarded to `logger`. */
  logLevel: z
    .enum(['nothing', 'error', 'warn', 'info', 'debug'], { error: 'needs to be nothing, error, warn, info or debug' })
    .default('warn'),
  /** Receives the librdkafka logs (and the adapter's own); default: drops them. */
  logger: loggerSchema.default(() => noopLogger),
  /**
   * Extra librdkafka global properties for every client the adapter creates (e.g. `sasl.*` for
   * OAUTHBEARER, `statistics.interval.ms`). Applied before the adapter's own, so the properties its
   * guarantees rest on (`isolation.level`, `enable.auto.commit`, `enable.idempotence`, `acks`,
   * `partitioner`, `enable.partition.eof`) cannot be overridden.
   */
  librdkafka: librdkafkaSchema.default(() => ({})),
};

const unknownKeys = (what: string) => (i: { code: string; keys?: string[] }) =>
  i.code === 'unrecognized_keys' ? `unknown setting(s): ${(i.keys ?? []).join(', ')}` : `needs to be ${what}`;

/** Connection settings shared by the transport, the topic administration and the schedule client. */
export const rdKafkaConnectionOptionsSchema = z.strictObject(connectionShape, { error: unknownKeys('an object') });

/** Settings of {@link createRdKafkaTransport}: the connection plus the consumer and producer tuning. */
export const rdKafkaTransportOptionsSchema = z.strictObject(
  {
    ...connectionShape,
    /** Consumer group session timeout, ms (`session.timeout.ms`): a member silent this long is removed from the group. */
    sessionTimeoutMs: atLeast(1).default(30_000),
    /**
     * How long the group waits for members to rejoin during a rebalance, ms (librdkafka sends
     * `max.poll.interval.ms` as the rebalance timeout). Also bounds how long `onRevoked` may take.
     */
    rebalanceTimeoutMs: atLeast(1).default(60_000),
    /** Heartbeat interval, ms (`heartbeat.interval.ms`); librdkafka heartbeats from its own thread, also during a long `onBatch`. */
    heartbeatIntervalMs: atLeast(1).default(3000),
    /** Longest a fetch waits on the broker for new records, ms (`fetch.wait.max.ms`). */
    maxWaitTimeMs: atLeast(0).default(500),
    /** Fetch size hint per partition, bytes (`max.partition.fetch.bytes`). */
    fetchMaxBytesPerPartition: atLeast(1).default(1_048_576),
    /** Fetch size hint per request, bytes (`fetch.max.bytes`). */
    fetchMaxBytes: atLeast(1).default(52_428_800),
    /** Transaction timeout of transactional producers, ms (`transaction.timeout.ms`). */
    transactionTimeoutMs: atLeast(1000).default(60_000),
    /**
     * Longest a produced record may wait for its acknowledgement (retries included), ms
     * (`message.timeout.ms`); `produce()` rejects after it. Lowered to `transactionTimeoutMs` for
     * transactional producers.
     */
    messageTimeoutMs: atLeast(1).default(60_000),
    /** Most records one `consume` call of the poll loop takes from librdkafka (the upper bound of one batch). */
    consumeBatchSize: atLeast(1).default(500),
    /**
     * How long one `consume` call waits for records, ms. Bounds how soon the poll loop notices a
     * pending seek or `close()`; each waiting call holds one libuv thread-pool thread.
     */
    consumeTimeoutMs: atLeast(1).default(100),
    /**
     * A partition with this many records waiting for its (busy) `onBatch` is paused until they are
     * delivered, so a slow listener does not make the adapter buffer without bound.
     */
    maxQueuedRecordsPerPartition: atLeast(1).default(2000),
    /**
     * How long a producer waits for more records before sending a request, ms (librdkafka
     * `linger.ms`; librdkafka's default is 5). While `produce()` calls wait for acknowledgements
     * the adapter keeps a librdkafka flush running, which sends at once what linger would hold
     * back; linger still bounds the wait when that flush is queued behind a busy libuv thread
     * pool, and groups the records handed over before the flush starts. 0 sends the first record
     * of every call alone. A `linger.ms` given in `librdkafka` wins.
     */
    lingerMs: atLeast(0).max(900_000, 'needs to be an integer ≤ 900000').default(1),
    /**
     * How often a producer with records in flight is also polled for delivery reports, ms (a
     * backstop: reports normally arrive as they come, through the flush above), and the pause
     * before that flush is run again after it waited 100 ms in vain (slow or unreachable broker).
     */
    pollIntervalMs: atLeast(1).default(5),
    /** Redeliveries of a batch whose `onBatch` rejected before the partition is stopped until its next seek. */
    maxBatchRetries: atLeast(0).default(3),
    /**
     * librdkafka `partition.assignment.strategy` of the group member. Unset: `range,roundrobin`
     * (the classic *eager* protocol: every rebalance revokes every partition, then assigns the new
     * set). `cooperative-sticky` selects the *incremental* protocol: a rebalance revokes only the
     * partitions that move to another member; the others keep delivering without `onRevoked` /
     * `onAssigned`. Every member of a group must use the same protocol.
     */
    partitionAssignmentStrategy: z
      .enum(['range', 'roundrobin', 'cooperative-sticky'], { error: 'needs to be range, roundrobin or cooperative-sticky' })
      .optional(),
    /**
     * Most records one `read()` of a partition reader (`openReader`) returns: the reader takes
     * this many records from librdkafka in one `consume` call (and the next while the caller
     * handles them). Measured: 500 reads as fast as a raw node-rdkafka consumer; 2,000 and
     * 10,000 cost 30–70 % more CPU (node-rdkafka converts a whole batch at once, so its records
     * outlive V8's young generation).
     */
    readerBatchSize: atLeast(1).default(500),
  },
  { error: unknownKeys('an object') },
);

/** Connection settings as given. */
export type RdKafkaConnectionOptions = z.input<typeof rdKafkaConnectionOptionsSchema>;
/** Connection settings with defaults applied. */
export type ResolvedRdKafkaConnectionOptions = z.output<typeof rdKafkaConnectionOptionsSchema>;
/** Transport settings as given (defaults optional). */
export type RdKafkaTransportOptions = z.input<typeof rdKafkaTransportOptionsSchema>;
/** Transport settings with defaults applied. */
export type ResolvedRdKafkaTransportOptions = z.output<typeof rdKafkaTransportOptionsSchema>;

function toViolations(error: z.ZodError): Violation[] {
  return error.issues.map((issue) => ({
    field: issue.path.length > 0 ? issue.path.map(String).join('.') : '(options)',
    rule: issue.code,
    message: issue.message,
  }));
}

function parse<T>(schema: z.ZodType<T>, input: unknown): T {
  const result = schema.safeParse(input);
  if (!result.success) throw new ConfigError(toViolations(result.error));
  return result.data;
}

/**
 * Validates transport settings and fills in defaults.
 *
 * @throws ConfigError (`KSM_CONFIG`) naming each bad setting, e.g. `brokers: needs at least one broker (host:port)`.
 *
 * @example
 * ```ts
 * const options = parseRdKafkaTransportOptions({ brokers: '127.0.0.1:19092' });
 * options.consumeBatchSize; // 500
 * ```
 */
export function parseRdKafkaTransportOptions(input: RdKafkaTransportOptions): ResolvedRdKafkaTransportOptions {
  return parse(rdKafkaTransportOptionsSchema, input);
}

/**
 * Validates connection settings and fills in defaults.
 *
 * @throws ConfigError (`KSM_CONFIG`) naming each bad setting.
 */
export function parseRdKafkaConnectionOptions(input: RdKafkaConnectionOptions): ResolvedRdKafkaConnectionOptions {
  return parse(rdKafkaConnectionOptionsSchema, input);
}
