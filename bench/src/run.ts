/**
 * Runs every measure (each in its own node process), for both adapters, then prints a markdown
 * table, one `bench(rdkafka):` line (rdkafka adapter) and, last, one `bench:` line (kafkajs
 * adapter), writes results/summary.json and the chart results/benchmarks.svg.
 *
 *   pnpm bench          # full sizes
 *   pnpm bench:quick    # same measures, smaller (under 5 minutes)
 *
 * KSCHED_BROKERS: use that cluster; unset: start the local broker (scripts/kafka/kafka.sh, port
 * KSCHED_KAFKA_PORT) and stop it at the end if this run started it.
 * KSCHED_BENCH_ONLY=core,memory,precision,precision5k,reload,dispatch,midnight,rebalance,explorer,partitions:
 * run a subset (the rest is read from results/; e.g. KSCHED_BENCH_ONLY=explorer for the explorer
 * page alone). precision5k is precision.ts at 5,000 due/s (results/precision5k.json); partitions
 * is partitions.ts (60 partitions, transactional and not).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { brokers, log, quick, repoRoot, resultsDir, writeResult } from './lib/common.js';
import { writeChart } from './chart.js';

const src = fileURLToPath(new URL('./', import.meta.url));
const mode = quick ? 'quick' : 'full';
const measures = ['core', 'memory', 'precision', 'precision5k', 'reload', 'dispatch', 'midnight', 'rebalance', 'explorer', 'partitions'];
const only = process.env.KSCHED_BENCH_ONLY?.split(',').map((m) => m.trim());
const unknown = only?.filter((m) => !measures.includes(m)) ?? [];
if (unknown.length > 0) throw new Error(`KSCHED_BENCH_ONLY: unknown measure(s) ${unknown.join(', ')} (known: ${measures.join(', ')})`);
const kafkaSh = `${repoRoot}scripts/kafka/kafka.sh`;

const external = Boolean(process.env.KSCHED_BROKERS);
let startedBroker = false;
if (!process.env.KSCHED_BROKERS) {
  const running = spawnSync(kafkaSh, ['status'], { stdio: 'ignore' }).status === 0;
  brokers();
  startedBroker = !running;
}

const t0 = performance.now();
/** Runs measure `name` (the script of the same name unless `script` is given) in its own process. */
function run(name: string, args: string[], nodeFlags: string[] = [], script = name): void {
  if (only && !only.includes(name)) return;
  log(`--- ${name} (${mode})`);
  const r = spawnSync(process.execPath, [...nodeFlags, '--conditions=@ksched/source', '--import', 'tsx', `${src}${script}.ts`, ...args], {
    stdio: ['ignore', 2, 2],
    env: process.env,
  });
  if (r.status !== 0) throw new Error(`${name} failed (exit ${r.status})`);
}
const q = quick ? ['--quick'] : [];
try {
  run('core', quick ? ['--entries', '1000000'] : [], ['--expose-gc', '--max-old-space-size=8192']);
  run('memory', q, ['--expose-gc', '--max-old-space-size=8192']);
  run('precision', q);
  run('precision5k', [...q, '--rate', '5000', '--seconds', quick ? '10' : '30', '--out', 'precision5k'], [], 'precision');
  run('reload', q, ['--max-old-space-size=4096']);
  run('dispatch', q, ['--max-old-space-size=4096']);
  run('midnight', q, ['--max-old-space-size=4096']);
  run('rebalance', q);
  run('explorer', q, ['--max-old-space-size=4096']);
  run('partitions', q);
} finally {
  if (startedBroker) execFileSync(kafkaSh, ['stop'], { stdio: ['ignore', 2, 2] });
}

const read = (name: string) => JSON.parse(readFileSync(`${resultsDir}${name}.json`, 'utf8'));
const core = read('core');
const memory = read('memory');
const precision = read('precision');
const reload = read('reload');
const dispatch = read('dispatch');
const midnight = read('midnight');
const rebalance = read('rebalance');
/** A result measured only in later runs: undefined where its file is missing (its rows are left out). */
const readOptional = (name: string) => {
  try {
    return read(name);
  } catch {
    return undefined;
  }
};
// Measured since 2026-12-07: absent from the results of earlier runs.
const explorer = readOptional('explorer');
const precision5k = readOptional('precision5k');
const partitions = readOptional('partitions');

