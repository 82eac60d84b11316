/**
 * Options of the node-rdkafka adapter: one zod schema for the connection (shared by the transport,
 * the topic administration and the schedule client) and one for the transport. Units are in the
 * names. This module states only librdkafka's own settings; the kit's `adapterOptionSchemas`
 * (`@ksched/core/adapter`) adds them to the shared connection settings and to
 * `transportSettingsShape`, which set librdkafka's `session.timeout.ms`, `max.poll.interval.ms`
 * (librdkafka sends it as the rebalance timeout), `heartbeat.interval.ms` (heartbeats come from
 * librdkafka's own thread), `fetch.wait.max.ms` and `max.partition.fetch.bytes`.
 *
 * @module
 */
import { z } from 'zod';
import { adapterOptionSchemas, integerAtLeast as atLeast, saslOptionsSchema, tlsOptionsSchema } from '@ksched/core/adapter';

/** TLS settings, mapped to librdkafka's `ssl.*` properties (`ssl.ca.pem`, `ssl.certificate.pem`, `ssl.key.pem`, `ssl.key.password`, `enable.ssl.certificate.verification`). */
export const sslOptionsSchema = tlsOptionsSchema;

/** SASL settings, mapped to librdkafka's `sasl.*` properties (other mechanisms: `sasl.*` through `librdkafka`). */
export { saslOptionsSchema };

const librdkafkaSchema = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]), {
  error: 'needs to be an object of librdkafka properties (string, number or boolean values)',
});

/**
 * The connection settings (shared by the transport, the topic administration and the schedule
 * client: the kit's, with librdkafka's timeouts and pass-through properties) and the transport
 * settings (those plus the kit's `transportSettingsShape` and librdkafka's consumer and producer
 * tuning), with their parse functions, which throw a `ConfigError` naming each bad setting.
 */
export const {
  connection: rdKafkaConnectionOptionsSchema,
  transport: rdKafkaTransportOptionsSchema,
  parseConnection: parseRdKafkaConnectionOptions,
  parseTransport: parseRdKafkaTransportOptions,
} = adapterOptionSchemas({
  connection: {
    /** TCP + TLS/SASL connection set-up timeout, ms (`socket.connection.setup.timeout.ms`); also bounds `connect()`. */
    connectionTimeoutMs: atLeast(1000).default(10_000).describe('TCP + TLS/SASL connection set-up timeout'),
    /**
     * Timeout of one request, ms (`socket.timeout.ms`, producer `request.timeout.ms`); also the
     * timeout of metadata, watermark, seek and admin calls.
     */
    requestTimeoutMs: atLeast(10).default(30_000).describe('timeout of one Kafka request (and of metadata and admin calls)'),
    /**
     * Extra librdkafka global properties for every client the adapter creates (e.g. `sasl.*` for
     * OAUTHBEARER, `statistics.interval.ms`). Applied before the adapter's own, so the properties its
     * guarantees rest on (`isolation.level`, `enable.auto.commit`, `enable.idempotence`, `acks`,
     * `partitioner`, `enable.partition.eof`) cannot be overridden.
     */
    librdkafka: librdkafkaSchema.default(() => ({})),
  },
  transport: {
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
     * Static group membership (KIP-345, librdkafka `group.instance.id`): a stable name of this
     * member, unique in the group (a StatefulSet pod name, a host name). A member restarted with
     * the same id takes its partitions back at once, without a rebalance, instead of waiting for
     * its dead predecessor's session to expire. The other side: a static member does not leave
     * the group when it stops, so its partitions move to other members only after
     * `sessionTimeoutMs` (use it for restarts in place, not to scale down).
     */
    groupInstanceId: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,249}$/, { error: 'needs to be 1 to 249 characters of letters, digits, ".", "_" or "-"' })
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
});

/** Connection settings as given. */
export type RdKafkaConnectionOptions = z.input<typeof rdKafkaConnectionOptionsSchema>;
/** Connection settings with defaults applied. */
export type ResolvedRdKafkaConnectionOptions = z.output<typeof rdKafkaConnectionOptionsSchema>;
/** Settings of `createRdKafkaTransport` as given (defaults optional). */
export type RdKafkaTransportOptions = z.input<typeof rdKafkaTransportOptionsSchema>;
/** Transport settings with defaults applied. */
export type ResolvedRdKafkaTransportOptions = z.output<typeof rdKafkaTransportOptionsSchema>;
