import { SCHEMA_VERSION } from '../contracts/headers.js';
import { IncompatibleSchemaError, InvalidArgumentError } from '../errors.js';

const VERSION_PATTERN = /^\d+(\.\d+)*$/;

/** True when `version` is dotted decimal numbers, e.g. `1.0.0` or `1.10`. */
export function isVersion(version: string): boolean {
  return VERSION_PATTERN.test(version);
}

/**
 * Compares two dotted versions segment by segment as numbers (`1.2.0` < `1.10.0`; missing
 * segments count as 0, so `1.0` equals `1.0.0`). Returns −1, 0 or 1.
 *
 * @throws InvalidArgumentError (`KSM_INVALID_ARGUMENT`) when either is not a dotted decimal version.
 */
export function compareVersions(a: string, b: string): -1 | 0 | 1 {
  if (!isVersion(a) || !isVersion(b)) {
    const bad = isVersion(a) ? b : a;
    throw new InvalidArgumentError([
      { field: 'version', rule: 'format', message: `not a dotted decimal version: ${JSON.stringify(bad.slice(0, 64))}` },
    ]);
  }
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? 0;
    const y = pb[i] ?? 0;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** True when a record of `recordVersion` can be read by a scheduler at `current` (not newer). */
export function isCompatibleSchema(recordVersion: string, current: string = SCHEMA_VERSION): boolean {
  return compareVersions(recordVersion, current) <= 0;
}

/**
 * @throws IncompatibleSchemaError (`KSM_INCOMPATIBLE_SCHEMA`) when `recordVersion` is newer than `current`.
 */
export function assertCompatibleSchema(recordVersion: string, current: string = SCHEMA_VERSION): void {
  if (!isCompatibleSchema(recordVersion, current)) throw new IncompatibleSchemaError(recordVersion, current);
}
