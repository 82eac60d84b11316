/**
 * librdkafka configuration objects built from the adapter's resolved options, and the forwarding
 * of librdkafka's log and error events to the ksched `Logger` port.
 *
 * @module
 */
import { ConfigError } from '@ksched/core';
import type { Logger } from '@ksched/core';
import type { ResolvedRdKafkaConnectionOptions, ResolvedRdKafkaTransportOptions } from '../options.js';

/** A librdkafka configuration: property → value (node-rdkafka also takes callbacks here). */
export type RdKafkaConfig = Record<string, string | number | boolean | ((...args: never[]) => unknown)>;

/** syslog severities librdkafka logs with, by the adapter's `logLevel`. */
const LOG_LEVELS = { nothing: 0, error: 3, warn: 4, info: 6, debug: 7 } as const;

function securityConfig(o: ResolvedRdKafkaConnectionOptions): RdKafkaConfig {
  const tls = o.ssl !== undefined && o.ssl !== false;
  const config: RdKafkaConfig = {};
  if (o.sasl !== undefined) {
    config['security.protocol'] = tls ? 'sasl_ssl' : 'sasl_plaintext';
    config['sasl.mechanisms'] = o.sasl.mechanism.toUpperCase();
    config['sasl.username'] = o.sasl.username;
    config['sasl.password'] = o.sasl.password;
  } else if (tls) {
    config['security.protocol'] = 'ssl';
  }
  if (typeof o.ssl === 'object') {
    const { ca, cert, key, passphrase, rejectUnauthorized } = o.ssl;
    if (ca !== undefined) config['ssl.ca.pem'] = Array.isArray(ca) ? ca.join('\n') : ca;
    if (cert !== undefined) config['ssl.certificate.pem'] = cert;
    if (key !== undefined) config['ssl.key.pem'] = key;
    if (passphrase !== undefined) config['ssl.key.password'] = passphrase;
    if (rejectUnauthorized !== undefined) config['enable.ssl.certificate.verification'] = rejectUnauthorized;
  }
  return config;
}

/**
 * Longest pause between reconnection attempts to a broker, ms (librdkafka's default: 10 s). After
 * a broker restart the next attempt came up to that long after the broker was back (dispatch
 * paused 6.3 s in a chaos run); 1 s keeps the pause short. The `librdkafka` pass-through overrides it.
 */
export const RECONNECT_BACKOFF_MAX_MS = 1000;

/** Properties every client gets: brokers, identity, timeouts, reconnection, security, logging. */
export function commonConfig(o: ResolvedRdKafkaConnectionOptions): RdKafkaConfig {
  return {
    'reconnect.backoff.max.ms': RECONNECT_BACKOFF_MAX_MS,
    ...o.librdkafka,
    'bootstrap.servers': o.brokers.join(','),
    'client.id': o.clientId,
    'socket.connection.setup.timeout.ms': o.connectionTimeoutMs,
    'socket.timeout.ms': o.requestTimeoutMs,
    log_level: LOG_LEVELS[o.logLevel],
    ...securityConfig(o),
  };
}

/** A client configuration: global properties, and the default topic properties. */
export interface ClientConfig {
  readonly global: RdKafkaConfig;
  /**
   * Topic-level properties. node-rdkafka replaces librdkafka's default topic configuration with
   * this object, so topic-level properties set among the global ones would be lost.
   */
  readonly topic: RdKafkaConfig;
}

/**
 * A producer: idempotent, acks = all, Java-compatible murmur2 partitioning of keyed records
 * (librdkafka's default `consistent_random` hashes with CRC32), delivery reports on.
 */
export function producerConfig(
  o: ResolvedRdKafkaTransportOptions | ResolvedRdKafkaConnectionOptions,
  transactionalId?: string,
): ClientConfig {
  const t = 'messageTimeoutMs' in o ? o : undefined;
  const global: RdKafkaConfig = {
    // Before the pass-through, so `librdkafka: { 'linger.ms': … }` still applies.
    ...(t !== undefined ? { 'linger.ms': t.lingerMs } : {}),
    ...commonConfig(o),
    'enable.idempotence': true,
    dr_cb: true,
  };
  const topic: RdKafkaConfig = {
    acks: 'all',
    partitioner: 'murmur2_random',
    'request.timeout.ms': o.requestTimeoutMs,
  };
  if (t !== undefined) topic['message.timeout.ms'] = t.messageTimeoutMs;
  if (transactionalId !== undefined) {
    const txnTimeout = t?.transactionTimeoutMs ?? 60_000;
    global['transactional.id'] = transactionalId;
    global['transaction.timeout.ms'] = txnTimeout;
    // librdkafka refuses InitProducerId with a socket timeout above the transaction timeout + 100 ms.
    global['socket.timeout.ms'] = Math.min(Number(global['socket.timeout.ms']), txnTimeout + 100);
    // librdkafka refuses a message timeout above the transaction timeout.
    topic['message.timeout.ms'] = Math.min(t?.messageTimeoutMs ?? txnTimeout, txnTimeout);
  }
  return { global, topic };
}

