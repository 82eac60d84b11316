/**
 * The topics view (each schedules topic with its partitions and totals) and the planned view (per
 * partition the last states report: state, when, schema version, and the `daily` table).
 *
 * @module
 */
import type { PartitionSummary, TopicSummary } from '@ksched/core';
import { html, type Html } from '../html.js';
import { badge, href, page, time, type ViewContext } from './layout.js';

/** Schedules still planned by a partition's last report (the sum of its `daily` counts). */
function plannedCount(p: PartitionSummary): number | undefined {
  return p.states === undefined ? undefined : Object.values(p.states.report.daily).reduce((sum, n) => sum + n, 0);
}

function stateBadge(p: PartitionSummary): Html {
  if (p.statesError !== undefined) return badge('invalid', 'unreadable report');
  if (p.states === undefined) return badge('none', 'no report');
  return badge(p.states.report.state);
}

export function topicsView(ctx: ViewContext, topics: readonly TopicSummary[]): Html {
  const sections = topics.map((t) => {
    const records = t.partitions.reduce((sum, p) => sum + (p.high - p.low), 0);
    const planned = t.partitions.reduce((sum, p) => sum + (plannedCount(p) ?? 0), 0);
    const reporting = t.partitions.filter((p) => p.states !== undefined).length;
    return html`<section class="topic">
      <h2>${t.topic}</h2>
      <div class="stats">
        <div class="stat">
          <div class="muted">partitions</div>
          <div class="value" data-total="partitions">${t.partitions.length}</div>
        </div>
        <div class="stat">
          <div class="muted">records in the log</div>
          <div class="value" data-total="records">${records}</div>
        </div>
        <div class="stat">
          <div class="muted">planned (last reports)</div>
          <div class="value" data-total="planned">${planned}</div>
        </div>
        <div class="stat">
          <div class="muted">partitions reporting</div>
          <div class="value">${reporting} / ${t.partitions.length}</div>
        </div>
      </div>
      <table class="partitions">
        <thead>
          <tr>
            <th class="num">partition</th>
            <th class="num">first offset</th>
            <th class="num">end offset</th>
            <th class="num">records</th>
            <th>state</th>
            <th>reported at</th>
            <th class="num">planned</th>
            <th></th>
          </tr>
        </thead>
        <tbody>
          ${t.partitions.map(
            (p) =>
              html`<tr data-partition="${p.partition}">
                <td class="num">${p.partition}</td>
                <td class="num">${p.low}</td>
                <td class="num">${p.high}</td>
                <td class="num">${p.high - p.low}</td>
                <td>${stateBadge(p)}</td>
                <td>${time(p.states?.reportedAtMs)}</td>
                <td class="num">${plannedCount(p) ?? '-'}</td>
                <td><a href="${href(ctx, '/explorer', { topic: t.topic, partition: p.partition })}">explore</a></td>
              </tr>`,
          )}
        </tbody>
      </table>
      <p><a href="${href(ctx, '/planned', { topic: t.topic })}">Planned schedules of ${t.topic} →</a></p>
    </section>`;
  });
  return page(
    ctx,
    { title: 'Topics', active: 'topics' },
    html`<h1>Schedules topics</h1>
      ${sections}`,
  );
}

export function plannedView(ctx: ViewContext, topic: TopicSummary): Html {
  const cards = topic.partitions.map((p) => {
    const report = p.states?.report;
    const daily = report === undefined ? [] : Object.entries(report.daily).sort(([a], [b]) => a.localeCompare(b));
    const body =
      p.statesError !== undefined
        ? html`<p class="muted">The last states record could not be read: ${p.statesError}</p>`
        : report === undefined
          ? html`<p class="muted">No states report: no scheduler has loaded this partition yet (or the states topic is missing).</p>`
          : html`<dl class="facts">
                <dt>reported at</dt>
                <dd>${time(p.states!.reportedAtMs)}</dd>
                <dt>schema version</dt>
                <dd>${report.schema_version}</dd>
                ${
                  report.reloads !== undefined
                    ? html`<dt>reloads</dt>
                        <dd>${report.reloads}</dd>`
                    : ''
                }
                <dt>report offset</dt>
                <dd>${p.states!.offset}</dd>
              </dl>
              <h4>daily</h4>
              ${
                daily.length === 0
                  ? html`<p class="muted">Nothing planned.</p>`
                  : html`<table class="daily">
                      <thead>
                        <tr>
                          <th>day (UTC)</th>
                          <th class="num">schedules</th>
                        </tr>
                      </thead>
                      <tbody>
                        ${daily.map(
                          ([day, count]) =>
                            html`<tr>
                              <td>${day}</td>
                              <td class="num">${count}</td>
                            </tr>`,
                        )}
                      </tbody>
                    </table>`
              }`;
    return html`<div class="card" data-partition="${p.partition}">
      <h3><span>partition ${p.partition}</span>${stateBadge(p)}</h3>
      ${body}
      <p>
        <a href="${href(ctx, '/explorer', { topic: topic.topic, partition: p.partition })}"
          >${p.high > p.low ? `explore offsets ${p.low}..${p.high - 1}` : 'explore (no records)'}</a
        >
      </p>
    </div>`;
  });
  const others = ctx.topics.filter((t) => t !== topic.topic);
  return page(
    ctx,
    { title: `Planned · ${topic.topic}`, active: 'planned', topic: topic.topic },
    html`<h1>Planned: ${topic.topic}</h1>
      ${others.length > 0 ? html`<p>Other topics: ${others.map((t) => html`<a href="${href(ctx, '/planned', { topic: t })}">${t}</a> `)}</p>` : ''}
      <p class="muted">What each partition's scheduler last reported to the states topic.</p>
      <div class="cards">${cards}</div>`,
  );
}
