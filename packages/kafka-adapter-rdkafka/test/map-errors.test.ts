import { describe, expect, it } from 'vitest';
import { ConfigError, FencedError, SchedulerError, TransportError } from '@ksched/core';
import {
  isFencedError,
  isRetriableError,
  RdKafkaErrorCode,
  rdKafkaCode,
  rdKafkaCodeName,
  rethrowAs,
  toTransportError,
} from '../src/map-errors.js';

/** The shape of node-rdkafka's LibrdKafkaError built from a code (native errors, transactional API). */
const coded = (code: number, message: string, flags: Record<string, boolean> = {}) =>
  Object.assign(new Error(message), { code, errno: code, origin: 'local', ...flags });
/** The shape node-rdkafka gives delivery-report errors: text only, code -1, lower-cased, without the prefix. */
const textOnly = (message: string) => ({ message, code: -1, errno: -1, origin: 'local' });

describe('rdkafka error mapping', () => {
  it('maps fencing to FencedError (never retriable), by code or by delivery-report text', () => {
    for (const error of [
      coded(RdKafkaErrorCode.ERR__FENCED, 'Local: This instance has been fenced by a newer instance', { isFatal: true }),
      coded(
        RdKafkaErrorCode.ERR_PRODUCER_FENCED,
        'Broker: There is a newer producer with the same transactionalId which fences the current one',
      ),
      coded(RdKafkaErrorCode.ERR_INVALID_PRODUCER_EPOCH, 'Broker: Producer attempted an operation with an old epoch'),
      coded(RdKafkaErrorCode.ERR_TRANSACTION_COORDINATOR_FENCED, 'Broker: coordinator fenced'),
      textOnly('this instance has been fenced by a newer instance'),
      coded(RdKafkaErrorCode.ERR__FATAL, 'Local: Fatal error: producer fenced by a newer instance', { isFatal: true }),
      { message: 'wrapped', cause: coded(RdKafkaErrorCode.ERR__FENCED, 'fenced') },
    ]) {
      expect(isFencedError(error)).toBe(true);
      const mapped = toTransportError(error, 'committing');
      expect(FencedError.isInstance(mapped)).toBe(true);
      expect(mapped.retriable).toBe(false);
      expect(mapped.cause).toBe(error);
      expect(mapped.message).toMatch(/^committing failed: fenced/);
    }
    expect(isFencedError(coded(RdKafkaErrorCode.ERR__FATAL, 'Local: Fatal error', { isFatal: true }))).toBe(false);
    expect(isFencedError(textOnly('purged in queue'))).toBe(false);
  });

  it('marks transient errors retriable (codes, text-only reports, librdkafka isRetriable), never fatal ones', () => {
    for (const error of [
      coded(RdKafkaErrorCode.ERR__TRANSPORT, 'Local: Broker transport failure'),
      coded(RdKafkaErrorCode.ERR__TIMED_OUT, 'Local: Timed out'),
      coded(RdKafkaErrorCode.ERR_NOT_LEADER_FOR_PARTITION, 'Broker: Not leader for partition'),
      coded(RdKafkaErrorCode.ERR_COORDINATOR_LOAD_IN_PROGRESS, 'Broker: Coordinator load in progress'),
      coded(RdKafkaErrorCode.ERR_CONCURRENT_TRANSACTIONS, 'Broker: concurrent'),
      textOnly('message timed out'),
      { message: 'Local: Queue full' },
      coded(RdKafkaErrorCode.ERR__STATE, 'Local: Erroneous state', { isRetriable: true }),
    ]) {
      expect(isRetriableError(error), error.message).toBe(true);
      const mapped = toTransportError(error, 'producing');
      expect(TransportError.isInstance(mapped)).toBe(true);
      expect(mapped.retriable).toBe(true);
    }
    for (const error of [
      coded(RdKafkaErrorCode.ERR__TRANSPORT, 'Local: Broker transport failure', { isFatal: true }),
      coded(RdKafkaErrorCode.ERR__INVALID_ARG, 'Local: Invalid argument or configuration'),
      coded(RdKafkaErrorCode.ERR_TOPIC_AUTHORIZATION_FAILED, 'Broker: Topic authorization failed'),
      coded(RdKafkaErrorCode.ERR__UNKNOWN_PARTITION, 'Local: Unknown partition'),
      textOnly('something librdkafka never says'),
      new TypeError('"topic" must be a string'),
    ]) {
      expect(isRetriableError(error), error.message).toBe(false);
      expect(toTransportError(error, 'producing').retriable).toBe(false);
    }
  });

  it('recovers the code of a text-only error and names codes in messages', () => {
    expect(rdKafkaCode(textOnly('unknown partition'))).toBe(RdKafkaErrorCode.ERR__UNKNOWN_PARTITION);
    expect(rdKafkaCode(textOnly('unknown topic or partition'))).toBe(RdKafkaErrorCode.ERR_UNKNOWN_TOPIC_OR_PART);
    expect(rdKafkaCode({ message: 'Broker: Invalid topic' })).toBe(RdKafkaErrorCode.ERR_TOPIC_EXCEPTION);
    expect(rdKafkaCode(textOnly('no such thing'))).toBe(-1);
    expect(rdKafkaCode('not an error')).toBeUndefined();
    expect(rdKafkaCodeName(RdKafkaErrorCode.ERR__PARTITION_EOF)).toBe('ERR__PARTITION_EOF');
    expect(rdKafkaCodeName(12345)).toBe('code 12345');
    const mapped = toTransportError(
      coded(RdKafkaErrorCode.ERR__ALL_BROKERS_DOWN, 'Local: All broker connections are down'),
      'fetching the watermarks of t/0',
    );
    expect(mapped.message).toBe('fetching the watermarks of t/0 failed: ERR__ALL_BROKERS_DOWN: Local: All broker connections are down');
  });

  it('passes ksched errors through and maps anything else to a non-retriable TransportError', () => {
    const own = new ConfigError([{ field: 'f', rule: 'r', message: 'm' }]);
    expect(toTransportError(own, 'x')).toBe(own);
    const odd = toTransportError('a string', 'x');
    expect(SchedulerError.isInstance(odd) && odd.code).toBe('KSM_TRANSPORT');
    expect(odd.message).toBe('x failed: a string');
    expect(() => rethrowAs('seeking')(coded(RdKafkaErrorCode.ERR__STATE, 'Local: Erroneous state'))).toThrow(/^seeking failed: ERR__STATE/);
  });
});
