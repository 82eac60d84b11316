/**
 * Writes results/benchmarks.svg from results/summary.json: (1) each target as a score (≥ 1 meets
 * it), per adapter; (2) precision lateness p50/p99/max, ksched versus a fixed 15 s tick, log scale.
 * Plain SVG, no chart library.
 *
 *   node … src/chart.ts        # from the last summary
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

type Summary = any;

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
const colors = { kafkajs: '#2f6fdf', rdkafka: '#e0802a', tick: '#999999' };

export function chartSvg(s: Summary): string {
  const W = 760;
  const out: string[] = [];
  const text = (x: number, y: number, t: string, extra = '') =>
    out.push(`<text x="${x.toFixed(1)}" y="${y.toFixed(1)}"${extra ? ` ${extra}` : ''}>${esc(t)}</text>`);
  const ads = ['kafkajs', 'rdkafka'] as const;
  // Panel 1: score = value vs target, higher is better; 1 = target met.
  const metrics: { label: string; score: (a: string) => number; value: (a: string) => string }[] = [
    {
      label: 'p99 lateness ≤ 20 ms',
      score: (a) => 20 / Math.max(1, s.precision.adapters[a].lateness.p99),
      value: (a) => `${s.precision.adapters[a].lateness.p99} ms`,
    },
    { label: 'reload ratio ≥ 0.8', score: (a) => s.reload.adapters[a].ratio / 0.8, value: (a) => s.reload.adapters[a].ratio.toFixed(2) },
    {
      label: 'dispatch ratio ≥ 0.6',
      score: (a) => s.dispatch.runs[`${a}_plain`].ratio / 0.6,
      value: (a) => s.dispatch.runs[`${a}_plain`].ratio.toFixed(2),
    },
    {
      label: 'dispatch ratio (tx) ≥ 0.6',
      score: (a) => s.dispatch.runs[`${a}_tx`].ratio / 0.6,
      value: (a) => s.dispatch.runs[`${a}_tx`].ratio.toFixed(2),
    },
    {
      label: 'memory overhead ≤ 256 B',
      score: (a) => 256 / s.memory.adapters[a].overheadBytes,
      value: (a) => `${Math.round(s.memory.adapters[a].overheadBytes)} B`,
    },
    ...(s.midnight
      ? [
          {
            label: 'midnight p99 ≤ 20 ms',
            score: (a: string) => 20 / Math.max(1, s.midnight.adapters[a].after.lateness.p99),
            value: (a: string) => `${s.midnight.adapters[a].after.lateness.p99} ms`,
          },
          {
            label: '1 h window ≤ 1/10 heap',
            score: (a: string) => 0.1 / s.memory.adapters[a].day.share,
            value: (a: string) => s.memory.adapters[a].day.share.toFixed(3),
          },
        ]
      : []),
    ...(s.explorer
      ? [
          {
            label: 'explorer page ≤ 200 ms (max)',
            score: (a: string) => 200 / Math.max(1, s.explorer.adapters[a].pageMs.max),
            value: (a: string) => `${Math.round(s.explorer.adapters[a].pageMs.max)} ms`,
          },
        ]
      : []),
    { label: 'take vs scan ≥ 1000×', score: () => s.core.takeVsScan / 1000, value: () => `${Math.round(s.core.takeVsScan)}×` },
  ];
  const x0 = 200;
  const plotW = 440;
  const maxScore = 2;
  const scale = (v: number) => x0 + (Math.min(v, maxScore) / maxScore) * plotW;
  let y = 40;
  text(
    10,
    22,
    `ksched benchmarks (${s.mode}, ${s.date.slice(0, 10)}; ${s.machine.nproc} CPUs, node ${s.machine.node}, Kafka ${s.machine.kafka})`,
    'font-weight="bold"',
  );
  text(10, y + 4, 'score vs target (1 = met, capped at 2)', 'font-size="11" fill="#555"');
  y += 14;
  const top = y;
  for (const m of metrics) {
    text(10, y + 16, m.label);
    ads.forEach((a, i) => {
      const v = m.score(a);
      out.push(`<rect x="${x0}" y="${y + 4 + i * 12}" width="${Math.max(1, scale(v) - x0).toFixed(1)}" height="10" fill="${colors[a]}"/>`);
      text(scale(v) + 4, y + 13 + i * 12, `${m.value(a)}`, 'font-size="10"');
    });
    y += 32;
  }
  out.push(`<line x1="${scale(1)}" y1="${top}" x2="${scale(1)}" y2="${y}" stroke="#2a2" stroke-dasharray="4 3"/>`);
  text(scale(1) - 14, y + 12, 'target', 'font-size="10" fill="#2a2"');
  // Panel 2: lateness, log scale 1 ms .. 100 s.
  y += 40;
  text(
    10,
    y,
    `precision: lateness observed by a consumer (${s.precision.rate}/s for ${s.precision.seconds} s), log scale`,
    'font-size="11" fill="#555"',
  );
  y += 10;
  const lx = (ms: number) => x0 + (Math.log10(Math.max(1, ms)) / 5) * plotW;
  const series: [string, string, any][] = [
    ['ksched kafkajs', colors.kafkajs, s.precision.adapters.kafkajs.lateness],
    ['ksched rdkafka', colors.rdkafka, s.precision.adapters.rdkafka.lateness],
    [`${s.precision.tickMs / 1000} s tick (kafkajs run)`, colors.tick, s.precision.adapters.kafkajs.tick],
  ];
  const ptop = y;
  for (const [label, color, st] of series) {
    text(10, y + 16, label);
    (['p50', 'p99', 'max'] as const).forEach((k, i) => {
      out.push(
        `<rect x="${x0}" y="${y + 2 + i * 9}" width="${Math.max(1, lx(st[k]) - x0).toFixed(1)}" height="8" fill="${color}" opacity="${1 - i * 0.3}"/>`,
      );
      text(lx(st[k]) + 4, y + 9 + i * 9, `${k} ${Math.round(st[k])} ms`, 'font-size="9"');
    });
    y += 34;
  }
  for (const ms of [1, 10, 100, 1000, 10_000, 100_000]) {
    out.push(`<line x1="${lx(ms)}" y1="${ptop}" x2="${lx(ms)}" y2="${y}" stroke="#ddd"/>`);
    text(lx(ms) - 8, y + 12, ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`, 'font-size="9" fill="#777"');
  }
  y += 30;
  ads.forEach((a, i) => {
    out.push(`<rect x="${x0 + i * 110}" y="${y - 9}" width="10" height="10" fill="${colors[a]}"/>`);
    text(x0 + 14 + i * 110, y, a, 'font-size="11"');
  });
  y += 12;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${y}" viewBox="0 0 ${W} ${y}" font-family="sans-serif" font-size="12">\n<rect width="100%" height="100%" fill="#fff"/>\n${out.join('\n')}\n</svg>\n`;
}

export function writeChart(summary: Summary): string {
  const path = fileURLToPath(new URL('../results/benchmarks.svg', import.meta.url));
  writeFileSync(path, chartSvg(summary));
  return path;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const summary = JSON.parse(readFileSync(new URL('../results/summary.json', import.meta.url), 'utf8'));
  console.log(writeChart(summary));
}
