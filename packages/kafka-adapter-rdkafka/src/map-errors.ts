/**
 * librdkafka errors → ksched errors. Every client call of the adapter goes through
 * {@link toTransportError}, so callers only ever see `SchedulerError`s with stable codes: a
 * `FencedError` (`KSM_FENCED`) when a transactional producer was fenced, else a `TransportError`
 * (`KSM_TRANSPORT`) whose `retriable` says whether trying again may help.
 *
 * @module
 */
import { FencedError } from '@ksched/core';
import { createErrorMapper, isErrorLike, someCause } from '@ksched/core/adapter';

/** The fields node-rdkafka's `LibrdKafkaError` carries. */
export interface RdKafkaErrorLike {
  readonly message: string;
  /** librdkafka error code: negative for local errors (`ERR__*`), ≥ 0 for Kafka protocol errors. */
  readonly code?: unknown;
  readonly origin?: unknown;
  /** Set by librdkafka's transactional API and for fatal errors. */
  readonly isFatal?: unknown;
  readonly isRetriable?: unknown;
  readonly isTxnRequiresAbort?: unknown;
}

/**
 * The librdkafka error codes the adapter refers to by name (from librdkafka's `rdkafka.h`, the
 * same numbers as node-rdkafka's `CODES.ERRORS`).
 */
export const RdKafkaErrorCode = Object.freeze({
  ERR__BAD_MSG: -199,
  ERR__DESTROY: -197,
  ERR__FAIL: -196,
  ERR__TRANSPORT: -195,
  ERR__RESOLVE: -193,
  ERR__MSG_TIMED_OUT: -192,
  ERR__PARTITION_EOF: -191,
  ERR__UNKNOWN_PARTITION: -190,
  ERR__UNKNOWN_TOPIC: -188,
  ERR__ALL_BROKERS_DOWN: -187,
  ERR__INVALID_ARG: -186,
  ERR__TIMED_OUT: -185,
  ERR__QUEUE_FULL: -184,
  ERR__ISR_INSUFF: -183,
  ERR__NODE_UPDATE: -182,
  ERR__WAIT_COORD: -180,
  ERR__IN_PROGRESS: -178,
  ERR__PREV_IN_PROGRESS: -177,
  ERR__ASSIGN_PARTITIONS: -175,
  ERR__REVOKE_PARTITIONS: -174,
  ERR__STATE: -172,
  ERR__NOT_IMPLEMENTED: -170,
  ERR__AUTHENTICATION: -169,
  ERR__TIMED_OUT_QUEUE: -166,
  ERR__RETRY: -153,
  ERR__PURGE_QUEUE: -152,
  ERR__PURGE_INFLIGHT: -151,
  ERR__FATAL: -150,
  ERR__MAX_POLL_EXCEEDED: -147,
  ERR__FENCED: -144,
  ERR__ASSIGNMENT_LOST: -142,
  ERR_UNKNOWN: -1,
  ERR_OFFSET_OUT_OF_RANGE: 1,
  ERR_CORRUPT_MESSAGE: 2,
  ERR_UNKNOWN_TOPIC_OR_PART: 3,
  ERR_LEADER_NOT_AVAILABLE: 5,
  ERR_NOT_LEADER_FOR_PARTITION: 6,
  ERR_REQUEST_TIMED_OUT: 7,
  ERR_NETWORK_EXCEPTION: 13,
  ERR_COORDINATOR_LOAD_IN_PROGRESS: 14,
  ERR_COORDINATOR_NOT_AVAILABLE: 15,
  ERR_NOT_COORDINATOR: 16,
  ERR_TOPIC_EXCEPTION: 17,
  ERR_NOT_ENOUGH_REPLICAS: 19,
  ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND: 20,
  ERR_REBALANCE_IN_PROGRESS: 27,
  ERR_TOPIC_AUTHORIZATION_FAILED: 29,
  ERR_TOPIC_ALREADY_EXISTS: 36,
  ERR_NOT_CONTROLLER: 41,
  ERR_INVALID_PRODUCER_EPOCH: 47,
  ERR_INVALID_TXN_STATE: 48,
  ERR_CONCURRENT_TRANSACTIONS: 51,
  ERR_TRANSACTION_COORDINATOR_FENCED: 52,
  ERR_KAFKA_STORAGE_ERROR: 56,
  ERR_FETCH_SESSION_ID_NOT_FOUND: 70,
  ERR_INVALID_FETCH_SESSION_EPOCH: 71,
  ERR_LISTENER_NOT_FOUND: 72,
  ERR_FENCED_LEADER_EPOCH: 74,
  ERR_UNKNOWN_LEADER_EPOCH: 75,
  ERR_OFFSET_NOT_AVAILABLE: 78,
  ERR_PREFERRED_LEADER_NOT_AVAILABLE: 80,
  ERR_UNSTABLE_OFFSET_COMMIT: 88,
  ERR_THROTTLING_QUOTA_EXCEEDED: 89,
  ERR_PRODUCER_FENCED: 90,
} as const);

