/**
 * Errors meant for the user, exit codes, and the one-line description of any error.
 *
 * @module
 */
import { ConfigError, ContractViolationError, InvalidArgumentError, SchedulerError } from '@ksched/core';
import { describeConfigError } from './config.js';

/** Exit codes of every command. */
export const ExitCode = {
  ok: 0,
  /** A runtime failure: Kafka unreachable, topics differ, shutdown timed out. */
  failure: 1,
  /** Bad usage or configuration: nothing was done. */
  usage: 2,
} as const;

/** An error whose message is meant for the user as it is, with its exit code. */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode: number = ExitCode.usage) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

/**
 * One line for an error, and its exit code: configuration and input errors are usage errors
 * (nothing was done), everything else a failure.
 */
export function describeError(error: unknown): { message: string; exitCode: number } {
  if (error instanceof CliError) return { message: error.message, exitCode: error.exitCode };
  if (ConfigError.isInstance(error)) return { message: describeConfigError(error), exitCode: ExitCode.usage };
  if (InvalidArgumentError.isInstance(error) || ContractViolationError.isInstance(error)) {
    return { message: `invalid input: ${error.violations.map((v) => `${v.field}: ${v.message}`).join('; ')}`, exitCode: ExitCode.usage };
  }
  if (SchedulerError.isInstance(error)) return { message: oneLine(error.message), exitCode: ExitCode.failure };
  if (error instanceof Error) return { message: oneLine(error.message), exitCode: ExitCode.failure };
  return { message: oneLine(String(error)), exitCode: ExitCode.failure };
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}
