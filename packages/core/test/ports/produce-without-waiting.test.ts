import { describe, expect, it } from 'vitest';
import { noopLogger, produceWithoutWaiting, type Logger } from '@ksched/core';

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('produceWithoutWaiting', () => {
  it('passes a rejection and a synchronous throw to onError, and returns at once', async () => {
    const errors: unknown[] = [];
    produceWithoutWaiting(
      () => Promise.reject(new Error('rejected')),
      (e) => errors.push(e),
      noopLogger,
    );
    produceWithoutWaiting(
      () => {
        throw new Error('thrown');
      },
      (e) => errors.push(e),
      noopLogger,
    );
    await tick();
    expect(errors.map((e) => (e as Error).message).sort()).toEqual(['rejected', 'thrown']);
  });

  it('never throws, not even when onError does; without onError the failure is logged', async () => {
    const warned: unknown[] = [];
    const logger: Logger = { ...noopLogger, warn: (fields: unknown) => void warned.push(fields) };
    expect(() =>
      produceWithoutWaiting(
        () => {
          throw new Error('x');
        },
        () => {
          throw new Error('callback');
        },
        logger,
      ),
    ).not.toThrow();
    produceWithoutWaiting(() => Promise.reject(new Error('logged')), undefined, logger);
    await tick();
    expect(warned).toHaveLength(1);
  });
});
