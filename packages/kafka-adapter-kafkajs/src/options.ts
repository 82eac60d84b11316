/**
 * Options of the kafkajs adapter: one zod schema for the connection (shared by the transport, the
 * topic administration and the schedule client) and one for the transport. Units are in the names.
 * This module states only kafkajs' own settings; the kit's `adapterOptionSchemas`
 * (`@ksched/core/adapter`) adds them to the shared connection settings and to
 * `transportSettingsShape`, which kafkajs takes as `sessionTimeout`, `rebalanceTimeout`,
 * `heartbeatInterval`, `maxWaitTimeInMs` and `maxBytesPerPartition`.
 *
 * @module
 */
import { z } from 'zod';
import { adapterOptionSchemas, integerAtLeast as atLeast, isPlainObject } from '@ksched/core/adapter';
import type { SASLOptions } from 'kafkajs';
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';

const saslSchema = z.custom<SASLOptions>((value) => isPlainObject(value) && typeof value['mechanism'] === 'string', {
  error: 'needs to be a kafkajs SASL object with a mechanism (plain, scram-sha-256, scram-sha-512, aws, oauthbearer)',
});

const sslSchema = z.union([z.boolean(), z.custom<TlsConnectionOptions>((value) => isPlainObject(value))], {
  error: 'needs to be a boolean or a tls.connect() options object',
});

/** Retry policy of the kafkajs clients (kafkajs `retry`). */
export const retryOptionsSchema = z.strictObject({
  /** Retries of one operation before it fails. */
  retries: atLeast(0).default(5),
  /** First backoff, ms. */
  initialRetryTimeMs: atLeast(1).default(300),
  /** Longest backoff, ms. */
  maxRetryTimeMs: atLeast(1).default(30_000),
});

/**
 * The connection settings (shared by the transport, the topic administration and the schedule
 * client: the kit's, with kafkajs' own TLS, SASL, timeout and retry settings) and the transport
 * settings (those plus the kit's `transportSettingsShape` and kafkajs' consumer and producer
 * tuning), with their parse functions, which throw a `ConfigError` naming each bad setting.
 */
export const {
  connection: kafkaJsConnectionOptionsSchema,
  transport: kafkaJsTransportOptionsSchema,
  parseConnection: parseKafkaJsConnectionOptions,
  parseTransport: parseKafkaJsTransportOptions,
} = adapterOptionSchemas({
  connection: {
    /** TLS: `true`, or `tls.connect()` options; passed to kafkajs as-is. */
    ssl: sslSchema.optional().describe('connect with TLS: true, or tls.connect() options (passed to kafkajs as-is)'),
    /** SASL authentication, passed to kafkajs as-is (also aws and oauthbearer). */
    sasl: saslSchema.optional().describe('SASL authentication, passed to kafkajs as-is'),
    /** TCP connect timeout, ms. */
    connectionTimeoutMs: atLeast(1).default(3000).describe('TCP connect timeout'),
    /** Retry policy of every kafkajs client. */
    retry: retryOptionsSchema.optional(),
  },
  transport: {
    /**
     * Retry policy of the group consumer. When kafkajs runs out of retries (a broker down longer
     * than they last), or on errors it never retries, the consumer crashes and kafkajs restarts it;
     * the adapter's kafkajs copy restarts it within 1 s and with the same member id, so the group
     * assigns its partitions again at once. The default rides out about 80 s of outage and retries
     * at least every second, so that a rejoin after a broker restart (kafkajs retries "not the
     * coordinator" with this policy) follows within a second of the coordinator being back.
     */
    consumerRetry: retryOptionsSchema.default({ retries: 80, initialRetryTimeMs: 300, maxRetryTimeMs: 1000 }),
    /** Fetch size hint per request, bytes (kafkajs `maxBytes`). */
    fetchMaxBytes: atLeast(1).default(10_485_760),
    /** Partitions whose `onBatch` may run at the same time (batches of one partition are always serialised). */
    partitionsConsumedConcurrently: atLeast(1).default(1),
    /** Transaction timeout of transactional producers, ms. */
    transactionTimeoutMs: atLeast(1).default(60_000),
    /**
     * A partition idle this long below the fetched high watermark has its end offset checked (an
     * open transaction stops the read-committed end there), ms; then rechecked with backoff.
     */
    eofCheckDelayMs: atLeast(1).default(200),
  },
});

/** Connection settings as given. */
export type KafkaJsConnectionOptions = z.input<typeof kafkaJsConnectionOptionsSchema>;
/** Connection settings with defaults applied. */
export type ResolvedKafkaJsConnectionOptions = z.output<typeof kafkaJsConnectionOptionsSchema>;
/** Settings of `createKafkaJsTransport` as given (defaults optional). */
export type KafkaJsTransportOptions = z.input<typeof kafkaJsTransportOptionsSchema>;
/** Transport settings with defaults applied. */
export type ResolvedKafkaJsTransportOptions = z.output<typeof kafkaJsTransportOptionsSchema>;
