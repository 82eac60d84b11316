/**
 * Durations as people write them (the CLI, the Web UI): `90s`, `5m`, `1h30m`, `250ms`, `2d`, or a plain number of
 * milliseconds (`1500`).
 *
 * @module
 */

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;

/**
 * Parses a duration into milliseconds (rounded to a whole millisecond), or `undefined` when the
 * text is not a duration. Units (`ms`, `s`, `m`, `h`, `d`) may be combined, largest first or not
 * (`1h30m`, `1m30s`, `2s500ms`); a bare number is milliseconds. Whitespace around is ignored; a
 * sign or an empty string is not a duration.
 *
 * @example
 * ```ts
 * parseDuration('90s');   // 90000
 * parseDuration('1h30m'); // 5400000
 * parseDuration('1500');  // 1500
 * parseDuration('soon');  // undefined
 * ```
 */
export function parseDuration(text: string): number | undefined {
  const input = text.trim().toLowerCase();
  if (input.length === 0) return undefined;
  if (/^\d+$/.test(input)) return Number(input);
  PART.lastIndex = 0;
  let total = 0;
  let consumed = 0;
  for (let match = PART.exec(input); match !== null; match = PART.exec(input)) {
    total += Number(match[1]) * UNIT_MS[match[2]!]!;
    consumed = PART.lastIndex;
  }
  if (consumed !== input.length || !Number.isFinite(total)) return undefined;
  return Math.round(total);
}

/**
 * Like {@link parseDuration}, but throws a `RangeError` that quotes the text.
 *
 * @throws RangeError when `text` is not a duration.
 */
export function requireDuration(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw new RangeError(`"${text}" is not a duration (examples: 90s, 5m, 1h30m, 250ms, or milliseconds)`);
  return ms;
}

/** Formats milliseconds compactly for people: `850ms`, `12.3s`, `4m05s`, `2h03m`. */
export function formatDuration(ms: number): string {
  const sign = ms < 0 ? '-' : '';
  const abs = Math.abs(ms);
  if (abs < 1000) return `${sign}${Math.round(abs)}ms`;
  if (abs < 60_000) return `${sign}${(abs / 1000).toFixed(abs < 10_000 ? 2 : 1)}s`;
  if (abs < 3_600_000) {
    const m = Math.floor(abs / 60_000);
    return `${sign}${m}m${String(Math.floor((abs % 60_000) / 1000)).padStart(2, '0')}s`;
  }
  const h = Math.floor(abs / 3_600_000);
  return `${sign}${h}h${String(Math.floor((abs % 3_600_000) / 60_000)).padStart(2, '0')}m`;
}

/** A due time given on the command line: Unix seconds (kept as written) or milliseconds. */
export type ParsedTime = { readonly epoch: number } | { readonly atMs: number };

/**
 * Parses a point in time: ISO 8601 (`2030-01-01T09:30:00Z`; without a zone it is local time), or
 * a Unix epoch — seconds (up to 11 digits, fractions allowed) or milliseconds (12+ digits).
 * Whole seconds stay seconds so that only the v1.0.0 seconds header is written.
 *
 * @example
 * ```ts
 * parseTime('1893456000');           // { epoch: 1893456000 }
 * parseTime('1893456000123');        // { atMs: 1893456000123 }
 * parseTime('2030-01-01T00:00:00Z'); // { atMs: 1893456000000 }
 * ```
 */
export function parseTime(text: string): ParsedTime | undefined {
  const input = text.trim();
  if (/^\d+$/.test(input)) {
    return input.length >= 12 ? { atMs: Number(input) } : { epoch: Number(input) };
  }
  if (/^\d+\.\d+$/.test(input)) return { atMs: Math.round(Number(input) * 1000) };
  if (!/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/i.test(input)) return undefined;
  // eslint-disable-next-line no-restricted-globals -- Date.parse reads no clock: it only parses the text
  const ms = Date.parse(input);
  return Number.isFinite(ms) ? { atMs: ms } : undefined;
}