const kafkaVersion = external
  ? (process.env.KSCHED_KAFKA_VERSION ?? 'external broker (version not checked)')
  : (process.env.KSCHED_KAFKA_VERSION ?? '4.4.0');
const machine = {
  nproc: os.availableParallelism(),
  cpu: os.cpus()[0]?.model ?? 'unknown',
  memoryGiB: Math.round(os.totalmem() / 2 ** 30),
  node: process.version,
  kafka: kafkaVersion,
  platform: `${os.platform()} ${os.release()}`,
};

const summary = {
  mode,
  date: new Date().toISOString(),
  durationS: Math.round((performance.now() - t0) / 1000),
  machine,
  core,
  memory,
  precision,
  reload,
  dispatch,
  midnight,
  rebalance,
  explorer,
  precision5k,
  partitions,
};
writeResult('summary', summary);
writeChart(summary);

const f = (n: number, d = 0) =>
  Number.isFinite(n) ? n.toLocaleString('en', { maximumFractionDigits: d, minimumFractionDigits: d }) : 'n/a';
const ad = ['kafkajs', 'rdkafka'] as const;
const cell = (fn: (a: (typeof ad)[number]) => string) =>
  ad
    .map((a) => {
      try {
        return fn(a);
      } catch {
        return 'n/a';
      }
    })
    .join(' | ');
