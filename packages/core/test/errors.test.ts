import { describe, it, expect } from 'vitest';
import {
  ConfigError,
  ContractViolationError,
  IncompatibleSchemaError,
  InvalidArgumentError,
  SchedulerError,
  SerializationError,
  StateError,
  TransportError,
  UnsupportedError,
  errorCodes,
  type ErrorCode,
} from '@ksched/core';

const violation = { field: 'flushBatchSize', rule: 'min', message: 'needs to be an integer bigger than 0' };

interface Case {
  readonly name: string;
  readonly cls: { readonly code: ErrorCode; isInstance(value: unknown): boolean };
  readonly make: (options?: { cause?: unknown; retriable?: boolean }) => SchedulerError;
}

const cases: readonly Case[] = [
  { name: 'InvalidArgumentError', cls: InvalidArgumentError, make: (o) => new InvalidArgumentError([violation], o) },
  { name: 'ContractViolationError', cls: ContractViolationError, make: (o) => new ContractViolationError([violation], o) },
  { name: 'SerializationError', cls: SerializationError, make: (o) => new SerializationError('bad bytes', o) },
  { name: 'IncompatibleSchemaError', cls: IncompatibleSchemaError, make: (o) => new IncompatibleSchemaError('2.0.0', '1.0.0', o) },
  { name: 'ConfigError', cls: ConfigError, make: (o) => new ConfigError([violation], o) },
  { name: 'TransportError', cls: TransportError, make: (o) => new TransportError('broker down', o) },
  { name: 'UnsupportedError', cls: UnsupportedError, make: (o) => new UnsupportedError('no transactions', o) },
  { name: 'StateError', cls: StateError, make: (o) => new StateError('not started', o) },
];

// Reference §11, unit level: error hierarchy (IncompatibleSchemaError < BaseError < framework base).
describe('errors', () => {
  it('has one code per subclass, all distinct and all listed', () => {
    const codes = cases.map((c) => c.cls.code);
    expect(new Set(codes).size).toBe(codes.length);
    for (const code of codes) expect(errorCodes).toContain(code);
    for (const code of codes) expect(code).toMatch(/^KSM_[A-Z_]+$/);
  });

  it.each(cases)('$name extends SchedulerError and Error, with its static code and name', ({ name, cls, make }) => {
    const error = make();
    expect(error).toBeInstanceOf(SchedulerError);
    expect(error).toBeInstanceOf(Error);
    expect(error).toBeInstanceOf(cls as unknown as new (...args: never[]) => unknown);
    expect(error.code).toBe(cls.code);
    expect(error.name).toBe(name);
    expect(error.retriable).toBe(false);
    expect(error.cause).toBeUndefined();
    expect(error.message.length).toBeGreaterThan(0);
    expect(error.stack).toContain(name);
  });

  it.each(cases)('$name keeps its cause and retriable flag', ({ make }) => {
    const cause = new Error('root');
    const error = make({ cause, retriable: true });
    expect(error.cause).toBe(cause);
    expect(error.retriable).toBe(true);
  });

  it.each(cases)('$name.isInstance matches its own code only', ({ cls, make }) => {
    expect(cls.isInstance(make())).toBe(true);
    expect(SchedulerError.isInstance(make())).toBe(true);
    for (const other of cases) {
      if (other.cls !== cls) expect(cls.isInstance(other.make())).toBe(false);
    }
  });

  it('isInstance works across a second copy of core (Symbol.for brand)', () => {
    // What an error from another installed copy looks like: a different class, same global brand.
    class OtherCopyError extends Error {
      readonly code = 'KSM_CONFIG';
      constructor(message: string) {
        super(message);
        Object.defineProperty(this, Symbol.for('@ksched/core/SchedulerError'), { value: true });
      }
    }
    const foreign = new OtherCopyError('from the other copy');
    expect(foreign).not.toBeInstanceOf(SchedulerError);
    expect(SchedulerError.isInstance(foreign)).toBe(true);
    expect(ConfigError.isInstance(foreign)).toBe(true);
    expect(TransportError.isInstance(foreign)).toBe(false);

    const plain = { code: 'KSM_TRANSPORT', [Symbol.for('@ksched/core/SchedulerError')]: true };
    expect(TransportError.isInstance(plain)).toBe(true);
  });

  it('isInstance rejects look-alikes without the brand', () => {
    expect(SchedulerError.isInstance(new Error('x'))).toBe(false);
    expect(ConfigError.isInstance({ code: 'KSM_CONFIG' })).toBe(false);
    expect(SchedulerError.isInstance(null)).toBe(false);
    expect(SchedulerError.isInstance('KSM_CONFIG')).toBe(false);
    expect(SchedulerError.isInstance({ [Symbol.for('@ksched/core/SchedulerError')]: 'yes' })).toBe(false);
  });

  it('violation errors carry the violations and describe them in the message', () => {
    const error = new ConfigError([violation, { field: 'intervalMs', rule: 'min', message: 'too small' }]);
    expect(error.violations).toHaveLength(2);
    expect(error.message).toBe('invalid configuration: flushBatchSize: needs to be an integer bigger than 0; intervalMs: too small');
    expect(new ContractViolationError([violation]).message).toBe('flushBatchSize: needs to be an integer bigger than 0');
    expect(new InvalidArgumentError([violation]).violations).toEqual([violation]);
  });

  it('IncompatibleSchemaError names both versions', () => {
    const error = new IncompatibleSchemaError('2.0.0', '1.0.0');
    expect(error.recordVersion).toBe('2.0.0');
    expect(error.supportedVersion).toBe('1.0.0');
    expect(error.message).toContain('2.0.0');
    expect(error.message).toContain('1.0.0');
  });

  it('the base class can be built with any listed code', () => {
    const error = new SchedulerError('KSM_INVALID_RECORD', 'bad record');
    expect(error.code).toBe('KSM_INVALID_RECORD');
    expect(error.name).toBe('SchedulerError');
    expect(SchedulerError.isInstance(error)).toBe(true);
  });
});
