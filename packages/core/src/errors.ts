/**
 * Every error ksched throws is a {@link SchedulerError} with a stable `code`. Match on `code` (or
 * use the static `isInstance` guards, which keep working when two copies of `@ksched/core` are
 * installed), never on message text.
 *
 * @module
 */

/** Stable error codes. New codes may be added in minor releases; existing ones never change. */
export const errorCodes = [
  'KSM_INVALID_ARGUMENT',
  'KSM_CONTRACT_VIOLATION',
  'KSM_INVALID_RECORD',
  'KSM_SERIALIZATION',
  'KSM_INCOMPATIBLE_SCHEMA',
  'KSM_CONFIG',
  'KSM_TRANSPORT',
  'KSM_UNSUPPORTED',
  'KSM_FENCED',
  'KSM_STATE',
  'KSM_RECORD_REFUSED',
] as const;

/** One of {@link errorCodes}. */
export type ErrorCode = (typeof errorCodes)[number];

const brand = Symbol.for('@ksched/core/SchedulerError');

/** Options shared by every ksched error. */
export interface SchedulerErrorOptions {
  readonly cause?: unknown;
  /** Whether retrying the same operation may succeed. Defaults to `false`. */
  readonly retriable?: boolean;
}

/** Base class of every ksched error. */
export class SchedulerError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly [brand] = true;

  constructor(code: ErrorCode, message: string, options: SchedulerErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SchedulerError';
    this.code = code;
    this.retriable = options.retriable ?? false;
  }

  /** True for any ksched error, from this or another installed copy of `@ksched/core`. */
  static isInstance(value: unknown): value is SchedulerError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;
  }
}

/** One broken rule: which field, which rule, and a sentence for humans. */
export interface Violation {
  /** Dotted path of the offending field, e.g. `message.topic` or `headers.schedule_target_epoch`. */
  readonly field: string;
  /** Short stable rule name, e.g. `required`, `format`, `in_the_past`, `too_far_in_future`. */
  readonly rule: string;
  readonly message: string;
}

function describe(violations: readonly Violation[]): string {
  return violations.map((v) => `${v.field}: ${v.message}`).join('; ');
}

function hasCode(value: unknown, code: ErrorCode): boolean {
  return SchedulerError.isInstance(value) && value.code === code;
}

/** An argument given to a builder or function is invalid (`KSM_INVALID_ARGUMENT`). */
export class InvalidArgumentError extends SchedulerError {
  static readonly code = 'KSM_INVALID_ARGUMENT' satisfies ErrorCode;
  readonly violations: readonly Violation[];
  constructor(violations: readonly Violation[], options: SchedulerErrorOptions = {}) {
    super(InvalidArgumentError.code, describe(violations), options);
    this.name = 'InvalidArgumentError';
    this.violations = violations;
  }
  static override isInstance(value: unknown): value is InvalidArgumentError {
    return hasCode(value, InvalidArgumentError.code);
  }
}

/** A built envelope or cancel breaks the scheduled-messages message contract (`KSM_CONTRACT_VIOLATION`). */
export class ContractViolationError extends SchedulerError {
  static readonly code = 'KSM_CONTRACT_VIOLATION' satisfies ErrorCode;
  readonly violations: readonly Violation[];
  constructor(violations: readonly Violation[], options: SchedulerErrorOptions = {}) {
    super(ContractViolationError.code, describe(violations), options);
    this.name = 'ContractViolationError';
    this.violations = violations;
  }
  static override isInstance(value: unknown): value is ContractViolationError {
    return hasCode(value, ContractViolationError.code);
  }
}

/** Bytes could not be (de)serialized, e.g. a states payload that is not zlib JSON (`KSM_SERIALIZATION`). */
export class SerializationError extends SchedulerError {
  static readonly code = 'KSM_SERIALIZATION' satisfies ErrorCode;
  constructor(message: string, options: SchedulerErrorOptions = {}) {
    super(SerializationError.code, message, options);
    this.name = 'SerializationError';
  }
  static override isInstance(value: unknown): value is SerializationError {
    return hasCode(value, SerializationError.code);
  }
}

