import { describe, it, expect } from 'vitest';
import {
  IncompatibleSchemaError,
  InvalidArgumentError,
  SCHEMA_VERSION,
  SchedulerError,
  assertCompatibleSchema,
  compareVersions,
  isCompatibleSchema,
  isVersion,
} from '@ksched/core';

// Reference §11, unit level: SchemaValidator.
describe('schema version check', () => {
  it('the current version is 1.0.0', () => {
    expect(SCHEMA_VERSION).toBe('1.0.0');
  });

  it('passes an equal version', () => {
    expect(() => assertCompatibleSchema('1.0.0')).not.toThrow();
    expect(isCompatibleSchema('1.0.0')).toBe(true);
  });

  it('passes a lower version', () => {
    expect(() => assertCompatibleSchema('0.9.0')).not.toThrow();
    expect(() => assertCompatibleSchema('0.0.0')).not.toThrow();
  });

  it('rejects a higher version (2.0.0) with IncompatibleSchemaError', () => {
    let caught: unknown;
    try {
      assertCompatibleSchema('2.0.0');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(IncompatibleSchemaError);
    expect(caught).toBeInstanceOf(SchedulerError);
    const error = caught as IncompatibleSchemaError;
    expect(error.code).toBe('KSM_INCOMPATIBLE_SCHEMA');
    expect(error.recordVersion).toBe('2.0.0');
    expect(error.supportedVersion).toBe('1.0.0');
    expect(error.message).toContain('2.0.0');
  });

  it('passes 1.2.0 against a current 1.10.0 (numeric, not lexical)', () => {
    expect(() => assertCompatibleSchema('1.2.0', '1.10.0')).not.toThrow();
  });

  it('rejects 1.10.0 against a current 1.2.0', () => {
    expect(() => assertCompatibleSchema('1.10.0', '1.2.0')).toThrow(IncompatibleSchemaError);
  });
});

describe('compareVersions / isVersion', () => {
  it.each([
    ['1.0.0', '1.0.0', 0],
    ['1.0', '1.0.0', 0],
    ['1', '1.0.1', -1],
    ['1.2.0', '1.10.0', -1],
    ['1.10.0', '1.2.0', 1],
    ['2.0.0', '1.99.99', 1],
    ['0.0.1', '0.0.0', 1],
  ] as const)('%s vs %s → %d', (a, b, want) => {
    expect(compareVersions(a, b)).toBe(want);
    expect(compareVersions(b, a)).toBe(-want || 0);
  });

  it.each(['1.0.0', '1.0', '1', '10.20.30'])('%s is a version', (v) => {
    expect(isVersion(v)).toBe(true);
  });

  it.each(['', '1.0.0-beta', 'v1.0.0', '1..0', '1.0.', ' 1.0.0', 'one'])('%j is not a version', (v) => {
    expect(isVersion(v)).toBe(false);
    expect(() => compareVersions(v, '1.0.0')).toThrow(InvalidArgumentError);
    expect(() => compareVersions('1.0.0', v)).toThrow(InvalidArgumentError);
  });
});
