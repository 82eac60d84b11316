/**
 * Small helpers of the engine scenarios: the real clock and timers, text views of records, counts.
 *
 * @module
 */
import { Header } from '@ksched/core';
import type { HeaderValue, RecordHeaders, TopicPartition } from '@ksched/core';

// Real timers captured at load time: the suite waits in real time even if a test file fakes timers.
export const realSetTimeout = globalThis.setTimeout;
export const realDateNow = Date.now.bind(Date);
const decoder = new TextDecoder();

export const HOUR = 3_600_000;
/** Scenarios that need "later today" are skipped this close to UTC midnight. */
export const MIDNIGHT_MARGIN_MS = 2 * 60_000;

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => realSetTimeout(resolve, Math.max(0, ms)));
}

export function text(value: HeaderValue | Uint8Array | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  return typeof value === 'string' ? value : decoder.decode(value);
}

export function headerTexts(headers: RecordHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) out[name] = text(value) ?? '';
  return out;
}

export function tpKey(tp: TopicPartition): string {
  return `${tp.topic}\u0000${tp.partition}`;
}

export const seconds = (ms: number): number => Math.floor(ms / 1000);

/** Due time of a target or schedule record from its headers, Unix ms (the ms header wins, as in the engine). */
export function dueOf(headers: RecordHeaders): number {
  const ms = text(headers[Header.targetEpochMs]);
  if (ms !== null) return Number(ms);
  return Number(text(headers[Header.targetEpoch])) * 1000;
}

export function counts(keys: readonly (string | null)[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const k of keys) out.set(k ?? '(null)', (out.get(k ?? '(null)') ?? 0) + 1);
  return out;
}