/**
 * A consumer-group member: read committed, no auto-commit, EOF events, the classic group protocol
 * with the eager assignors (`range,roundrobin`) unless `partitionAssignmentStrategy` asks for
 * another one (`cooperative-sticky`: the incremental rebalance protocol).
 */
export function consumerConfig(
  o: ResolvedRdKafkaTransportOptions,
  groupId: string,
  callbacks: { rebalance_cb: (err: unknown, assignment: unknown) => void; offset_commit_cb: (err: unknown, offsets: unknown) => void },
): RdKafkaConfig {
  return {
    ...commonConfig(o),
    'group.id': groupId,
    'group.protocol': 'classic',
    'partition.assignment.strategy': o.partitionAssignmentStrategy ?? 'range,roundrobin',
    ...(o.groupInstanceId !== undefined ? { 'group.instance.id': o.groupInstanceId } : {}),
    'isolation.level': 'read_committed',
    'enable.auto.commit': false,
    'enable.auto.offset.store': false,
    'enable.partition.eof': true,
    'allow.auto.create.topics': false,
    'session.timeout.ms': o.sessionTimeoutMs,
    'heartbeat.interval.ms': o.heartbeatIntervalMs,
    'max.poll.interval.ms': o.rebalanceTimeoutMs,
    'fetch.wait.max.ms': o.maxWaitTimeMs,
    'max.partition.fetch.bytes': o.fetchMaxBytesPerPartition,
    'fetch.max.bytes': o.fetchMaxBytes,
    rebalance_cb: callbacks.rebalance_cb,
    offset_commit_cb: callbacks.offset_commit_cb,
  };
}

/**
 * `reconnect.backoff.ms` of a reader (librdkafka's default: 100 ms). librdkafka also spaces its
 * cluster connections by half of it: when a new client's first metadata request goes to the
 * bootstrap connection just as librdkafka replaces that connection by the broker's own, the
 * request fails and is sent again only after that pause. That happened to every other reader
 * opened (measured: connect 2-6 ms or 53-57 ms, bimodal); with 20 ms, 2-22 ms. A reader is opened
 * for each page of the admin API's explorer.
 */
export const READER_RECONNECT_BACKOFF_MS = 20;

/**
 * How much a reader's librdkafka fetches ahead of the caller, KiB (`queued.max.messages.kbytes`;
 * librdkafka: 64 MiB, or 100,000 records), and how soon it fetches again once the caller took
 * records below that (`fetch.queue.backoff.ms`; librdkafka: 1 s). A reader opened for one page of
 * the admin API's explorer fetched ~50 MB behind its page, which the broker read and sent and
 * librdkafka then had to free when the reader closed, while the next page ran: with 8 MiB, pages
 * p50 40 ms against 64–71 ms and max 168–209 ms against 363–568 ms, closing a reader 15–19 ms
 * against 33–37 ms (p50), and reading 500,000 records 12.7–13.0 s against 16.1–17.7 s; a background
 * read of 200,000 records as before (3.4–4.0 s against 3.0–4.9 s; interleaved runs on a busy
 * machine, 2026-12-07).
 */
export const READER_QUEUE_KBYTES = 8192;
const READER_QUEUE_BACKOFF_MS = 10;

/**
 * A partition reader (`Transport.openReader`): a consumer that is given its partition with
 * `assign()` only, so it joins no group (librdkafka insists on a `group.id`: `groupId` is one of
 * its own that is never joined and never committed to), read committed, EOF events, no
 * auto-commit. librdkafka prefetches while the caller handles a batch. Fetches are
 * `fetchMaxBytesPerPartition` (1 MiB) like the group member's: until 2026-12-07 a reader asked
 * for 8 MiB, which made its first records (a page of the admin API's explorer) wait for a whole
 * 8 MiB response (first `read()` 38–43 ms against 21–27 ms, measured) and read a partition no
 * faster (a background read of 200,000 records: 3.9–5.5 s against 3.7–5.2 s, interleaved runs).
 */
