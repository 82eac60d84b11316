/**
 * The v1.0.0 schedules-topic wire format, both directions, in one place:
 *
 * - decode: {@link decodeRecord} reads a consumed envelope (schedule, cancel, tombstone) into what
 *   the engine acts on, {@link decodeDueTime} and {@link headerText} its parts;
 * - encode: {@link scheduleHeaders} and {@link cancelHeaders} write an envelope's headers,
 *   {@link dispatchPair} builds the target message and the tombstone that dispatching a schedule
 *   produces;
 * - the buffered form: {@link packSchedule} packs a decoded schedule with its routing into one
 *   string, {@link unpackSchedule} gives the record and that routing back for dispatch, without
 *   decoding the envelope again.
 *
 * Envelopes are built by `schedule` and `cancel` (`contracts/scheduled-message.ts`: input
 * validation, envelope key and partitioning, the message contract) with these headers; states
 * reports are in `wire/states.ts`.
 *
 * @module
 */
export { decodeRecord, decodeDueTime, headerText, invalidReasons } from './decode.js';
export type { DecodedRecord, InvalidReason, TargetRouting } from './decode.js';
export { BINARY_HEADERS_HEADER, cancelHeaders, deadLetterPair, dispatchPair, scheduleHeaders, textOnlyHeaders } from './encode.js';
export type { DeadLetterCause, DispatchPair, EnvelopeMessage } from './encode.js';
export { packSchedule, unpackSchedule, utf8 } from './pack.js';
export type { UnpackedSchedule } from './pack.js';