const NAMES: ReadonlyMap<number, string> = new Map(Object.entries(RdKafkaErrorCode).map(([name, code]) => [code, name]));

/**
 * librdkafka's description (`rd_kafka_err2str`, librdkafka 2.12) of each named code. node-rdkafka
 * reports delivery-report errors as text only (its error object then has code -1, the message
 * lower-cased and without the `Local: `/`Broker: ` prefix), so the code is recovered from the text.
 */
const DESCRIPTIONS: readonly (readonly [number, string])[] = [
  [RdKafkaErrorCode.ERR__BAD_MSG, 'Local: Bad message format'],
  [RdKafkaErrorCode.ERR__DESTROY, 'Local: Broker handle destroyed for termination'],
  [RdKafkaErrorCode.ERR__FAIL, 'Local: Communication failure with broker'],
  [RdKafkaErrorCode.ERR__TRANSPORT, 'Local: Broker transport failure'],
  [RdKafkaErrorCode.ERR__RESOLVE, 'Local: Host resolution failure'],
  [RdKafkaErrorCode.ERR__MSG_TIMED_OUT, 'Local: Message timed out'],
  [RdKafkaErrorCode.ERR__UNKNOWN_PARTITION, 'Local: Unknown partition'],
  [RdKafkaErrorCode.ERR__UNKNOWN_TOPIC, 'Local: Unknown topic'],
  [RdKafkaErrorCode.ERR__ALL_BROKERS_DOWN, 'Local: All broker connections are down'],
  [RdKafkaErrorCode.ERR__INVALID_ARG, 'Local: Invalid argument or configuration'],
  [RdKafkaErrorCode.ERR__TIMED_OUT, 'Local: Timed out'],
  [RdKafkaErrorCode.ERR__QUEUE_FULL, 'Local: Queue full'],
  [RdKafkaErrorCode.ERR__ISR_INSUFF, 'Local: ISR count insufficient'],
  [RdKafkaErrorCode.ERR__NODE_UPDATE, 'Local: Broker node update'],
  [RdKafkaErrorCode.ERR__WAIT_COORD, 'Local: Waiting for coordinator'],
  [RdKafkaErrorCode.ERR__IN_PROGRESS, 'Local: Operation in progress'],
  [RdKafkaErrorCode.ERR__PREV_IN_PROGRESS, 'Local: Previous operation in progress'],
  [RdKafkaErrorCode.ERR__STATE, 'Local: Erroneous state'],
  [RdKafkaErrorCode.ERR__NOT_IMPLEMENTED, 'Local: Not implemented'],
  [RdKafkaErrorCode.ERR__AUTHENTICATION, 'Local: Authentication failure'],
  [RdKafkaErrorCode.ERR__TIMED_OUT_QUEUE, 'Local: Timed out in queue'],
  [RdKafkaErrorCode.ERR__RETRY, 'Local: Retry operation'],
  [RdKafkaErrorCode.ERR__PURGE_QUEUE, 'Local: Purged in queue'],
  [RdKafkaErrorCode.ERR__PURGE_INFLIGHT, 'Local: Purged in flight'],
  [RdKafkaErrorCode.ERR__FATAL, 'Local: Fatal error'],
  [RdKafkaErrorCode.ERR__MAX_POLL_EXCEEDED, 'Local: Maximum application poll interval (max.poll.interval.ms) exceeded'],
  [RdKafkaErrorCode.ERR__FENCED, 'Local: This instance has been fenced by a newer instance'],
  [RdKafkaErrorCode.ERR__ASSIGNMENT_LOST, 'Local: Group partition assignment lost'],
  [RdKafkaErrorCode.ERR_OFFSET_OUT_OF_RANGE, 'Broker: Offset out of range'],
  [RdKafkaErrorCode.ERR_UNKNOWN_TOPIC_OR_PART, 'Broker: Unknown topic or partition'],
  [RdKafkaErrorCode.ERR_LEADER_NOT_AVAILABLE, 'Broker: Leader not available'],
  [RdKafkaErrorCode.ERR_NOT_LEADER_FOR_PARTITION, 'Broker: Not leader for partition'],
  [RdKafkaErrorCode.ERR_REQUEST_TIMED_OUT, 'Broker: Request timed out'],
  [RdKafkaErrorCode.ERR_NETWORK_EXCEPTION, 'Broker: Broker disconnected before response received'],
  [RdKafkaErrorCode.ERR_COORDINATOR_LOAD_IN_PROGRESS, 'Broker: Coordinator load in progress'],
  [RdKafkaErrorCode.ERR_COORDINATOR_NOT_AVAILABLE, 'Broker: Coordinator not available'],
  [RdKafkaErrorCode.ERR_NOT_COORDINATOR, 'Broker: Not coordinator'],
  [RdKafkaErrorCode.ERR_TOPIC_EXCEPTION, 'Broker: Invalid topic'],
  [RdKafkaErrorCode.ERR_NOT_ENOUGH_REPLICAS, 'Broker: Not enough in-sync replicas'],
  [RdKafkaErrorCode.ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND, 'Broker: Message(s) written to insufficient number of in-sync replicas'],
  [RdKafkaErrorCode.ERR_REBALANCE_IN_PROGRESS, 'Broker: Group rebalance in progress'],
  [RdKafkaErrorCode.ERR_TOPIC_AUTHORIZATION_FAILED, 'Broker: Topic authorization failed'],
  [RdKafkaErrorCode.ERR_TOPIC_ALREADY_EXISTS, 'Broker: Topic already exists'],
  [RdKafkaErrorCode.ERR_NOT_CONTROLLER, 'Broker: Not controller for cluster'],
  [RdKafkaErrorCode.ERR_INVALID_PRODUCER_EPOCH, 'Broker: Producer attempted an operation with an old epoch'],
  [RdKafkaErrorCode.ERR_INVALID_TXN_STATE, 'Broker: Producer attempted a transactional operation in an invalid state'],
  [
    RdKafkaErrorCode.ERR_CONCURRENT_TRANSACTIONS,
    'Broker: Producer attempted to update a transaction while another concurrent operation on the same transaction was ongoing',
  ],
  [
    RdKafkaErrorCode.ERR_TRANSACTION_COORDINATOR_FENCED,
    'Broker: Indicates that the transaction coordinator sending a WriteTxnMarker is no longer the current coordinator for a given producer',
  ],
  [RdKafkaErrorCode.ERR_KAFKA_STORAGE_ERROR, 'Broker: Disk error when trying to access log file on disk'],
  [RdKafkaErrorCode.ERR_FETCH_SESSION_ID_NOT_FOUND, 'Broker: The fetch session ID was not found'],
  [RdKafkaErrorCode.ERR_INVALID_FETCH_SESSION_EPOCH, 'Broker: The fetch session epoch is invalid'],
  [RdKafkaErrorCode.ERR_LISTENER_NOT_FOUND, 'Broker: No matching listener'],
  [RdKafkaErrorCode.ERR_FENCED_LEADER_EPOCH, 'Broker: Leader epoch is older than broker epoch'],
  [RdKafkaErrorCode.ERR_UNKNOWN_LEADER_EPOCH, 'Broker: Leader epoch is newer than broker epoch'],
  [RdKafkaErrorCode.ERR_OFFSET_NOT_AVAILABLE, 'Broker: Leader high watermark is not caught up'],
  [RdKafkaErrorCode.ERR_PREFERRED_LEADER_NOT_AVAILABLE, 'Broker: Preferred leader was not available'],
  [RdKafkaErrorCode.ERR_UNSTABLE_OFFSET_COMMIT, 'Broker: There are unstable offsets that need to be cleared'],
  [RdKafkaErrorCode.ERR_THROTTLING_QUOTA_EXCEEDED, 'Broker: Throttling quota has been exceeded'],
  [RdKafkaErrorCode.ERR_PRODUCER_FENCED, 'Broker: There is a newer producer with the same transactionalId which fences the current one'],
];

