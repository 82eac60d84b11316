/**
 * The explorer: one page of a partition's records with partition, offset, type, created at, due
 * at, key, target topic and target key; jump to an offset or a time; the offsets that hold no
 * record (compacted away, transaction markers) and unknown or invalid records shown as such.
 *
 * @module
 */
import type { AdminRecord, OffsetGap, RecordPage } from '@ksched/core';
import { html, type Html } from '../html.js';
import { badge, href, page, shown, time, type ViewContext } from './layout.js';

/** What the explorer was asked for (to fill its form again). */
export interface ExplorerQuery {
  readonly topic: string;
  readonly partition: number;
  readonly offset?: string;
  readonly time?: string;
  readonly limit: number;
  /** Partitions of the topic. */
  readonly partitions: number;
}

function typeCell(r: AdminRecord): Html {
  if (r.type === 'unknown') return html`${badge('unknown', 'unknown type')} <code>${shown(r.unknownType ?? '')}</code>`;
  if (r.type === 'invalid' || r.type === 'incompatible') return html`${badge(r.type)} <span class="muted">${r.reason ?? ''}</span>`;
  return badge(r.type);
}

function recordRow(ctx: ViewContext, r: AdminRecord): Html {
  const keyCell =
    r.key === null
      ? html`<span class="muted">(null)</span>`
      : html`<a href="${href(ctx, '/schedule', { topic: r.topic, partition: r.partition, key: r.key })}">${shown(r.key)}</a>`;
  const target = r.target;
  return html`<tr data-offset="${r.offset}" data-type="${r.type}">
    <td class="num">${r.partition}</td>
    <td class="num">${r.offset}</td>
    <td>${typeCell(r)}</td>
    <td class="mono">${time(r.createdAtMs)}</td>
    <td class="mono">${r.type === 'schedule' || r.type === 'tombstone' ? time(r.dueMs) : '-'}</td>
    <td class="mono key">${keyCell}</td>
    <td>
      ${target === undefined ? (r.type === 'tombstone' && r.closesOffset !== undefined ? html`<span class="muted">closes ${r.closesOffset}</span>` : '-') : target.partition !== undefined ? `${target.topic}/${target.partition}` : target.topic}
    </td>
    <td class="mono">${target?.key !== undefined ? shown(target.key) : '-'}</td>
  </tr>`;
}

function gapRow(gap: OffsetGap): Html {
  const count = gap.to - gap.from;
  return html`<tr class="gap" data-gap="${gap.from}-${gap.to}">
    <td></td>
    <td class="num">${gap.from}${count > 1 ? html`–${gap.to - 1}` : ''}</td>
    <td colspan="6">no record at ${count === 1 ? 'this offset' : `these ${count} offsets`}: compacted away, or transaction markers</td>
  </tr>`;
}

/** Records and gaps in offset order. */
function rows(ctx: ViewContext, result: RecordPage): Html[] {
  const out: Html[] = [];
  let g = 0;
  for (const r of result.records) {
    while (g < result.gaps.length && result.gaps[g]!.from < r.offset) out.push(gapRow(result.gaps[g++]!));
    out.push(recordRow(ctx, r));
  }
  while (g < result.gaps.length) out.push(gapRow(result.gaps[g++]!));
  return out;
}

export function explorerView(ctx: ViewContext, q: ExplorerQuery, result: RecordPage): Html {
  const at = (offset: number): string => href(ctx, '/explorer', { topic: q.topic, partition: q.partition, offset, limit: q.limit });
  const prev = Math.max(result.low, result.from - q.limit);
  const last = Math.max(result.low, result.high - q.limit);
  const pager = html`<div class="pager">
    ${result.from > result.low ? html`<a href="${at(result.low)}" rel="first">« first</a> <a href="${at(prev)}" rel="prev">‹ previous</a>` : html`<span class="muted">« first ‹ previous</span>`}
    <span class="muted"
      >offsets ${result.from}${result.records.length > 0 ? html`–${result.records[result.records.length - 1]!.offset}` : ''} of
      ${result.low}..${result.high - 1}</span
    >
    ${result.next !== undefined ? html`<a href="${at(result.next)}" rel="next">next ›</a> <a href="${at(last)}" rel="last">last »</a>` : html`<span class="muted">next › last »</span>`}
  </div>`;
  const partitions = Array.from({ length: q.partitions }, (_, p) => p);
  const form = html`<form class="inline" method="get" action="${href(ctx, '/explorer')}">
    <label
      >topic
      <select name="topic">
        ${ctx.topics.map((t) => html`<option value="${t}" ${t === q.topic ? html` selected` : ''}>${t}</option>`)}
      </select></label
    >
    <label
      >partition
      <select name="partition">
        ${partitions.map((p) => html`<option value="${p}" ${p === q.partition ? html` selected` : ''}>${p}</option>`)}
      </select></label
    >
    <label>from offset <input name="offset" inputmode="numeric" value="${q.offset ?? ''}" placeholder="${result.low}" /></label>
    <label>or from time <input name="time" value="${q.time ?? ''}" placeholder="2026-12-07T09:00:00Z" /></label>
    <label>per page <input name="limit" inputmode="numeric" value="${q.limit}" size="4" /></label>
    <button type="submit">Go</button>
  </form>`;
  return page(
    ctx,
    { title: `Explorer · ${q.topic}/${q.partition}`, active: 'explorer', topic: q.topic },
    html`<h1>Explorer: ${q.topic} / partition ${q.partition}</h1>
      ${form} ${pager}
      <table class="records">
        <thead>
          <tr>
            <th class="num">partition</th>
            <th class="num">offset</th>
            <th>type</th>
            <th>created at</th>
            <th>due at</th>
            <th>key</th>
            <th>target topic</th>
            <th>target key</th>
          </tr>
        </thead>
        <tbody>
          ${
            result.records.length === 0 && result.gaps.length === 0
              ? html`<tr>
                  <td colspan="8" class="muted">No records from offset ${result.from}.</td>
                </tr>`
              : rows(ctx, result)
          }
        </tbody>
      </table>
      ${pager}`,
  );
}
