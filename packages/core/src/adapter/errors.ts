/**
 * Error-mapping helpers for adapters: a client error becomes a ksched error with a stable code,
 * its message naming the operation that failed. An adapter says how to describe its client's
 * errors, which are retriable and which mean "fenced"; {@link createErrorMapper} does the rest.
 *
 * @module
 */
import { FencedError, SchedulerError, TransportError } from '../errors.js';

/** An object with a string `message`: what every client error has. */
export interface ErrorLike {
  readonly message: string;
  readonly name?: unknown;
  readonly code?: unknown;
  readonly cause?: unknown;
}

/** True for any object with a string `message`. */
export function isErrorLike(value: unknown): value is ErrorLike {
  return typeof value === 'object' && value !== null && typeof (value as { message?: unknown }).message === 'string';
}

/** True when `error` or one of its causes (at most `depth` levels) satisfies `test`. */
export function someCause<E extends ErrorLike = ErrorLike>(error: unknown, test: (error: E) => boolean, depth = 10): boolean {
  let current: unknown = error;
  for (let level = 0; level < depth && isErrorLike(current); level++) {
    if (test(current as E)) return true;
    current = current.cause;
  }
  return false;
}

/** What an adapter tells {@link createErrorMapper} about its client's errors. */
export interface ErrorDialect<E extends ErrorLike> {
  /** True for the client's errors (anything with a string `message` by default). */
  readonly is?: (error: unknown) => error is E;
  /** The error as the message shows it after "<operation> failed: ". */
  describe(error: E): string;
  /** Whether trying again may succeed. */
  retriable(error: E): boolean;
  /** True when a transactional producer was fenced; such errors become `FencedError`. */
  readonly fenced?: (error: unknown) => boolean;
}

/** The two functions every adapter's `map-errors.ts` exports. */
export interface ErrorMapper {
  /**
   * Maps any error raised while doing `operation`: ksched errors pass through unchanged; fencing
   * becomes a `FencedError` (`KSM_FENCED`); anything else a `TransportError` (`KSM_TRANSPORT`)
   * naming the operation, with `retriable` from the client and the original as `cause`.
   */
  toTransportError(error: unknown, operation: string): SchedulerError;
  /** `toTransportError` as a rejection handler: `promise.catch(rethrowAs('producing'))`. */
  rethrowAs(operation: string): (error: unknown) => never;
  /** True for a `FencedError` and for what the client's rules call fencing (a producer that cannot be used again). */
  isFenced(error: unknown): boolean;
}

/**
 * An {@link ErrorMapper} for a client's errors.
 *
 * @example
 * ```ts
 * export const { toTransportError, rethrowAs } = createErrorMapper({ describe: (e) => e.message, retriable: () => false });
 * ```
 */
export function createErrorMapper<E extends ErrorLike>(dialect: ErrorDialect<E>): ErrorMapper {
  const is = dialect.is ?? (isErrorLike as (error: unknown) => error is E);
  const toTransportError = (error: unknown, operation: string): SchedulerError => {
    if (SchedulerError.isInstance(error)) return error;
    if (dialect.fenced?.(error)) {
      const detail = is(error) ? dialect.describe(error) : String(error);
      return new FencedError(`${operation} failed: fenced by a newer producer with the same transactional id (${detail})`, {
        cause: error,
      });
    }
    if (is(error)) {
      return new TransportError(`${operation} failed: ${dialect.describe(error)}`, { cause: error, retriable: dialect.retriable(error) });
    }
    return new TransportError(`${operation} failed: ${String(error)}`, { cause: error, retriable: false });
  };
  const rethrowAs =
    (operation: string) =>
    (error: unknown): never => {
      throw toTransportError(error, operation);
    };
  const isFenced = (error: unknown): boolean => FencedError.isInstance(error) || dialect.fenced?.(error) === true;
  return { toTransportError, rethrowAs, isFenced };
}