const p = (a: string) => precision.adapters[a];
const mid = (a: string) => midnight.adapters[a];
const ex = (a: string) => explorer.adapters[a];
const p5 = (a: string) => precision5k.adapters[a];
const pt = (a: string, m: 'tx' | 'plain') => partitions.runs[`${a}_${m}`];
/** A partitions cell: the transactional run's figure, the baseline's in parentheses. */
const txPlain = (fn: (r: ReturnType<typeof pt>) => string) => cell((a) => `**${fn(pt(a, 'tx'))}** (${fn(pt(a, 'plain'))})`);
const reb = (id: string) => {
  const r = rebalance.runs[id];
  return r ? `**${f(r.pauseMs)}** (${f(r.baselinePauseMs)}; ${f(r.rebalanceMs)})` : 'n/a';
};
const rr = (id: string) => {
  const r = rebalance.runs[id];
  return r ? `${r.reReadPartitions} / ${r.resumedPartitions}; ${r.missing} / ${r.duplicates}` : 'n/a';
};
const dayCell = (a: string) => {
  const d = memory.adapters[a].day;
  return `${f(d.hour.growthBytes / 2 ** 20, 1)} (${f(d.hour.perScheduleBytes, 1)}) vs ${f(d.unbounded.growthBytes / 2 ** 20, 1)} (${f(d.unbounded.perScheduleBytes)})`;
};
const rows = [
  `| measure (${mode}) | kafkajs | rdkafka | target |`,
  '| --- | --- | --- | --- |',
  `| precision: lateness p50 / p99 / max, ms (${f(precision.rate)}/s for ${precision.seconds} s) | ${cell((a) => `${p(a).lateness.p50} / **${p(a).lateness.p99}** / ${p(a).lateness.max}`)} | p99 ≤ 20 |`,
  `| precision: early dispatches | ${cell((a) => String(p(a).early))} | 0 |`,
  ...(precision5k
    ? [
        `| precision at ${f(precision5k.rate)}/s (${precision5k.seconds} s): lateness p50 / p99 / max, ms | ${cell((a) => `${p5(a).lateness.p50} / **${p5(a).lateness.p99}** / ${p5(a).lateness.max}`)} | p99 ≤ 20 |`,
        `| precision at ${f(precision5k.rate)}/s: early dispatches | ${cell((a) => String(p5(a).early))} | 0 |`,
        `| precision at ${f(precision5k.rate)}/s: slowest 1 %, ms: CreateTime − due + observed − CreateTime; flush p99, ms (records p50); scheduler event-loop delay p99, ms | ${cell((a) => `${f(p5(a).slowest.createMinusDueMs)} + ${f(p5(a).slowest.observedMinusCreateMs)}; ${f(p5(a).flush.durationMs.p99)} (${f(p5(a).flush.records.p50)}); ${f(p5(a).schedulerEventLoopDelayMs.p99)}`)} | — |`,
        `| precision at ${f(precision5k.rate)}/s, driver: feeder lag p99, ms (min ahead of due); CreateTime − due p99, ms; driver event-loop delay p99, ms | ${cell((a) => `${f(p5(a).driver.feedLagMs.p99)} (${f(p5(a).driver.minAheadMs)}); ${f(p5(a).createTimeMinusDue.p99)}; ${f(p5(a).driverEventLoopDelayP99Ms)}`)} | — |`,
      ]
    : []),
  `| precision: same run with a fixed ${precision.tickMs / 1000} s tick (emulated), p50 / p99 / max, ms | ${cell((a) => `${f(p(a).tick.p50)} / ${f(p(a).tick.p99)} / ${f(p(a).tick.max)}`)} | — |`,
  `| reload ${f(reload.records)} envelopes: raw consumer / ksched to 'loaded', ms | ${cell((a) => `${f(reload.adapters[a].rawMs)} / ${f(reload.adapters[a].kschedMs)}`)} | — |`,
  `| reload ratio (raw / ksched) | ${cell((a) => `**${f(reload.adapters[a].ratio, 2)}**`)} | ≥ 0.8 |`,
  `| dispatch burst ${f(dispatch.schedules)}: raw / ksched, ms (no transactions) | ${cell((a) => `${f(dispatch.runs[`${a}_plain`].rawMs)} / ${f(dispatch.runs[`${a}_plain`].kschedMs)}`)} | — |`,
  `| dispatch ratio (raw / ksched), no transactions | ${cell((a) => `**${f(dispatch.runs[`${a}_plain`].ratio, 2)}**`)} | ≥ 0.8 |`,
  `| dispatch burst: raw / ksched, ms (transactions) | ${cell((a) => `${f(dispatch.runs[`${a}_tx`].rawMs)} / ${f(dispatch.runs[`${a}_tx`].kschedMs)}`)} | — |`,
  `| dispatch ratio (raw / ksched), transactions | ${cell((a) => `**${f(dispatch.runs[`${a}_tx`].ratio, 2)}**`)} | ≥ 0.8 |`,
  ...(['plain', 'tx'] as const).flatMap((mode) =>
    ad.every((a) => dispatch.runs[`${a}_${mode}`]?.floorMs === undefined)
      ? []
      : [
          `| dispatch, ${mode === 'tx' ? 'transactions' : 'no transactions'}: raw with read-back, ms; raw / it (the ceiling); it / ksched | ${cell(
            (a) => {
              const r = dispatch.runs[`${a}_${mode}`];
              return `${f(r.floorMs)}; ${f(r.readBackCeiling, 2)}; ${f(r.floorRatio, 2)}`;
            },
          )} | — |`,
        ],
  ),
  ...(['plain', 'tx'] as const).flatMap((mode) =>
    dispatch.runs[`kafkajs_${mode}`]?.adapterCopyRawMs === undefined
      ? []
      : [
          `| dispatch, ${mode === 'tx' ? 'transactions' : 'no transactions'}: raw on the adapter's kafkajs copy (like for like), ms; it / ksched | ${f(dispatch.runs[`kafkajs_${mode}`].adapterCopyRawMs)}; ${f(dispatch.runs[`kafkajs_${mode}`].likeForLikeRatio, 2)} | n/a (uses its client as installed) | — |`,
        ],
  ),
  `| reload, default 1 h window (buffers none): raw / ksched, ms; ratio | ${cell((a) => `${f(reload.adapters[a].rawMs)} / ${f(reload.adapters[a].defaultHorizonMs)}; ${f(reload.adapters[a].ratioDefaultHorizon, 2)}`)} | — |`,
  `| background read (refill) of the same partition: ksched ms; refill ratio (raw / refill) | ${cell((a) => `${f(reload.adapters[a].refillMs)}; **${f(reload.adapters[a].refillRatio, 2)}**`)} | — |`,
  `| midnight: lateness p50 / p99 / max of ${f(midnight.after)} due in the first ${midnight.afterSpanMs / 1000} s after 00:00 UTC (partition of ${f(midnight.filler)}), ms | ${cell((a) => `${mid(a).after.lateness.p50} / **${mid(a).after.lateness.p99}** / **${mid(a).after.lateness.max}**`)} | p99 ≤ 20, max ≤ 100 |`,
  `| midnight: early / missing / duplicates; reloads after start | ${cell((a) => `${mid(a).after.early} / ${mid(a).after.missing} / ${mid(a).duplicates}; ${mid(a).reloads.length - 1}`)} | 0 / 0 / 0; 0 |`,
  `| rebalance (6 partitions, ${rebalance.rate}/s): longest pause on kept partitions, eager, ms (baseline; group rebalance) | ${cell((a) => reb(`${a}_eager`))} | ≤ rebalance |`,
  `| rebalance: longest pause, cooperative-sticky, ms (baseline; group rebalance) | n/a | ${rebalance.runs.rdkafka_cooperative ? reb('rdkafka_cooperative') : 'n/a'} | ≤ 50 |`,
  `| rebalance: partitions re-read / resumed on the first member; missing / duplicates (eager${rebalance.runs.rdkafka_cooperative ? '; cooperative' : ''}) | ${cell((a) => rr(`${a}_eager`) + (a === 'rdkafka' && rebalance.runs.rdkafka_cooperative ? `; ${rr('rdkafka_cooperative')}` : ''))} | 0 re-read |`,
  `| memory: a day of ${f(memory.daySchedules)} schedules, 1 h window vs unbounded: MiB (B per schedule) | ${cell((a) => dayCell(a))} | — |`,
  `| memory: 1 h window / unbounded heap | ${cell((a) => `**${f(memory.adapters[a].day.share, 3)}**`)} | ≤ 0.1 |`,
  `| memory: bytes per buffered schedule (${f(memory.schedules)}; data ${memory.adapters.kafkajs.dataBytes} B) | ${cell((a) => f(memory.adapters[a].perScheduleBytes))} | — |`,
  `| memory overhead per schedule (minus key, headers, payload), B | ${cell((a) => `**${f(memory.adapters[a].overheadBytes)}**`)} | ≤ 256 |`,
  `| memory: of which the engine (vs the same records in a Map), B | ${cell((a) => f(memory.adapters[a].overheadVsRawMapBytes))} | — |`,
  `| core: take ${core.due} due of ${f(core.entries)} vs full scan + sort, ms | ${f(core.takeMs, 4)} / ${f(core.scanMs, 1)} (no broker) | | — |`,
  `| core: take vs scan | **${f(core.takeVsScan)}×** | | ≥ 1000× |`,
  ...(explorer
    ? [
        `| explorer: a page of ${explorer.limit} of a partition of ${f(explorer.records)}, p50 / p99 / max, ms (first, last, ${explorer.pagesPerKind} offsets, their next pages, ${explorer.pagesPerKind} times) | ${cell((a) => `${f(ex(a).pageMs.p50, 1)} / ${f(ex(a).pageMs.p99, 1)} / **${f(ex(a).pageMs.max, 1)}**`)} | max ≤ ${explorer.targetMs} |`,
        `| explorer: max by page, ms: first / last / offset / next / time | ${cell((a) => (['first', 'last', 'offset', 'next', 'time'] as const).map((k) => f(ex(a).byKind[k].max, 1)).join(' / '))} | — |`,
        `| explorer: scan from the beginning to the middle (no seek), ms; scan / median page | ${cell((a) => `${f(ex(a).scan.ms)}; ${f(ex(a).scanVsMedianPage)}×`)} | — |`,
      ]
    : []),
  ...(partitions
    ? [
        `| ${partitions.partitions} partitions, transactional (no transactions): start → all loaded, ms (${f(partitions.perPartition)} schedules each) | ${txPlain((r) => f(r.loadMs))} | — |`,
        `| ${partitions.partitions} partitions: RSS / heap used after load, MiB | ${txPlain((r) => `${f(r.afterLoad.rssMiB)} / ${f(r.afterLoad.heapUsedMiB)}`)} | — |`,
        `| ${partitions.partitions} partitions: TCP connections to the broker / OS threads of the process | ${txPlain((r) => `${f(r.afterLoad.connections)} / ${f(r.afterLoad.threads)}`)} | — |`,
        `| ${partitions.partitions} partitions, ${f(partitions.rate)}/s for ${partitions.seconds} s: lateness p50 / p99 / max, ms | ${txPlain((r) => `${r.precision.lateness.p50} / ${r.precision.lateness.p99} / ${r.precision.lateness.max}`)} | p99 ≤ 20 |`,
        `| ${partitions.partitions} partitions: early dispatches; flush p50 / p99, ms | ${txPlain((r) => `${r.precision.early}; ${f(r.precision.flush.durationMs.p50)} / ${f(r.precision.flush.durationMs.p99)}`)} | 0; — |`,
        `| ${partitions.partitions} partitions, transactional fenced by the group (one producer per member, KIP-447): start → all loaded, ms; connections / threads; RSS, MiB | ${cell(
          (a) => {
            const r = partitions.runs[`${a}_txg`];
            return r
              ? `**${f(r.loadMs)}**; **${f(r.afterLoad.connections)} / ${f(r.afterLoad.threads)}**; ${f(r.afterLoad.rssMiB)}`
              : '— (kafkajs cannot)';
          },
        )} | — |`,
        `| ${partitions.partitions} partitions, fenced by the group, ${f(partitions.rate)}/s: lateness p50 / p99 / max, ms; early; flush p50 / p99, ms | ${cell(
          (a) => {
            const r = partitions.runs[`${a}_txg`];
            return r
              ? `${r.precision.lateness.p50} / **${r.precision.lateness.p99}** / ${r.precision.lateness.max}; ${r.precision.early}; ${f(r.precision.flush.durationMs.p50)} / ${f(r.precision.flush.durationMs.p99)}`
              : '—';
          },
        )} | p99 ≤ 20 |`,
      ]
    : []),
];
console.log(
  `\nMachine: ${machine.nproc} CPUs (${machine.cpu}), ${machine.memoryGiB} GiB, node ${machine.node}, Kafka ${machine.kafka}; ${mode} mode, ${summary.durationS} s\n`,
);
console.log(rows.join('\n'));
console.log('');
const ratio = (n: number | undefined) => (n === undefined ? 'n/a' : n.toFixed(2));
const r = 'rdkafka';
console.log(
  `bench(rdkafka): p99_lateness_ms=${p(r)?.lateness.p99 ?? 'n/a'} early=${p(r)?.early ?? 'n/a'} reload_ratio=${ratio(reload.adapters[r]?.ratio)} dispatch_ratio=${ratio(dispatch.runs[`${r}_plain`]?.ratio)} dispatch_ratio_tx=${ratio(dispatch.runs[`${r}_tx`]?.ratio)}`,
);
const k = 'kafkajs';
console.log(
  `bench: p99_lateness_ms=${p(k).lateness.p99} early=${p(k).early} reload_ratio=${reload.adapters[k].ratio.toFixed(2)} dispatch_ratio=${dispatch.runs[`${k}_plain`].ratio.toFixed(2)} dispatch_ratio_tx=${ratio(dispatch.runs[`${k}_tx`]?.ratio)} mem_overhead_bytes=${Math.round(memory.adapters[k].overheadBytes)} take_vs_scan=${Math.round(core.takeVsScan)} midnight_p99_ms=${mid(k).after.lateness.p99} midnight_max_ms=${mid(k).after.lateness.max} explorer_page_max_ms=${explorer ? Math.round(explorer.maxPageMs) : 'n/a'}`,
);
