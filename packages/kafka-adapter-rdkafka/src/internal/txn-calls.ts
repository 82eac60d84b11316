/**
 * librdkafka's transactional calls as promises, shared by the per-partition transactional producer
 * and the member's (fenced by the group).
 *
 * @module
 */
import type { Logger } from '@ksched/core';
import type { LibrdKafkaError } from 'node-rdkafka';
import { isFencedError, isRetriableError } from '../map-errors.js';

/** Attempts of a commit or abort that librdkafka reports as retriable. */
const TXN_ATTEMPTS = 3;

/** Runs a node-rdkafka call that reports through a callback; a synchronous throw rejects too. */
export function callback(run: (cb: (error: LibrdKafkaError) => void) => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    try {
      run((error) => (error ? reject(error) : resolve()));
    } catch (error) {
      reject(error);
    }
  });
}

/**
 * Runs a commit or abort (`what`: "committing", "aborting"), again while librdkafka says the
 * error is retriable (it allows calling them again then), at most 3 times; logs each retry.
 */
export async function retryingTxnCall(
  what: string,
  run: (cb: (error: LibrdKafkaError) => void) => void,
  logger: Logger,
  transactionalId: string,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await callback(run);
      return;
    } catch (error) {
      if (attempt >= TXN_ATTEMPTS || !isRetriableError(error) || isFencedError(error)) throw error;
      logger.warn({ transactionalId, error, attempt }, `${what} the transaction failed; retrying`);
    }
  }
}