export function readerConfig(o: ResolvedRdKafkaTransportOptions, groupId: string): RdKafkaConfig {
  return {
    // Before the pass-through, so `librdkafka: { … }` still sets them.
    'reconnect.backoff.ms': READER_RECONNECT_BACKOFF_MS,
    'queued.max.messages.kbytes': READER_QUEUE_KBYTES,
    'fetch.queue.backoff.ms': READER_QUEUE_BACKOFF_MS,
    ...commonConfig(o),
    'group.id': groupId,
    'isolation.level': 'read_committed',
    'enable.auto.commit': false,
    'enable.auto.offset.store': false,
    'enable.partition.eof': true,
    'allow.auto.create.topics': false,
    'fetch.wait.max.ms': o.maxWaitTimeMs,
    'max.partition.fetch.bytes': o.fetchMaxBytesPerPartition,
    'fetch.max.bytes': o.fetchMaxBytes,
  };
}

/** The default topic configuration of a consumer. */
export const consumerTopicConfig = Object.freeze({ 'auto.offset.reset': 'earliest' });

/** Creates a client, turning librdkafka's refusal of a property into a `ConfigError`. */
export function createClient<T>(what: string, create: () => T): T {
  try {
    return create();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new ConfigError([{ field: 'librdkafka', rule: 'invalid', message: `librdkafka refused the ${what} configuration: ${message}` }], {
      cause: error,
    });
  }
}

/**
 * Disconnects a librdkafka client, resolving when it is done or after `timeoutMs` at the latest,
 * never rejecting: a failure is passed to `onError` (closing must go on whatever happens).
 */
export function disconnectWithin(
  client: { disconnect(cb: () => void): unknown },
  timeoutMs: number,
  onError: (error: unknown) => void,
): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    timer.unref();
    try {
      client.disconnect(() => {
        clearTimeout(timer);
        resolve();
      });
    } catch (error) {
      clearTimeout(timer);
      onError(error);
      resolve();
    }
  });
}

interface LogEvent {
  readonly severity?: number;
  readonly fac?: string;
  readonly message?: string;
}

interface EventSource {
  on(event: 'event.log', listener: (event: LogEvent) => void): unknown;
  on(event: 'event.error', listener: (error: Error) => void): unknown;
}

/**
 * librdkafka log lines (severity error) saying that connecting cannot succeed by waiting: wrong
 * SASL credentials or a certificate the client does not trust. librdkafka reports these only as
 * log lines and keeps retrying, so `connect()` would otherwise fail after its whole timeout with
 * a vague "broker transport failure".
 */
const HOPELESS_CONNECT = /SASL authentication error|Authentication failed|SSL handshake failed|certificate verify failed/i;

interface ListenerHost extends EventSource {
  removeListener(event: 'event.log', listener: (event: LogEvent) => void): unknown;
}

/**
 * Calls `fail` with an `ERR__AUTHENTICATION` error (librdkafka's message, which never holds the
 * password) as soon as `client` logs that its connection attempt is hopeless (see above).
 * Returns the function that stops watching.
 */
export function failFastOnAuthentication(client: ListenerHost, fail: (error: Error) => void): () => void {
  const onLog = (event: LogEvent): void => {
    const message = event.message ?? '';
    if ((event.severity ?? 7) > 3 || !HOPELESS_CONNECT.test(message)) return;
    const error = Object.assign(new Error(message.replace(/^\[thrd:[^\]]*\]: /, '')), { code: -169 });
    fail(error);
  };
  client.on('event.log', onLog);
  return () => client.removeListener('event.log', onLog);
}

/** A node-rdkafka client's `connect` (consumer or producer). */
interface Connectable {
  connect(options: { timeout: number }, callback: (error: unknown) => void): unknown;
}

/**
 * Connects `client` within `timeoutMs`, rejecting with librdkafka's error, or at once with an
 * `ERR__AUTHENTICATION` error when it logs that the attempt is hopeless ({@link failFastOnAuthentication}).
 */
export function connectFailingFast(client: Connectable, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const unwatch = failFastOnAuthentication(client as never, (error) => {
      unwatch();
      reject(error);
    });
    client.connect({ timeout: timeoutMs }, (error) => {
      unwatch();
      if (error) reject(error);
      else resolve();
    });
  });
}

/**
 * Forwards librdkafka's log lines (at the severity `log_level` lets through) and client error
 * events (which librdkafka recovers from by itself: broker connections, timeouts) to `logger`.
 */
export function forwardEvents(client: EventSource, logger: Logger, role: string): void {
  client.on('event.log', (event) => {
    const severity = event.severity ?? 7;
    const fields = { rdkafka: role, facility: event.fac };
    const message = event.message ?? '';
    if (severity <= 3) logger.error(fields, message);
    else if (severity === 4) logger.warn(fields, message);
    else if (severity <= 6) logger.info(fields, message);
    else logger.debug(fields, message);
  });
  client.on('event.error', (error) => {
    logger.warn({ rdkafka: role, error }, `librdkafka ${role} error: ${error.message}`);
  });
}