const normalise = (text: string): string =>
  text
    .trim()
    .replace(/^(local|broker):\s*/i, '')
    .toLowerCase();
const CODE_BY_TEXT: ReadonlyMap<string, number> = new Map(DESCRIPTIONS.map(([code, text]) => [normalise(text), code]));

/**
 * Codes meaning "another producer with this transactional id took over": librdkafka's local
 * `ERR__FENCED` and the broker's PRODUCER_FENCED, INVALID_PRODUCER_EPOCH and
 * TRANSACTION_COORDINATOR_FENCED.
 */
const FENCED_CODES: ReadonlySet<number> = new Set([
  RdKafkaErrorCode.ERR__FENCED,
  RdKafkaErrorCode.ERR_PRODUCER_FENCED,
  RdKafkaErrorCode.ERR_INVALID_PRODUCER_EPOCH,
  RdKafkaErrorCode.ERR_TRANSACTION_COORDINATOR_FENCED,
]);

/**
 * Transient codes: local conditions librdkafka recovers from (connections, timeouts, a full
 * queue, a coordinator being looked up) and the Kafka protocol errors the Java client marks
 * retriable.
 */
const RETRIABLE_CODES: ReadonlySet<number> = new Set([
  RdKafkaErrorCode.ERR__TRANSPORT,
  RdKafkaErrorCode.ERR__RESOLVE,
  RdKafkaErrorCode.ERR__MSG_TIMED_OUT,
  RdKafkaErrorCode.ERR__ALL_BROKERS_DOWN,
  RdKafkaErrorCode.ERR__TIMED_OUT,
  RdKafkaErrorCode.ERR__QUEUE_FULL,
  RdKafkaErrorCode.ERR__ISR_INSUFF,
  RdKafkaErrorCode.ERR__NODE_UPDATE,
  RdKafkaErrorCode.ERR__WAIT_COORD,
  RdKafkaErrorCode.ERR__IN_PROGRESS,
  RdKafkaErrorCode.ERR__PREV_IN_PROGRESS,
  RdKafkaErrorCode.ERR__TIMED_OUT_QUEUE,
  RdKafkaErrorCode.ERR__RETRY,
  RdKafkaErrorCode.ERR__MAX_POLL_EXCEEDED,
  RdKafkaErrorCode.ERR__ASSIGNMENT_LOST,
  RdKafkaErrorCode.ERR_CORRUPT_MESSAGE,
  RdKafkaErrorCode.ERR_UNKNOWN_TOPIC_OR_PART,
  RdKafkaErrorCode.ERR_LEADER_NOT_AVAILABLE,
  RdKafkaErrorCode.ERR_NOT_LEADER_FOR_PARTITION,
  RdKafkaErrorCode.ERR_REQUEST_TIMED_OUT,
  RdKafkaErrorCode.ERR_NETWORK_EXCEPTION,
  RdKafkaErrorCode.ERR_COORDINATOR_LOAD_IN_PROGRESS,
  RdKafkaErrorCode.ERR_COORDINATOR_NOT_AVAILABLE,
  RdKafkaErrorCode.ERR_NOT_COORDINATOR,
  RdKafkaErrorCode.ERR_NOT_ENOUGH_REPLICAS,
  RdKafkaErrorCode.ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND,
  RdKafkaErrorCode.ERR_REBALANCE_IN_PROGRESS,
  RdKafkaErrorCode.ERR_NOT_CONTROLLER,
  RdKafkaErrorCode.ERR_CONCURRENT_TRANSACTIONS,
  RdKafkaErrorCode.ERR_KAFKA_STORAGE_ERROR,
  RdKafkaErrorCode.ERR_FETCH_SESSION_ID_NOT_FOUND,
  RdKafkaErrorCode.ERR_INVALID_FETCH_SESSION_EPOCH,
  RdKafkaErrorCode.ERR_LISTENER_NOT_FOUND,
  RdKafkaErrorCode.ERR_FENCED_LEADER_EPOCH,
  RdKafkaErrorCode.ERR_UNKNOWN_LEADER_EPOCH,
  RdKafkaErrorCode.ERR_OFFSET_NOT_AVAILABLE,
  RdKafkaErrorCode.ERR_PREFERRED_LEADER_NOT_AVAILABLE,
  RdKafkaErrorCode.ERR_UNSTABLE_OFFSET_COMMIT,
  RdKafkaErrorCode.ERR_THROTTLING_QUOTA_EXCEEDED,
]);

