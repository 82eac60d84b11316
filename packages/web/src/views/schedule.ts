/**
 * A schedule's page (status, target routing, headers, payload preview, history on its partition),
 * the find result when nothing was found, and the cancel and reschedule steps: confirmation, then
 * the record that was produced.
 *
 * @module
 */
import { Header } from '@ksched/core';
import type { AdminActionResult, AdminRecord, FoundSchedule, HeaderValue } from '@ksched/core';
import { html, type Html } from '../html.js';
import { hexDump, previewPayload } from '../payload.js';
import { badge, canAct, csrfField, href, page, shown, time, type ViewContext } from './layout.js';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function headerValue(value: HeaderValue): Html {
  if (typeof value === 'string') return html`<code>${shown(value)}</code>`;
  try {
    return html`<code>${shown(strictUtf8.decode(value))}</code>`;
  } catch {
    return html`<span class="muted">bytes</span> <code>${hexDump(value.subarray(0, 64))}</code>`;
  }
}

/** The envelope's own headers (`schedule_*`), shown apart from the message's. */
const WIRE_HEADERS: ReadonlySet<string> = new Set(Object.values(Header));

function headersTable(name: string, entries: readonly (readonly [string, HeaderValue])[]): Html {
  if (entries.length === 0) return html`<p class="muted">none</p>`;
  return html`<table class="${name}">
    <thead>
      <tr>
        <th>name</th>
        <th>value</th>
      </tr>
    </thead>
    <tbody>
      ${entries.map(
        ([key, value]) =>
          html`<tr>
            <td class="mono">${shown(key)}</td>
            <td>${headerValue(value)}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

function routing(record: AdminRecord | undefined): Html {
  const t = record?.target;
  if (t === undefined) return html`<p class="muted">No target: the latest record is not a schedule.</p>`;
  return html`<dl class="facts target">
    <dt>target topic</dt>
    <dd>${t.topic}</dd>
    <dt>target partition</dt>
    <dd>${t.partition ?? '(by key)'}</dd>
    <dt>target key</dt>
    <dd class="mono">${t.key !== undefined ? shown(t.key) : '(none)'}</dd>
    <dt>target partition key</dt>
    <dd class="mono">${t.partitionKey !== undefined ? shown(t.partitionKey) : '(none)'}</dd>
  </dl>`;
}

function payload(record: AdminRecord): Html {
  const p = previewPayload(record.value);
  const size = html`<p class="muted">
    ${p.size} bytes${p.truncated ? ', first part shown' : ''}${p.kind === 'hex' ? ', binary (hex)' : p.kind === 'json' ? ', JSON' : ''}
  </p>`;
  if (p.kind === 'null') return html`<p class="muted">null payload</p>`;
  if (p.kind === 'empty') return html`<p class="muted">empty payload</p>`;
  return html`${size}
    <pre class="payload">${p.text}</pre>`;
}

function history(ctx: ViewContext, records: readonly AdminRecord[]): Html {
  if (records.length === 0) return html`<p class="muted">No record with this key is left on the partition.</p>`;
  return html`<table class="history">
    <thead>
      <tr>
        <th class="num">offset</th>
        <th>type</th>
        <th>created at</th>
        <th>due at</th>
        <th></th>
      </tr>
    </thead>
    <tbody>
      ${records.map(
        (r) =>
          html`<tr data-offset="${r.offset}" data-type="${r.type}">
            <td class="num">${r.offset}</td>
            <td>${badge(r.type)}</td>
            <td>${time(r.createdAtMs)}</td>
            <td>${r.type === 'schedule' ? time(r.dueMs) : '-'}</td>
            <td><a href="${href(ctx, '/explorer', { topic: r.topic, partition: r.partition, offset: r.offset })}">in the explorer</a></td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

function actionButtons(ctx: ViewContext, found: FoundSchedule): Html {
  if (found.status !== 'pending') return html``;
  if (!canAct(ctx)) return html`<p class="muted">Cancel and reschedule need the credential.</p>`;
  const params = { topic: found.topic, partition: found.partition, key: found.key };
  return html`<div class="actions">
    <a class="button danger" href="${href(ctx, '/cancel', params)}">Cancel…</a>
    <a class="button" href="${href(ctx, '/reschedule', params)}">Reschedule…</a>
  </div>`;
}

export function scheduleView(ctx: ViewContext, found: FoundSchedule, notice?: Html): Html {
  const latest = found.latest;
  return page(
    ctx,
    { title: `Schedule ${shown(found.key)}`, active: 'find', topic: found.topic },
    html`${notice ?? ''}
      <h1>Schedule <code class="key">${shown(found.key)}</code></h1>
      <dl class="facts summary">
        <dt>status</dt>
        <dd data-status="${found.status}">${badge(found.status)}</dd>
        <dt>partition</dt>
        <dd>${found.topic} / ${found.partition}</dd>
        ${
          latest !== undefined
            ? html`<dt>latest record</dt>
                <dd>offset ${latest.offset}, ${latest.type}, written ${time(latest.createdAtMs)}</dd>`
            : ''
        }
        ${
          found.status === 'pending'
            ? html`<dt>due at</dt>
                <dd class="due">${time(latest?.dueMs)}</dd>`
            : ''
        }
        ${
          latest?.schemaVersion !== undefined
            ? html`<dt>schema version</dt>
                <dd>${latest.schemaVersion}</dd>`
            : ''
        }
      </dl>
      ${actionButtons(ctx, found)}
      ${
        latest === undefined
          ? ''
          : html`<h2>Target routing</h2>
              ${routing(latest)}
              <h2>Message headers</h2>
              ${headersTable(
                'headers',
                Object.entries(latest.headers).filter(([name]) => !WIRE_HEADERS.has(name)),
              )}
              <h2>Schedule headers</h2>
              ${headersTable(
                'wire-headers',
                Object.entries(latest.headers).filter(([name]) => WIRE_HEADERS.has(name)),
              )}
              <h2>Payload</h2>
              ${payload(latest)}`
      }
      <h2>History on ${found.topic}/${found.partition}</h2>
      ${history(ctx, found.history)}`,
  );
}

/** The find page: the form, and what was not found. */
export function findView(ctx: ViewContext, query: { key?: string; topic?: string; partitionKey?: string }, found?: FoundSchedule): Html {
  const form = html`<form class="inline" method="get" action="${href(ctx, '/find')}">
    <label>key <input name="key" value="${query.key ?? ''}" required /></label>
    <label
      >topic
      <select name="topic">
        ${ctx.topics.map((t) => html`<option value="${t}" ${t === query.topic ? html` selected` : ''}>${t}</option>`)}
      </select></label
    >
    <label>partition key (if it was routed by one) <input name="partition_key" value="${query.partitionKey ?? ''}" /></label>
    <button type="submit">Find</button>
  </form>`;
  const result =
    found === undefined
      ? ''
      : html`<div class="banner error" role="status">
          No record with the key <code>${shown(found.key)}</code> on
          ${found.topic}${query.partitionKey === undefined ? ' (any partition)' : ` / ${found.partition}`}.
        </div>`;
  return page(
    ctx,
    { title: 'Find', active: 'find', ...(query.topic !== undefined ? { topic: query.topic } : {}) },
    html`<h1>Find a schedule</h1>
      ${result}${form}`,
  );
}

function hiddenFields(found: FoundSchedule): Html {
  return html`<input type="hidden" name="topic" value="${found.topic}" /><input
      type="hidden"
      name="partition"
      value="${found.partition}"
    /><input type="hidden" name="key" value="${found.key}" />`;
}

export function confirmCancelView(ctx: ViewContext, found: FoundSchedule): Html {
  return page(
    ctx,
    { title: 'Cancel schedule', active: 'find', topic: found.topic },
    html`<h1>Cancel <code>${shown(found.key)}</code>?</h1>
      <p>
        Due at <strong>${time(found.latest?.dueMs)}</strong>, to ${found.latest?.target?.topic ?? '?'}. A cancel record is written to
        ${found.topic} / ${found.partition}, where the schedule is; the scheduler then drops it.
      </p>
      <form method="post" action="${href(ctx, '/cancel')}" class="inline">
        ${hiddenFields(found)}${csrfField(ctx)}
        <button type="submit" class="danger" name="confirm" value="yes">Yes, cancel it</button>
        <a class="button secondary" href="${href(ctx, '/schedule', { topic: found.topic, partition: found.partition, key: found.key })}"
          >Keep it</a
        >
      </form>`,
  );
}

/** The reschedule form, or (with `dueMs`) its confirmation. */
export function rescheduleView(
  ctx: ViewContext,
  found: FoundSchedule,
  input: { at?: string; in?: string; dueMs?: number; error?: string },
): Html {
  const back = html`<a
    class="button secondary"
    href="${href(ctx, '/schedule', { topic: found.topic, partition: found.partition, key: found.key })}"
    >Back</a
  >`;
  const body =
    input.dueMs !== undefined
      ? html`<p>
            Move <code>${shown(found.key)}</code> from <strong>${time(found.latest?.dueMs)}</strong> to
            <strong class="new-due">${time(input.dueMs)}</strong>? The same message is written again with the new due time, to
            ${found.topic} / ${found.partition}.
          </p>
          <form method="post" action="${href(ctx, '/reschedule')}" class="inline">
            ${hiddenFields(found)}${csrfField(ctx)}<input type="hidden" name="due_ms" value="${input.dueMs}" />
            <button type="submit" name="confirm" value="yes">Yes, reschedule</button> ${back}
          </form>`
      : html`${input.error !== undefined ? html`<div class="banner error" role="alert">${input.error}</div>` : ''}
          <p>Now due at <strong>${time(found.latest?.dueMs)}</strong>. Give the new due time, or a delay from now.</p>
          <form method="post" action="${href(ctx, '/reschedule')}" class="inline">
            ${hiddenFields(found)}${csrfField(ctx)}
            <label>at (ISO 8601 or Unix time) <input name="at" value="${input.at ?? ''}" placeholder="2026-12-07T09:30:00Z" /></label>
            <label>or in (duration) <input name="in" value="${input.in ?? ''}" placeholder="15m" /></label>
            <button type="submit">Continue</button> ${back}
          </form>`;
  return page(
    ctx,
    { title: 'Reschedule', active: 'find', topic: found.topic },
    html`<h1>Reschedule <code>${shown(found.key)}</code></h1>
      ${body}`,
  );
}

/** What an action produced. */
export function actionResultView(ctx: ViewContext, action: 'cancel' | 'reschedule', result: AdminActionResult, dueMs?: number): Html {
  const p = result.produced;
  return page(
    ctx,
    { title: action === 'cancel' ? 'Cancelled' : 'Rescheduled', active: 'find', topic: p.topic },
    html`<div class="banner ok" role="status">${action === 'cancel' ? 'Cancelled' : `Rescheduled to ${time(dueMs)}`}.</div>
      <h1>Produced record</h1>
      <dl class="facts produced">
        <dt>type</dt>
        <dd data-type="${action === 'cancel' ? 'cancel' : 'schedule'}">${action === 'cancel' ? 'cancel' : 'schedule'}</dd>
        <dt>topic</dt>
        <dd>${p.topic}</dd>
        <dt>partition</dt>
        <dd data-partition="${p.partition}">${p.partition}</dd>
        <dt>offset</dt>
        <dd data-offset="${p.offset}">${p.offset}</dd>
        <dt>key</dt>
        <dd class="mono">${shown(p.key)}</dd>
      </dl>
      <div class="actions">
        <a class="button" href="${href(ctx, '/schedule', { topic: p.topic, partition: p.partition, key: p.key })}">The schedule</a>
        <a class="button secondary" href="${href(ctx, '/explorer', { topic: p.topic, partition: p.partition, offset: p.offset })}"
          >In the explorer</a
        >
      </div>`,
  );
}
