/**
 * A test helper for settings validation: what a `ConfigError` says, as data to compare.
 *
 * @module
 */
import { ConfigError } from '@ksched/core';

/**
 * Runs `run` and returns the field and message of each violation of the `ConfigError` it
 * throws; rethrows any other error, and throws when it throws nothing.
 *
 * @example
 * ```ts
 * expect(configViolations(() => parseConnectionOptions({ brokers: [] }))).toEqual([
 *   { field: 'brokers', message: 'needs at least one broker (host:port)' },
 * ]);
 * ```
 */
export function configViolations(run: () => unknown): { field: string; message: string }[] {
  try {
    run();
  } catch (error) {
    if (!ConfigError.isInstance(error)) throw error;
    return error.violations.map(({ field, message }) => ({ field, message }));
  }
  throw new Error('expected a ConfigError');
}