/**
 * The librdkafka code of `error`, if it has one: its `code`, or, when that is missing or -1 (an
 * error node-rdkafka only had the text of), the code whose librdkafka description the message is.
 */
export function rdKafkaCode(error: unknown): number | undefined {
  if (!isErrorLike(error)) return undefined;
  const code = typeof error.code === 'number' && Number.isInteger(error.code) ? error.code : undefined;
  if (code !== undefined && code !== RdKafkaErrorCode.ERR_UNKNOWN) return code;
  return CODE_BY_TEXT.get(normalise(error.message)) ?? code;
}

/** The name of a librdkafka code (`ERR__TRANSPORT`), or `code <n>` for one the adapter does not name. */
export function rdKafkaCodeName(code: number): string {
  return NAMES.get(code) ?? `code ${code}`;
}

/**
 * True when `error` says a transactional producer was fenced: a newer producer with the same
 * transactional id was initialised. librdkafka reports it as the fatal `ERR__FENCED` (or the
 * broker's PRODUCER_FENCED / INVALID_PRODUCER_EPOCH / TRANSACTION_COORDINATOR_FENCED); such a
 * producer cannot be used again. A `cause` chain is followed.
 */
export function isFencedError(error: unknown): boolean {
  return someCause(error, (e) => {
    if (FencedError.isInstance(e)) return true;
    const code = rdKafkaCode(e);
    // A fatal error surfaced as ERR__FATAL (e.g. in a delivery report) names the underlying cause in its text.
    return (code !== undefined && FENCED_CODES.has(code)) || (code === RdKafkaErrorCode.ERR__FATAL && /fenced/i.test(e.message));
  });
}

