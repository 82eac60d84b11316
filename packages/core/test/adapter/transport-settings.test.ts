// The transport settings every adapter takes besides the connection (`transportSettingsShape`),
// tested once here: their defaults and their checks. Each adapter's own option tests cover only
// the settings it adds; tests/interop checks that each adapter's transport options carry these.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { configViolations } from '@ksched/testkit';
import { parseOptions, schemaDefault, schemaDescription, transportSettingsShape } from '../../src/adapter/connection.js';

const transportSettings = z.strictObject(transportSettingsShape);

describe('transport settings shared by the adapters', () => {
  it('fills in the defaults', () => {
    expect(parseOptions(transportSettings, {})).toEqual({
      sessionTimeoutMs: 30_000,
      rebalanceTimeoutMs: 60_000,
      heartbeatIntervalMs: 3000,
      maxWaitTimeMs: 500,
      fetchMaxBytesPerPartition: 1_048_576,
      maxBatchRetries: 3,
    });
  });

  it('takes values as given, including 0 where 0 is allowed', () => {
    const given = {
      sessionTimeoutMs: 6000,
      rebalanceTimeoutMs: 10_000,
      heartbeatIntervalMs: 1000,
      maxWaitTimeMs: 0,
      fetchMaxBytesPerPartition: 300,
      maxBatchRetries: 0,
    };
    expect(parseOptions(transportSettings, given)).toEqual(given);
  });

  it('names every bad setting in one ConfigError', () => {
    expect(
      configViolations(() =>
        parseOptions(transportSettings, {
          sessionTimeoutMs: 0,
          rebalanceTimeoutMs: -1,
          heartbeatIntervalMs: 0,
          maxWaitTimeMs: 1.5,
          fetchMaxBytesPerPartition: 0,
          maxBatchRetries: -1,
        }),
      ),
    ).toEqual([
      { field: 'sessionTimeoutMs', message: 'needs to be an integer ≥ 1' },
      { field: 'rebalanceTimeoutMs', message: 'needs to be an integer ≥ 1' },
      { field: 'heartbeatIntervalMs', message: 'needs to be an integer ≥ 1' },
      { field: 'maxWaitTimeMs', message: 'needs to be an integer ≥ 0' },
      { field: 'fetchMaxBytesPerPartition', message: 'needs to be an integer ≥ 1' },
      { field: 'maxBatchRetries', message: 'needs to be an integer ≥ 0' },
    ]);
  });

  it('each setting has a default and a description (the app settings table reads them)', () => {
    for (const [name, schema] of Object.entries(transportSettingsShape)) {
      expect(schemaDefault(schema), name).toBeTypeOf('number');
      expect(schemaDescription(schema), name).toMatch(/\w/);
    }
  });
});
