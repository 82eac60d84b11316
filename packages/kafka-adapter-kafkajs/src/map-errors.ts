/**
 * kafkajs errors → ksched errors. Every client call of the adapter goes through
 * {@link toTransportError}, so callers only ever see `SchedulerError`s with stable codes.
 *
 * @module
 */
import { SchedulerError, TransportError } from '@ksched/core';

/** The fields kafkajs errors carry (`KafkaJSError` and subclasses). */
interface KafkaJsErrorLike {
  readonly name: string;
  readonly message: string;
  readonly retriable?: unknown;
  readonly type?: unknown;
  readonly code?: unknown;
  readonly cause?: unknown;
}

function isErrorLike(value: unknown): value is KafkaJsErrorLike {
  return typeof value === 'object' && value !== null && typeof (value as { message?: unknown }).message === 'string';
}

/** True for errors thrown by kafkajs (their names start with `KafkaJS`). */
export function isKafkaJsError(error: unknown): boolean {
  return isErrorLike(error) && typeof error.name === 'string' && error.name.startsWith('KafkaJS');
}

/** The innermost `cause` of a kafkajs error (kafkajs wraps, e.g. in `KafkaJSNumberOfRetriesExceeded`). */
function rootCause(error: KafkaJsErrorLike): KafkaJsErrorLike {
  let current = error;
  for (let depth = 0; depth < 10 && isErrorLike(current.cause); depth++) current = current.cause;
  return current;
}

/** Kafka protocol error types meaning "another producer with this transactional id took over". */
const FENCED_TYPES = new Set(['INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED', 'TRANSACTION_COORDINATOR_FENCED']);
/** Kafka error code 90 (PRODUCER_FENCED), which kafkajs 2.2.4 does not know by name. */
const PRODUCER_FENCED_CODE = 90;

/**
 * True when `error` (or one of its causes) says the transactional producer was fenced: a newer
 * producer with the same transactional id was initialised. Such a producer cannot be used again.
 */
export function isFencedError(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 10 && isErrorLike(current); depth++) {
    if (typeof current.type === 'string' && FENCED_TYPES.has(current.type)) return true;
    if (current.code === PRODUCER_FENCED_CODE) return true;
    if (current.type === 'KAFKAJS_UNKNOWN_ERROR_CODE' && current.message === `Unknown error code ${PRODUCER_FENCED_CODE}`) return true;
    current = current.cause;
  }
  return false;
}

/**
 * Whether retrying may succeed: kafkajs's own `retriable` flag. `KafkaJSNumberOfRetriesExceeded`
 * is non-retriable in kafkajs's class hierarchy, but it only says kafkajs gave up on a retriable
 * cause (kafkajs restarts its consumer on it too), so its innermost cause decides.
 */
function retriableOf(error: KafkaJsErrorLike): boolean {
  if (error.name === 'KafkaJSNumberOfRetriesExceeded') return rootCause(error).retriable === true;
  return error.retriable === true;
}

function describe(error: KafkaJsErrorLike): string {
  const parts = [error.name];
  if (typeof error.type === 'string' && error.type.length > 0) parts.push(`(${error.type})`);
  const root = rootCause(error);
  const detail =
    root !== error && root.message !== error.message ? `${error.message}; caused by ${root.name}: ${root.message}` : error.message;
  return `${parts.join(' ')}: ${detail}`;
}

/**
 * Maps any error raised while doing `operation` to a ksched error: ksched errors pass through
 * unchanged; anything else becomes a `TransportError` (`KSM_TRANSPORT`) whose message names the
 * operation and the kafkajs error type, with `retriable` from kafkajs and the original kept as
 * `cause`.
 *
 * @example
 * ```ts
 * try { await admin.fetchTopicOffsets(topic); } catch (error) { throw toTransportError(error, `fetching watermarks of ${topic}`); }
 * ```
 */
export function toTransportError(error: unknown, operation: string): SchedulerError {
  if (SchedulerError.isInstance(error)) return error;
  if (isErrorLike(error)) {
    return new TransportError(`${operation} failed: ${describe(error)}`, { cause: error, retriable: retriableOf(error) });
  }
  return new TransportError(`${operation} failed: ${String(error)}`, { cause: error, retriable: false });
}

/** `toTransportError` as a rejection handler: `promise.catch(rethrowAs('producing'))`. */
export function rethrowAs(operation: string): (error: unknown) => never {
  return (error: unknown) => {
    throw toTransportError(error, operation);
  };
}