/**
 * Whether retrying may succeed: never for a fatal error; librdkafka's own `isRetriable` when it
 * says yes (transactional API); else by code (see the module's list of transient codes).
 */
export function isRetriableError(error: unknown): boolean {
  if (!isErrorLike(error)) return false;
  const flags = error as RdKafkaErrorLike;
  if (flags.isFatal === true) return false;
  if (flags.isRetriable === true) return true;
  const code = rdKafkaCode(error);
  return code !== undefined && RETRIABLE_CODES.has(code);
}

function describe(error: RdKafkaErrorLike): string {
  const code = rdKafkaCode(error);
  const flags = [
    error.isFatal === true ? 'fatal' : undefined,
    error.isTxnRequiresAbort === true ? 'transaction requires abort' : undefined,
  ].filter((f): f is string => f !== undefined);
  const name = code !== undefined ? rdKafkaCodeName(code) : (((error as { name?: unknown }).name as string | undefined) ?? 'Error');
  return `${name}${flags.length > 0 ? ` (${flags.join(', ')})` : ''}: ${error.message}`;
}

/**
 * Maps any error raised while doing `operation` to a ksched error: ksched errors pass through
 * unchanged; fencing becomes a `FencedError` (`KSM_FENCED`, never retriable); anything else a
 * `TransportError` (`KSM_TRANSPORT`) whose message names the operation and the librdkafka code,
 * with `retriable` from {@link isRetriableError} and the original kept as `cause`.
 *
 * @example
 * ```ts
 * producer.flush(timeoutMs, (err) => (err ? reject(toTransportError(err, 'flushing')) : resolve()));
 * ```
 */
export const rdKafkaErrors = createErrorMapper<RdKafkaErrorLike>({ describe, retriable: isRetriableError, fenced: isFencedError });
export const { toTransportError, rethrowAs } = rdKafkaErrors;

/**
 * The mapping of transactions fenced by the consumer group: like {@link rdKafkaErrors}, but never
 * a `FencedError` (a producer fenced by its own id there is the member's, replaced at once; who
 * owns a partition is the group's to say).
 */
export const rdKafkaGroupFencedErrors = createErrorMapper<RdKafkaErrorLike>({ describe, retriable: isRetriableError });
