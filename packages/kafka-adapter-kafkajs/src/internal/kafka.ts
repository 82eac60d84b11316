/**
 * Builds a kafkajs `Kafka` client from resolved connection options, with kafkajs logs forwarded
 * to the ksched `Logger` port.
 *
 * @module
 */
// The adapter's own kafkajs copy, with the corrected read-committed filter (internal/kafkajs.ts).
import { kafkajs } from './kafkajs.js';
import type { Kafka, KafkaConfig, LogEntry, RetryOptions } from 'kafkajs';
import type { Logger } from '@ksched/core';
import type { ResolvedKafkaJsConnectionOptions } from '../options.js';

const { logLevel: KafkaLogLevel } = kafkajs;

const LEVELS = {
  nothing: KafkaLogLevel.NOTHING,
  error: KafkaLogLevel.ERROR,
  warn: KafkaLogLevel.WARN,
  info: KafkaLogLevel.INFO,
  debug: KafkaLogLevel.DEBUG,
} as const;

/** kafkajs's warning when an idempotent producer is given a retry policy (see `forward`). */
const LIMITED_RETRIES_WARNING = 'Limiting retries for the idempotent producer may invalidate EoS guarantees';

function forward(logger: Logger) {
  return () =>
    ({ namespace, level, log }: LogEntry): void => {
      const { message, timestamp: _timestamp, ...fields } = log;
      const entry: Record<string, unknown> = { kafkajs: namespace, ...fields };
      // The adapter limits the retries of its idempotent producers on purpose: a failed produce or
      // transaction is retried (and settled) by the engine. Not worth a warning at each producer.
      if (message === LIMITED_RETRIES_WARNING) logger.debug(entry, message);
      else if (level === KafkaLogLevel.ERROR) logger.error(entry, message);
      else if (level === KafkaLogLevel.WARN) logger.warn(entry, message);
      else if (level === KafkaLogLevel.INFO) logger.info(entry, message);
      else logger.debug(entry, message);
    };
}

/** kafkajs retry options from ours (ms units in names). */
export function kafkaRetry(retry: ResolvedKafkaJsConnectionOptions['retry']): RetryOptions | undefined {
  if (retry === undefined) return undefined;
  return { retries: retry.retries, initialRetryTime: retry.initialRetryTimeMs, maxRetryTime: retry.maxRetryTimeMs };
}

/** A kafkajs client for the given connection options. */
export function createKafka(options: ResolvedKafkaJsConnectionOptions): Kafka {
  const retry = kafkaRetry(options.retry);
  const config: KafkaConfig = {
    brokers: options.brokers,
    clientId: options.clientId,
    connectionTimeout: options.connectionTimeoutMs,
    requestTimeout: options.requestTimeoutMs,
    logLevel: LEVELS[options.logLevel],
    logCreator: forward(options.logger),
    ...(options.ssl !== undefined ? { ssl: options.ssl } : {}),
    ...(options.sasl !== undefined ? { sasl: options.sasl } : {}),
    ...(retry !== undefined ? { retry } : {}),
  };
  return new kafkajs.Kafka(config);
}
