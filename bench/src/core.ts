/**
 * Core benchmark (no broker): taking the k due schedules from a DailyBuffer holding a day of
 * schedules, versus the reference's approach (scan every entry, keep the due ones, sort them by
 * due time then offset), in the same process and run. Prints a markdown table and writes JSON.
 *
 *   pnpm --filter @ksched/bench bench:core [--entries 8640000] [--due 100] [--rounds 5]
 */
import { writeFileSync } from 'node:fs';
import { DailyBuffer } from '@ksched/core';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const entries = arg('entries', 8_640_000);
const dueCount = arg('due', 100);
const rounds = arg('rounds', 5);

const dayStart = 1_767_225_600_000;
// 100 schedules per second over a day; `now` sits just after the first `dueCount` of them.
const buffer = new DailyBuffer<null>();
const flat: { key: string; dueMs: number; offset: number }[] = [];
for (let i = 0; i < entries; i++) {
  const dueMs = dayStart + Math.floor((i * 86_400_000) / entries);
  const entry = { key: `k${i}`, dueMs, offset: i, value: null };
  buffer.add(entry);
  flat.push(entry);
}
const now = flat[dueCount - 1]!.dueMs;

function scanAndSort(): number {
  // The reference: select every entry with due <= now, then sort by (due, offset).
  const due: { dueMs: number; offset: number }[] = [];
  for (const e of flat) if (e.dueMs <= now) due.push(e);
  due.sort((a, b) => a.dueMs - b.dueMs || a.offset - b.offset);
  return due.length;
}

function take(): number {
  return buffer.due(now, Number.POSITIVE_INFINITY).length;
}

function time(fn: () => number): { ms: number; n: number } {
  let best = Number.POSITIVE_INFINITY;
  let n = 0;
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    n = fn();
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return { ms: best, n };
}

const scan = time(scanAndSort);
const takeRes = time(take);
if (scan.n !== takeRes.n || takeRes.n !== dueCount) throw new Error(`mismatch: scan ${scan.n}, take ${takeRes.n}, expected ${dueCount}`);
const ratio = scan.ms / takeRes.ms;
const result = { entries, due: dueCount, rounds, scanMs: scan.ms, takeMs: takeRes.ms, takeVsScan: ratio, node: process.version };
console.log(`| measure | value |\n| --- | --- |`);
console.log(`| buffered schedules | ${entries.toLocaleString('en')} |`);
console.log(`| due entries taken | ${dueCount} |`);
console.log(`| full scan + sort (best of ${rounds}) | ${scan.ms.toFixed(3)} ms |`);
console.log(`| DailyBuffer.due (best of ${rounds}) | ${takeRes.ms.toFixed(4)} ms |`);
console.log(`| take vs scan | ${ratio.toFixed(0)}× |`);
writeFileSync(new URL('../results/core.json', import.meta.url), JSON.stringify(result, null, 2));
