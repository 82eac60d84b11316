import { describe, expect, it } from 'vitest';
import { ConfigError, SchedulerError, TransportError } from '@ksched/core';
import {
  KafkaJSConnectionError,
  KafkaJSError,
  KafkaJSNonRetriableError,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSProtocolError,
} from 'kafkajs';
import { isFencedError, isKafkaJsError, toTransportError } from '../src/map-errors.js';

function protocolError(type: string, code: number, retriable: boolean, message = `${type} happened`): KafkaJSProtocolError {
  return new KafkaJSProtocolError({ type, code, retriable, message } as unknown as Error);
}

describe('toTransportError', () => {
  it('maps a retriable kafkajs error to a retriable TransportError that keeps the cause', () => {
    const cause = new KafkaJSConnectionError('Connection timeout', { broker: '127.0.0.1:19092' } as never);
    const error = toTransportError(cause, 'producing 2 record(s) to t');
    expect(TransportError.isInstance(error)).toBe(true);
    expect(error.code).toBe('KSM_TRANSPORT');
    expect(error.retriable).toBe(true);
    expect(error.cause).toBe(cause);
    expect(error.message).toBe('producing 2 record(s) to t failed: KafkaJSConnectionError: Connection timeout');
  });

  it('keeps kafkajs retriable: false, and names the protocol error type', () => {
    const cause = protocolError('TOPIC_AUTHORIZATION_FAILED', 29, false, 'Not authorized to access topics');
    const error = toTransportError(cause, 'fetching the watermarks of t');
    expect(error.retriable).toBe(false);
    expect(error.message).toBe(
      'fetching the watermarks of t failed: KafkaJSProtocolError (TOPIC_AUTHORIZATION_FAILED): Not authorized to access topics',
    );
    expect(toTransportError(new KafkaJSNonRetriableError('bad'), 'x').retriable).toBe(false);
    expect(toTransportError(new KafkaJSError('transient'), 'x').retriable).toBe(true);
  });

  it('takes retriable from the root cause of KafkaJSNumberOfRetriesExceeded and describes it', () => {
    const root = protocolError('LEADER_NOT_AVAILABLE', 5, true, 'There is no leader for this topic-partition');
    const exceeded = new KafkaJSNumberOfRetriesExceeded(root, { retryCount: 5, retryTime: 1000 });
    const error = toTransportError(exceeded, 'producing');
    expect(error.retriable).toBe(true);
    expect(error.message).toContain('KafkaJSNumberOfRetriesExceeded');
    expect(error.cause).toBe(exceeded);
    const fatal = new KafkaJSNumberOfRetriesExceeded(protocolError('INVALID_TOPIC_EXCEPTION', 17, false), { retryCount: 1, retryTime: 1 });
    expect(toTransportError(fatal, 'producing').retriable).toBe(false);
  });

  it('passes ksched errors through unchanged and wraps anything else as non-retriable', () => {
    const config = new ConfigError([{ field: 'brokers', rule: 'min', message: 'needs at least one broker' }]);
    expect(toTransportError(config, 'x')).toBe(config);
    const plain = toTransportError(new TypeError('boom'), 'consuming');
    expect(SchedulerError.isInstance(plain)).toBe(true);
    expect(plain.retriable).toBe(false);
    expect(plain.message).toBe('consuming failed: TypeError: boom');
    expect(toTransportError('weird', 'consuming').message).toBe('consuming failed: weird');
  });
});

describe('isFencedError / isKafkaJsError', () => {
  it('recognises fencing by type, by code 90 (unknown to kafkajs) and through causes', () => {
    expect(isFencedError(protocolError('INVALID_PRODUCER_EPOCH', 47, false))).toBe(true);
    expect(isFencedError(protocolError('TRANSACTION_COORDINATOR_FENCED', 52, false))).toBe(true);
    expect(isFencedError(protocolError('KAFKAJS_UNKNOWN_ERROR_CODE', -99, false, 'Unknown error code 90'))).toBe(true);
    const wrapped = new KafkaJSNumberOfRetriesExceeded(protocolError('INVALID_PRODUCER_EPOCH', 47, false), { retryCount: 0, retryTime: 0 });
    expect(isFencedError(wrapped)).toBe(true);
    expect(isFencedError(protocolError('NOT_LEADER_FOR_PARTITION', 6, true))).toBe(false);
    expect(isFencedError(new Error('fenced'))).toBe(false);
    expect(isFencedError(undefined)).toBe(false);
  });

  it('tells kafkajs errors from others', () => {
    expect(isKafkaJsError(new KafkaJSError('x'))).toBe(true);
    expect(isKafkaJsError(protocolError('X', 1, true))).toBe(true);
    expect(isKafkaJsError(new Error('x'))).toBe(false);
    expect(isKafkaJsError(null)).toBe(false);
  });
});
