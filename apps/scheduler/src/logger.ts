/**
 * Structured logs with pino: JSON lines by default, human-readable through pino-pretty when
 * stdout is a terminal or `--pretty` is given.
 *
 * @module
 */
import type { Logger } from '@ksched/core';
import { pino, stdSerializers, type Logger as PinoLogger } from 'pino';
import PinoPretty from 'pino-pretty';
import type { LOG_LEVELS } from './config.js';

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  readonly level: (typeof LOG_LEVELS)[number];
  /** Human-readable output; default: when the destination is a terminal. */
  readonly pretty?: boolean;
  /** File descriptor to write to: 1 (stdout, the service) or 2 (stderr, one-shot commands keep stdout for data). */
  readonly fd?: 1 | 2;
}

/**
 * Creates the process logger. Core passes errors in an `error` field, kafkajs in `error` too:
 * both go through pino's error serializer, so they keep type, message, stack and cause.
 */
export function createLogger(options: LoggerOptions): PinoLogger {
  const fd = options.fd ?? 1;
  const tty = (fd === 1 ? process.stdout : process.stderr).isTTY === true;
  const pretty = options.pretty ?? tty;
  const base = {
    name: 'ksched',
    level: options.level,
    serializers: { error: stdSerializers.err, err: stdSerializers.err },
  };
  if (!pretty) return pino(base, pino.destination({ fd, sync: true }));
  return pino(
    base,
    PinoPretty({
      destination: fd,
      sync: true,
      colorize: tty,
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'pid,hostname,name',
      singleLine: true,
    }),
  );
}

/** The core `Logger` port over a pino logger (optionally a child with fixed fields). */
export function portLogger(logger: PinoLogger, bindings?: Record<string, unknown>): Logger {
  const target = bindings ? logger.child(bindings) : logger;
  return {
    debug: (fields, message) => target.debug(fields, message),
    info: (fields, message) => target.info(fields, message),
    warn: (fields, message) => target.warn(fields, message),
    error: (fields, message) => target.error(fields, message),
  };
}
