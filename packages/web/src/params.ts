/**
 * Request parameters, checked: each failure is an {@link HttpError} naming the parameter, which
 * the handler turns into a 4xx page or JSON error (never a stack trace).
 *
 * @module
 */
import { MAX_PAGE_SIZE, parseDuration, parseTime } from '@ksched/core';
import type { InvalidArgumentError } from '@ksched/core';

/** A request the handler refuses: its status, what is wrong, and the parameter to blame. */
export class HttpError extends Error {
  readonly status: number;
  readonly parameter: string | undefined;
  /** Extra response headers (e.g. `www-authenticate`). */
  readonly headers: Readonly<Record<string, string>>;
  constructor(status: number, message: string, parameter?: string, headers: Readonly<Record<string, string>> = {}) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
    this.parameter = parameter;
    this.headers = headers;
  }
}

/** Where parameters come from: a query string or a form body (both `URLSearchParams`), or a JSON body. */
export type Params = Pick<URLSearchParams, 'get'>;

/** Parameters of a JSON body (strings and numbers; anything else is refused by the checks). */
export function jsonParams(body: unknown): Params {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, 'the body must be a JSON object', 'body');
  const object = body as Record<string, unknown>;
  return {
    get(name: string): string | null {
      const value = object[name];
      if (value === undefined || value === null) return null;
      if (typeof value === 'string') return value;
      if (typeof value === 'number' && Number.isFinite(value)) return String(value);
      throw new HttpError(400, `must be a string or a number, got ${Array.isArray(value) ? 'an array' : typeof value}`, name);
    },
  };
}

function text(params: Params, name: string): string | undefined {
  const value = params.get(name);
  return value === null || value.trim().length === 0 ? undefined : value;
}

/** The schedules topic asked for, default the first; one not shown by the UI is a 404 naming `topic`. */
export function topicParam(params: Params, topics: readonly string[]): string {
  const topic = text(params, 'topic') ?? topics[0]!;
  if (!topics.includes(topic))
    throw new HttpError(404, `${JSON.stringify(topic)} is not a schedules topic here (known: ${topics.join(', ')})`, 'topic');
  return topic;
}

function integer(params: Params, name: string, what: string): number | undefined {
  const value = text(params, name);
  if (value === undefined) return undefined;
  if (!/^\d{1,15}$/.test(value.trim())) throw new HttpError(400, `must be ${what}, got ${JSON.stringify(value.slice(0, 40))}`, name);
  return Number(value.trim());
}

export function partitionParam(params: Params, required: true): number;
export function partitionParam(params: Params, required: false): number | undefined;
export function partitionParam(params: Params, required: boolean): number | undefined {
  const partition = integer(params, 'partition', 'a partition number (0, 1, …)');
  if (partition === undefined && required) throw new HttpError(400, 'is required', 'partition');
  return partition;
}

export function offsetParam(params: Params): number | undefined {
  return integer(params, 'offset', 'an offset (a whole number ≥ 0)');
}

export function limitParam(params: Params, fallback: number): number {
  const limit = integer(params, 'limit', `a page size from 1 to ${MAX_PAGE_SIZE}`) ?? fallback;
  if (limit < 1 || limit > MAX_PAGE_SIZE) throw new HttpError(400, `must be from 1 to ${MAX_PAGE_SIZE}, got ${limit}`, 'limit');
  return limit;
}

/** Most characters of a key the UI accepts. */
export const MAX_KEY_LENGTH = 4096;

export function keyParam(params: Params): string {
  const key = params.get('key');
  if (key === null || key.length === 0) throw new HttpError(400, 'is required: the schedule key', 'key');
  if (key.length > MAX_KEY_LENGTH) throw new HttpError(400, `is longer than ${MAX_KEY_LENGTH} characters`, 'key');
  return key;
}

export function optionalText(params: Params, name: string): string | undefined {
  return text(params, name);
}

/** A point in time given as `name` (ISO 8601 or Unix seconds / ms), as Unix ms. */
export function timeParam(params: Params, name: string): number | undefined {
  const value = text(params, name);
  if (value === undefined) return undefined;
  const parsed = parseTime(value);
  if (parsed === undefined) {
    throw new HttpError(
      400,
      `${JSON.stringify(value.slice(0, 60))} is not a time (ISO 8601 like 2026-12-07T09:30:00Z, or Unix seconds or milliseconds)`,
      name,
    );
  }
  const ms = 'epoch' in parsed ? parsed.epoch * 1000 : parsed.atMs;
  if (!Number.isFinite(ms) || ms < 0 || ms > 253402300799999)
    throw new HttpError(400, `${JSON.stringify(value)} is out of range (years 1970 to 9999)`, name);
  return ms;
}

/** A duration given as `name` (`90s`, `15m`, `1h30m`, or ms), ms. */
export function durationParam(params: Params, name: string): number | undefined {
  const value = text(params, name);
  if (value === undefined) return undefined;
  const ms = parseDuration(value);
  if (ms === undefined)
    throw new HttpError(400, `${JSON.stringify(value.slice(0, 60))} is not a duration (examples: 90s, 15m, 1h30m, 2d)`, name);
  return ms;
}

/** An `InvalidArgumentError` from the admin API as an HTTP error naming its first field. */
export function fromInvalidArgument(error: InvalidArgumentError, rename: Readonly<Record<string, string>> = {}): HttpError {
  const violation = error.violations[0];
  const field = violation?.field ?? 'request';
  const status = violation?.rule === 'unknown' ? 404 : violation?.rule === 'not_pending' ? 409 : 400;
  return new HttpError(status, violation?.message ?? error.message, rename[field] ?? field);
}