/** A record was written by a newer schema version than this scheduler understands (`KSM_INCOMPATIBLE_SCHEMA`). */
export class IncompatibleSchemaError extends SchedulerError {
  static readonly code = 'KSM_INCOMPATIBLE_SCHEMA' satisfies ErrorCode;
  readonly recordVersion: string;
  readonly supportedVersion: string;
  constructor(recordVersion: string, supportedVersion: string, options: SchedulerErrorOptions = {}) {
    super(
      IncompatibleSchemaError.code,
      `schedule_schema_version ${recordVersion} is newer than ${supportedVersion}, the newest this scheduler understands; upgrade ksched`,
      options,
    );
    this.name = 'IncompatibleSchemaError';
    this.recordVersion = recordVersion;
    this.supportedVersion = supportedVersion;
  }
  static override isInstance(value: unknown): value is IncompatibleSchemaError {
    return hasCode(value, IncompatibleSchemaError.code);
  }
}

/** Scheduler configuration is invalid (`KSM_CONFIG`); `violations` name each setting and rule. */
export class ConfigError extends SchedulerError {
  static readonly code = 'KSM_CONFIG' satisfies ErrorCode;
  readonly violations: readonly Violation[];
  constructor(violations: readonly Violation[], options: SchedulerErrorOptions = {}) {
    super(ConfigError.code, `invalid configuration: ${describe(violations)}`, options);
    this.name = 'ConfigError';
    this.violations = violations;
  }
  static override isInstance(value: unknown): value is ConfigError {
    return hasCode(value, ConfigError.code);
  }
}

/** A Kafka client operation failed (`KSM_TRANSPORT`); adapters map client errors to this. */
export class TransportError extends SchedulerError {
  static readonly code = 'KSM_TRANSPORT' satisfies ErrorCode;
  constructor(message: string, options: SchedulerErrorOptions = {}) {
    super(TransportError.code, message, options);
    this.name = 'TransportError';
  }
  static override isInstance(value: unknown): value is TransportError {
    return hasCode(value, TransportError.code);
  }
}

/** The transport or configuration does not support a requested feature (`KSM_UNSUPPORTED`). */
export class UnsupportedError extends SchedulerError {
  static readonly code = 'KSM_UNSUPPORTED' satisfies ErrorCode;
  constructor(message: string, options: SchedulerErrorOptions = {}) {
    super(UnsupportedError.code, message, options);
    this.name = 'UnsupportedError';
  }
  static override isInstance(value: unknown): value is UnsupportedError {
    return hasCode(value, UnsupportedError.code);
  }
}

/** An operation was called in a state that does not allow it (`KSM_STATE`). */
export class StateError extends SchedulerError {
  static readonly code = 'KSM_STATE' satisfies ErrorCode;
  constructor(message: string, options: SchedulerErrorOptions = {}) {
    super(StateError.code, message, options);
    this.name = 'StateError';
  }
  static override isInstance(value: unknown): value is StateError {
    return hasCode(value, StateError.code);
  }
}

/**
 * A transactional producer was fenced by a newer producer with the same transactional id
 * (`KSM_FENCED`, never retriable): another member now owns the partition it was dispatching for.
 */
export class FencedError extends SchedulerError {
  static readonly code = 'KSM_FENCED' satisfies ErrorCode;
  constructor(message: string, options: SchedulerErrorOptions = {}) {
    super(FencedError.code, message, { ...options, retriable: false });
    this.name = 'FencedError';
  }
  static override isInstance(value: unknown): value is FencedError {
    return hasCode(value, FencedError.code);
  }
}

/**
 * A produce call refused one of its records before sending anything (`KSM_RECORD_REFUSED`, never
 * retriable): the client cannot produce that record as it is (for example a header value the
 * client would alter). `recordIndex` is its index in the call's `records`; none of the call's
 * records was written, so the others can be produced again at once without any duplicate.
 */
export class RecordRefusedError extends SchedulerError {
  static readonly code = 'KSM_RECORD_REFUSED' satisfies ErrorCode;
  readonly recordIndex: number;
  constructor(recordIndex: number, message: string, options: Omit<SchedulerErrorOptions, 'retriable'> = {}) {
    super(RecordRefusedError.code, `record ${recordIndex} refused before sending: ${message}`, { ...options, retriable: false });
    this.name = 'RecordRefusedError';
    this.recordIndex = recordIndex;
  }
  static override isInstance(value: unknown): value is RecordRefusedError {
    return hasCode(value, RecordRefusedError.code);
  }
}
