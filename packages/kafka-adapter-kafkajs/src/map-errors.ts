/**
 * kafkajs errors → ksched errors. Every client call of the adapter goes through
 * {@link toTransportError}, so callers only ever see `SchedulerError`s with stable codes.
 *
 * @module
 */
import { createErrorMapper, isErrorLike, someCause } from '@ksched/core/adapter';

/** The fields kafkajs errors carry (`KafkaJSError` and subclasses). */
interface KafkaJsErrorLike {
  readonly name: string;
  readonly message: string;
  readonly retriable?: unknown;
  readonly type?: unknown;
  readonly code?: unknown;
  readonly cause?: unknown;
}

/** True for errors thrown by kafkajs (their names start with `KafkaJS`). */
export function isKafkaJsError(error: unknown): boolean {
  return isErrorLike(error) && typeof error.name === 'string' && error.name.startsWith('KafkaJS');
}

/** The innermost `cause` of a kafkajs error (kafkajs wraps, e.g. in `KafkaJSNumberOfRetriesExceeded`). */
function rootCause(error: KafkaJsErrorLike): KafkaJsErrorLike {
  let current = error;
  for (let depth = 0; depth < 10 && isErrorLike(current.cause); depth++) current = current.cause as KafkaJsErrorLike;
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
  return someCause(error, (e: KafkaJsErrorLike) => {
    if (typeof e.type === 'string' && FENCED_TYPES.has(e.type)) return true;
    return (
      e.code === PRODUCER_FENCED_CODE ||
      (e.type === 'KAFKAJS_UNKNOWN_ERROR_CODE' && e.message === `Unknown error code ${PRODUCER_FENCED_CODE}`)
    );
  });
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
 * unchanged; fencing ({@link isFencedError}) becomes a `FencedError` (`KSM_FENCED`); anything else
 * a `TransportError` (`KSM_TRANSPORT`) whose message names the operation and the kafkajs error
 * type, with `retriable` from kafkajs and the original kept as `cause`. `rethrowAs(operation)` is
 * the same as a rejection handler.
 *
 * @example
 * ```ts
 * try { await admin.fetchTopicOffsets(topic); } catch (error) { throw toTransportError(error, `fetching watermarks of ${topic}`); }
 * ```
 */
export const kafkaJsErrors = createErrorMapper<KafkaJsErrorLike>({ describe, retriable: retriableOf, fenced: isFencedError });
export const { toTransportError, rethrowAs } = kafkaJsErrors;
