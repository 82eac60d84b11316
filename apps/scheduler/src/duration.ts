/**
 * Durations and points in time as people write them on the command line. The parsers live in
 * `@ksched/core` (the Web UI parses the same inputs); this module keeps the service's imports short.
 *
 * @module
 */
export { parseDuration, requireDuration, formatDuration, parseTime } from '@ksched/core';
export type { ParsedTime } from '@ksched/core';
