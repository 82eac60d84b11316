/**
 * The live view, when the UI runs inside the scheduler: dispatch lateness histogram, dispatches per
 * second, buffered schedules, invalid records by reason and halted partitions with their reason.
 * It reloads itself every few seconds (a meta refresh; no script).
 *
 * @module
 */
import { html, type Html } from '../html.js';
import type { LiveSnapshot } from '../live.js';
import { badge, page, time, type ViewContext } from './layout.js';

function bucketLabel(bounds: readonly number[], i: number): string {
  const ms = (n: number): string => (n >= 1000 ? `${n / 1000} s` : `${n} ms`);
  if (i === 0) return `≤ ${ms(bounds[0]!)}`;
  if (i === bounds.length) return `> ${ms(bounds[bounds.length - 1]!)}`;
  return `${ms(bounds[i - 1]!)} – ${ms(bounds[i]!)}`;
}

export function liveView(ctx: ViewContext, s: LiveSnapshot, refreshSeconds: number): Html {
  const max = Math.max(1, ...s.lateness.counts);
  const invalid = Object.entries(s.invalidByReason).sort(([, a], [, b]) => b - a);
  const halted = s.partitions.filter((p) => p.halted);
  return page(
    ctx,
    { title: 'Live', active: 'live', refreshSeconds },
    html`<h1>Live</h1>
      <p class="muted">Since ${time(s.sinceMs)}; refreshed every ${refreshSeconds} s, last at ${time(s.nowMs)}.</p>
      <div class="stats">
        <div class="stat">
          <div class="muted">dispatched</div>
          <div class="value" data-stat="dispatched">${s.dispatched}</div>
        </div>
        <div class="stat">
          <div class="muted">dispatched / s (last minute)</div>
          <div class="value" data-stat="rate">${s.dispatchedPerSecond.toFixed(s.dispatchedPerSecond < 10 ? 2 : 1)}</div>
        </div>
        <div class="stat">
          <div class="muted">buffered</div>
          <div class="value" data-stat="buffered">${s.buffered}</div>
        </div>
        <div class="stat">
          <div class="muted">halted partitions</div>
          <div class="value" data-stat="halted">${halted.length}</div>
        </div>
      </div>
      <h2>Dispatch lateness</h2>
      <table class="lateness">
        <thead>
          <tr>
            <th>after the due time</th>
            <th class="num">dispatches</th>
            <th></th>
          </tr>
        </thead>
        <tbody>
          ${s.lateness.counts.map(
            (count, i) =>
              html`<tr>
                <td>${bucketLabel(s.lateness.boundsMs, i)}</td>
                <td class="num">${count}</td>
                <td><progress max="${max}" value="${count}">${count}</progress></td>
              </tr>`,
          )}
        </tbody>
      </table>
      <h2>Invalid records by reason</h2>
      ${
        invalid.length === 0
          ? html`<p class="muted">None.</p>`
          : html`<table class="invalid">
              <thead>
                <tr>
                  <th>reason</th>
                  <th class="num">records</th>
                </tr>
              </thead>
              <tbody>
                ${invalid.map(
                  ([reason, n]) =>
                    html`<tr>
                      <td>${reason}</td>
                      <td class="num">${n}</td>
                    </tr>`,
                )}
              </tbody>
            </table>`
      }
      <h2>Partitions of this member</h2>
      ${
        s.partitions.length === 0
          ? html`<p class="muted">This member owns no partition (a standby member, or not joined yet).</p>`
          : html`<table class="partitions">
              <thead>
                <tr>
                  <th>partition</th>
                  <th>state</th>
                  <th class="num">buffered</th>
                  <th class="num">dispatched</th>
                  <th class="num">invalid</th>
                  <th>next due</th>
                  <th>halted because</th>
                </tr>
              </thead>
              <tbody>
                ${s.partitions.map(
                  (p) =>
                    html`<tr data-partition="${p.partition}">
                      <td>${p.topic} / ${p.partition}</td>
                      <td>${p.halted ? badge('halted') : badge(p.state)}</td>
                      <td class="num">${p.buffered}</td>
                      <td class="num">${p.dispatched}</td>
                      <td class="num">${p.invalid}</td>
                      <td>${time(p.nextDueMs)}</td>
                      <td>${p.haltReason ?? ''}</td>
                    </tr>`,
                )}
              </tbody>
            </table>`
      }`,
  );
}
