/**
 * The UI as one Node request handler, `(req, res, next?) => void`: mount it in a node:http server,
 * or in Express/Connect with `app.use('/ksched', handler)` (it uses `req.baseUrl` for its links and
 * calls `next()` for paths it does not serve).
 *
 * Pages: `/` topics, `/planned`, `/explorer`, `/schedule`, `/find`, `/cancel` and `/reschedule`
 * (GET: the confirmation; POST: the action), `/live`, `/login`. JSON: `/api/topics`,
 * `/api/records`, `/api/schedule`, `/api/live`, and POST `/api/cancel`, `/api/reschedule`.
 *
 * Every response carries a strict Content-Security-Policy (no scripts at all, styles from the UI's
 * own stylesheet), `nosniff`, a same-origin referrer policy, no framing and `no-store`. Errors are 4xx pages or
 * JSON naming the parameter; an unexpected failure is a 500 saying only that (details go to
 * `onError`).
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { InvalidArgumentError, SchedulerError, TransportError } from '@ksched/core';
import type { AdminRecord, FoundSchedule, HeaderValue, ScheduleAdmin } from '@ksched/core';
import { Authenticator, crossSite, SESSION_COOKIE, SESSION_TTL_MS, type Identity, type WebAuth } from './auth.js';
import type { Html } from './html.js';
import type { LiveSnapshot, LiveStats } from './live.js';
import {
  durationParam,
  fromInvalidArgument,
  HttpError,
  jsonParams,
  keyParam,
  limitParam,
  offsetParam,
  optionalText,
  partitionParam,
  timeParam,
  topicParam,
  type Params,
} from './params.js';
import { previewPayload } from './payload.js';
import { explorerView } from './views/explorer.js';
import { canAct, type ViewContext } from './views/layout.js';
import { liveView } from './views/live.js';
import { errorView, loginView } from './views/misc.js';
import { actionResultView, confirmCancelView, findView, rescheduleView, scheduleView } from './views/schedule.js';
import { STYLESHEET } from './views/style.js';
import { plannedView, topicsView } from './views/topics.js';

/** Settings of {@link createWebHandler}. */
export interface WebHandlerOptions {
  /** What the UI reads and acts through (`createScheduleAdmin` of `@ksched/core`). */
  readonly admin: ScheduleAdmin;
  /**
   * The credential that enables cancel and reschedule. Without one the UI is read-only for
   * everyone and says so.
   */
  readonly auth?: WebAuth;
  /** With `auth`: reading needs the credential too (default false: anyone who reaches the UI can read). */
  readonly readsNeedCredential?: boolean;
  /** Live figures of a scheduler running in this process (the live view is there only with them). */
  readonly live?: Pick<LiveStats, 'snapshot'>;
  /** Where the UI is mounted when the server does not strip it (Express's `req.baseUrl` is used otherwise), e.g. `/ksched`. */
  readonly basePath?: string;
  /** Shown in the header and titles. Default `ksched`. */
  readonly title?: string;
  /** Signs sessions and CSRF tokens; default random per handler (sessions end when the process does). Give the same one to every replica behind a load balancer. */
  readonly secret?: string | Uint8Array;
  /** Records per explorer page unless asked otherwise. Default 50. */
  readonly pageSize?: number;
  /** Seconds between reloads of the live view. Default 5. */
  readonly liveRefreshSeconds?: number;
  /** "Now", Unix ms (sessions, `in` durations). Default `Date.now`. */
  readonly now?: () => number;
  /** Told about unexpected failures (answered with a bare 500) and Kafka errors (a 503). */
  readonly onError?: (error: unknown) => void;
}

/** A Node request handler; `next` (Express/Connect) is called for paths the UI does not serve. */
export type WebHandler = (req: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void) => void;

/** Largest request body read, bytes. */
const MAX_BODY_BYTES = 64 * 1024;

export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'cache-control': 'no-store',
};

const HTML_TYPE = 'text/html; charset=utf-8';
const JSON_TYPE = 'application/json; charset=utf-8';

/** One request being answered. */
interface Request {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly method: string;
  /** The path under the UI's base. */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly api: boolean;
  readonly identity: Identity;
  readonly ctx: ViewContext;
}

/** What a route answers: a page, JSON, or a redirect. */
type Reply =
  | { readonly html: Html; readonly status?: number; readonly headers?: Readonly<Record<string, string>> }
  | { readonly json: unknown; readonly status?: number; readonly headers?: Readonly<Record<string, string>> }
  | { readonly redirect: string; readonly headers?: Readonly<Record<string, string>> }
  | { readonly css: string };

/**
 * The UI's request handler (see the module comment).
 *
 * @example
 * ```ts
 * const admin = createScheduleAdmin({ transport, schedulesTopics: ['scheduled_messages'] });
 * const ui = createWebHandler({ admin, auth: { token: process.env.KSCHED_UI_TOKEN! } });
 * http.createServer(ui).listen(9466, '127.0.0.1');
 * ```
 */
export function createWebHandler(options: WebHandlerOptions): WebHandler {
  const now = options.now ?? Date.now;
  const auth = new Authenticator(options.auth, { ...(options.secret !== undefined ? { secret: options.secret } : {}), now });
  const admin = options.admin;
  const topics = admin.schedulesTopics;
  const pageSize = options.pageSize ?? 50;
  const refreshSeconds = options.liveRefreshSeconds ?? 5;
  const configuredBase = (options.basePath ?? '').replace(/\/+$/, '');

  const handle = async (req: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://ui.invalid');
    let path = url.pathname;
    let base = ((req as { baseUrl?: string }).baseUrl ?? '').replace(/\/+$/, '');
    if (configuredBase.length > 0) {
      if (path === configuredBase || path.startsWith(`${configuredBase}/`)) path = path.slice(configuredBase.length);
      else if (base !== configuredBase) return notMine(res, next);
      base = configuredBase;
    }
    if (path === '') path = '/';
    const method = req.method ?? 'GET';
    const identity = auth.identify(req);
    const authenticated = identity.kind !== 'anonymous';
    const ctx: ViewContext = {
      base,
      title: options.title ?? 'ksched',
      topics,
      actionsEnabled: auth.actionsEnabled,
      authKind: auth.kind,
      authenticated,
      csrf: auth.csrfToken(identity),
      live: options.live !== undefined,
    };
    const r: Request = { req, res, method, path, query: url.searchParams, api: path.startsWith('/api/'), identity, ctx };
    const route = ROUTES.get(`${method === 'HEAD' ? 'GET' : method} ${path}`);
    if (route === undefined) {
      if (next !== undefined && !ROUTE_PATHS.has(path)) return next();
      const allowed = ROUTE_PATHS.get(path);
      if (allowed !== undefined) {
        return send(r, {
          ...errorReply(r, new HttpError(405, `${method} is not allowed here (allowed: ${allowed.join(', ')})`)),
          headers: { allow: allowed.join(', ') },
        } as Reply);
      }
      return send(r, errorReply(r, new HttpError(404, `no page at ${path}`)));
    }
    try {
      if (route.access !== 'public' && options.readsNeedCredential === true && auth.actionsEnabled && !authenticated) {
        throw needCredential(auth.kind);
      }
      if (method === 'POST' && route.access !== 'public') checkAction(r, auth.kind, auth.actionsEnabled);
      const body = method === 'POST' ? await readBody(r) : undefined;
      if (method === 'POST' && !r.api && route.access !== 'public' && !auth.checkCsrf(identity, body?.get('csrf') ?? undefined)) {
        throw new HttpError(403, 'the form has no valid CSRF token: reload the page and try again', 'csrf');
      }
      send(r, await route.run(r, body ?? r.query));
    } catch (error) {
      if (error instanceof HttpError) return send(r, errorReply(r, error));
      if (InvalidArgumentError.isInstance(error))
        return send(r, errorReply(r, fromInvalidArgument(error, { partitionKey: 'partition_key' })));
      options.onError?.(error);
      if (TransportError.isInstance(error) || (SchedulerError.isInstance(error) && error instanceof TransportError)) {
        return send(r, errorReply(r, new HttpError(503, 'reading or writing Kafka failed; try again (the details are in the server log)')));
      }
      return send(r, errorReply(r, new HttpError(500, 'internal error (the details are in the server log)')));
    }
  };

  // ---- routes ---------------------------------------------------------------------------------

  type Route = { readonly access: 'public' | 'read' | 'act'; run(r: Request, params: Params): Promise<Reply> | Reply };
  const ROUTES = new Map<string, Route>();
  const ROUTE_PATHS = new Map<string, string[]>();
  const route = (method: 'GET' | 'POST', path: string, access: Route['access'], run: Route['run']): void => {
    ROUTES.set(`${method} ${path}`, { access, run });
    ROUTE_PATHS.set(path, [...(ROUTE_PATHS.get(path) ?? []), ...(method === 'GET' ? ['GET', 'HEAD'] : ['POST'])]);
  };

  route('GET', '/assets/style.css', 'public', () => ({ css: STYLESHEET }));

  route('GET', '/', 'read', async ({ ctx }) => ({ html: topicsView(ctx, await admin.topics()) }));
  route('GET', '/api/topics', 'read', async () => ({ json: { topics: await admin.topics() } }));

  route('GET', '/planned', 'read', async ({ ctx }, q) => {
    const topic = topicParam(q, topics);
    return { html: plannedView(ctx, await admin.topic(topic)) };
  });

  const page = async (q: Params) => {
    const topic = topicParam(q, topics);
    const partition = partitionParam(q, false) ?? 0;
    const offset = offsetParam(q);
    const timeMs = timeParam(q, 'time');
    if (offset !== undefined && timeMs !== undefined) throw new HttpError(400, 'give an offset or a time, not both', 'time');
    const limit = limitParam(q, pageSize);
    const result = await admin.records(topic, partition, {
      limit,
      ...(offset !== undefined ? { fromOffset: offset } : {}),
      ...(timeMs !== undefined ? { fromTimeMs: timeMs } : {}),
    });
    if (offset !== undefined && offset > result.high) {
      throw new HttpError(
        400,
        `${offset} is past the end of ${topic}/${partition} (offsets ${result.low}..${result.high - 1}; the next record will be ${result.high})`,
        'offset',
      );
    }
    return { topic, partition, limit, result };
  };
  route('GET', '/explorer', 'read', async ({ ctx }, q) => {
    const { topic, partition, limit, result } = await page(q);
    const partitions = await admin.partitionCount(topic);
    const offsetText = optionalText(q, 'offset');
    const timeText = optionalText(q, 'time');
    return {
      html: explorerView(
        ctx,
        {
          topic,
          partition,
          limit,
          partitions,
          ...(offsetText !== undefined ? { offset: offsetText } : {}),
          ...(timeText !== undefined ? { time: timeText } : {}),
        },
        result,
      ),
    };
  });
  route('GET', '/api/records', 'read', async (_r, q) => {
    const { result } = await page(q);
    return { json: { ...result, records: result.records.map(recordJson) } };
  });

  const find = async (q: Params): Promise<FoundSchedule> => {
    const key = keyParam(q);
    const topic = topicParam(q, topics);
    const partition = partitionParam(q, false);
    const partitionKey = optionalText(q, 'partition_key');
    return admin.find(key, {
      topic,
      ...(partition !== undefined ? { partition } : {}),
      ...(partitionKey !== undefined ? { partitionKey } : {}),
      everyPartition: partition === undefined && partitionKey === undefined,
    });
  };
  route('GET', '/find', 'read', async ({ ctx }, q) => {
    if (q.get('key') === null) return { html: findView(ctx, {}) };
    const found = await find(q);
    if (found.latest !== undefined) return { redirect: scheduleLink(ctx, found) };
    const partitionKey = optionalText(q, 'partition_key');
    return {
      html: findView(ctx, { key: found.key, topic: found.topic, ...(partitionKey !== undefined ? { partitionKey } : {}) }, found),
      status: 404,
    };
  });
  route('GET', '/schedule', 'read', async ({ ctx }, q) => {
    const found = await find(q);
    return { html: scheduleView(ctx, found), status: found.latest === undefined ? 404 : 200 };
  });
  route('GET', '/api/schedule', 'read', async (_r, q) => ({ json: foundJson(await find(q)) }));

  // Actions: GET shows the confirmation (needs nothing but reading), POST acts.
  const pending = async (r: Request, q: Params): Promise<FoundSchedule> => {
    const found = await find(q);
    if (found.status !== 'pending') {
      throw new HttpError(
        409,
        `${found.key} is ${found.status} on ${found.topic}/${found.partition}: only a pending schedule can be cancelled or rescheduled`,
        'key',
      );
    }
    if (!canAct(r.ctx))
      throw needCredential(auth.kind, auth.actionsEnabled ? undefined : 'the UI is read-only: no credential is configured');
    return found;
  };
  route('GET', '/cancel', 'read', async (r, q) => ({ html: confirmCancelView(r.ctx, await pending(r, q)) }));
  route('POST', '/cancel', 'act', async (r, q) => {
    const found = await pending(r, q);
    if (q.get('confirm') !== 'yes') return { html: confirmCancelView(r.ctx, found) };
    const result = await admin.cancel(found.key, { topic: found.topic, partition: found.partition });
    return { html: actionResultView(r.ctx, 'cancel', result) };
  });
  route('GET', '/reschedule', 'read', async (r, q) => ({ html: rescheduleView(r.ctx, await pending(r, q), {}) }));
  route('POST', '/reschedule', 'act', async (r, q) => {
    const found = await pending(r, q);
    if (q.get('confirm') === 'yes') {
      const dueMs = timeParam(q, 'due_ms');
      if (dueMs === undefined) throw new HttpError(400, 'is required with confirm=yes', 'due_ms');
      const result = await admin.reschedule(found.key, { at: dueMs }, { topic: found.topic, partition: found.partition });
      return { html: actionResultView(r.ctx, 'reschedule', result, dueMs) };
    }
    const at = optionalText(q, 'at');
    const delay = optionalText(q, 'in');
    let dueMs: number;
    try {
      dueMs = dueOf(q);
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      return {
        html: rescheduleView(r.ctx, found, {
          ...(at !== undefined ? { at } : {}),
          ...(delay !== undefined ? { in: delay } : {}),
          error: `${error.parameter}: ${error.message}`,
        }),
        status: 400,
      };
    }
    return { html: rescheduleView(r.ctx, found, { dueMs }) };
  });
  route('POST', '/api/cancel', 'act', async (_r, q) => {
    const found = await find(q);
    const result = await admin.cancel(found.key, { topic: found.topic, partition: found.partition });
    return { json: { found: foundJson(result.found), produced: result.produced } };
  });
  route('POST', '/api/reschedule', 'act', async (_r, q) => {
    const dueMs = dueOf(q);
    const found = await find(q);
    const result = await admin.reschedule(found.key, { at: dueMs }, { topic: found.topic, partition: found.partition });
    return { json: { found: foundJson(result.found), produced: result.produced, dueAt: new Date(dueMs).toISOString() } };
  });

  /** The new due time of a reschedule: `at`, or `in` from now. */
  const dueOf = (q: Params): number => {
    const atMs = timeParam(q, 'at');
    const inMs = durationParam(q, 'in');
    if (atMs !== undefined && inMs !== undefined) throw new HttpError(400, 'give a time (at) or a delay (in), not both', 'in');
    if (atMs === undefined && inMs === undefined) throw new HttpError(400, 'give the new due time (at) or a delay from now (in)', 'at');
    return atMs ?? now() + inMs!;
  };

  const live = (): LiveSnapshot => {
    if (options.live === undefined)
      throw new HttpError(404, 'live figures are shown when the UI runs inside the scheduler (`ksched run --ui`)');
    return options.live.snapshot();
  };
  route('GET', '/live', 'read', ({ ctx }) => ({ html: liveView(ctx, live(), refreshSeconds) }));
  route('GET', '/api/live', 'read', () => ({ json: live() }));

  route('GET', '/login', 'public', (r) => {
    if (auth.kind === 'none') throw new HttpError(404, 'there is nothing to sign in to: no credential is configured, the UI is read-only');
    if (r.identity.kind !== 'anonymous') return { redirect: `${r.ctx.base}/` };
    if (auth.kind === 'basic') throw needCredential('basic');
    const next = safeNext(r.ctx, r.query.get('next'));
    return { html: loginView(r.ctx, next !== undefined ? { next } : {}) };
  });
  route('POST', '/login', 'public', (r, q) => {
    if (auth.kind !== 'token') throw new HttpError(404, 'sign-in by token is not configured');
    if (crossSite(r.req)) throw new HttpError(403, 'a sign-in from another site is refused');
    const session = auth.login(q.get('token') ?? '');
    const next = safeNext(r.ctx, q.get('next'));
    if (session === undefined) return { html: loginView(r.ctx, { failed: true, ...(next !== undefined ? { next } : {}) }), status: 401 };
    return { redirect: next ?? `${r.ctx.base}/`, headers: { 'set-cookie': sessionCookie(r, session, SESSION_TTL_MS / 1000) } };
  });
  route('POST', '/logout', 'act', (r) => ({ redirect: `${r.ctx.base}/`, headers: { 'set-cookie': sessionCookie(r, '', 0) } }));

  return (req, res, next) => {
    handle(req, res, next).catch((error: unknown) => {
      options.onError?.(error);
      if (!res.headersSent) {
        res.writeHead(500, { ...SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8' });
        res.end('internal error');
      } else res.destroy();
    });
  };
}

// ---- helpers --------------------------------------------------------------------------------------

function notMine(res: ServerResponse, next: ((error?: unknown) => void) | undefined): void {
  if (next !== undefined) return next();
  res.writeHead(404, { ...SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8' });
  res.end('not found');
}

/** A POST that changes something: a credential is configured and came with it, from this site. */
function checkAction(r: Request, kind: 'none' | 'token' | 'basic', enabled: boolean): void {
  if (!enabled) throw new HttpError(403, 'the UI is read-only: no credential is configured, so nothing can be changed');
  if (r.identity.kind === 'anonymous') throw needCredential(kind);
  if (crossSite(r.req)) throw new HttpError(403, 'a request from another site is refused');
  if (r.api && !/^application\/json\b/i.test(r.req.headers['content-type'] ?? '')) {
    throw new HttpError(415, 'send the body as application/json', 'content-type');
  }
}

function needCredential(kind: 'none' | 'token' | 'basic', message?: string): HttpError {
  if (kind === 'none') return new HttpError(403, message ?? 'the UI is read-only: no credential is configured');
  const headers: Record<string, string> = kind === 'basic' ? { 'www-authenticate': 'Basic realm="ksched", charset="UTF-8"' } : {};
  return new HttpError(
    401,
    message ?? (kind === 'token' ? 'sign in with the UI token first' : 'give the user name and password'),
    undefined,
    headers,
  );
}

function safeNext(ctx: ViewContext, next: string | null): string | undefined {
  if (next === null || !next.startsWith(`${ctx.base}/`) || next.startsWith('//') || next.includes('\\')) return undefined;
  return next;
}

function sessionCookie(r: Request, value: string, maxAgeS: number): string {
  const secure = (r.req.socket as TLSSocket).encrypted === true || r.req.headers['x-forwarded-proto'] === 'https';
  return `${SESSION_COOKIE}=${value}; Path=${r.ctx.base.length > 0 ? r.ctx.base : '/'}; HttpOnly; SameSite=Strict; Max-Age=${maxAgeS}${secure ? '; Secure' : ''}`;
}

function scheduleLink(ctx: ViewContext, found: FoundSchedule): string {
  const query = new URLSearchParams({ topic: found.topic, partition: String(found.partition), key: found.key });
  return `${ctx.base}/schedule?${query.toString()}`;
}

async function readBody(r: Request): Promise<Params> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of r.req as AsyncIterable<Buffer>) {
    size += chunk.byteLength;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `the request body is larger than ${MAX_BODY_BYTES} bytes`, 'body');
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (r.api) {
    let body: unknown;
    try {
      body = text.length === 0 ? {} : JSON.parse(text);
    } catch {
      throw new HttpError(400, 'the body is not valid JSON', 'body');
    }
    return jsonParams(body);
  }
  const type = r.req.headers['content-type'] ?? '';
  if (text.length > 0 && !/^application\/x-www-form-urlencoded\b/i.test(type)) {
    throw new HttpError(415, 'send the form as application/x-www-form-urlencoded', 'content-type');
  }
  return new URLSearchParams(text);
}

function errorReply(r: Request, error: HttpError): Reply {
  if (r.api || (r.req.headers.accept ?? '').startsWith('application/json')) {
    return {
      json: { error: error.message, ...(error.parameter !== undefined ? { parameter: error.parameter } : {}), status: error.status },
      status: error.status,
      headers: error.headers,
    };
  }
  return { html: errorView(r.ctx, error.status, error.message, error.parameter), status: error.status, headers: error.headers };
}

function send(r: Request, reply: Reply): void {
  const { res } = r;
  const head = r.method === 'HEAD';
  const extra = 'headers' in reply && reply.headers !== undefined ? reply.headers : {};
  if ('redirect' in reply) {
    res.writeHead(303, { ...SECURITY_HEADERS, ...extra, location: reply.redirect, 'content-length': 0 });
    res.end();
    return;
  }
  let body: string;
  let type: string;
  let status = 200;
  if ('css' in reply) {
    body = reply.css;
    type = 'text/css; charset=utf-8';
  } else if ('json' in reply) {
    body = JSON.stringify(reply.json, jsonValue);
    type = JSON_TYPE;
    status = reply.status ?? 200;
  } else {
    body = reply.html.toString();
    type = HTML_TYPE;
    status = reply.status ?? 200;
  }
  res.writeHead(status, { ...SECURITY_HEADERS, ...extra, 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(head ? undefined : body);
}

/** JSON for bytes: base64 (JSON.stringify would write a Uint8Array as an object of indexes). */
function jsonValue(_key: string, value: unknown): unknown {
  return value instanceof Uint8Array ? { base64: Buffer.from(value).toString('base64') } : value;
}

function headerJson(value: HeaderValue): string | { base64: string } {
  return typeof value === 'string' ? value : { base64: Buffer.from(value).toString('base64') };
}

/** A record for the JSON API: times as ISO too, header values as text or base64, the payload as base64 with a preview. */
function recordJson(r: AdminRecord): Record<string, unknown> {
  const preview = previewPayload(r.value);
  return {
    ...r,
    createdAt: new Date(r.createdAtMs).toISOString(),
    ...(r.dueMs !== undefined ? { dueAt: new Date(r.dueMs).toISOString() } : {}),
    headers: Object.fromEntries(Object.entries(r.headers).map(([name, value]) => [name, headerJson(value)])),
    value: r.value === null ? null : Buffer.from(r.value).toString('base64'),
    preview: { kind: preview.kind, text: preview.text, truncated: preview.truncated },
  };
}

function foundJson(found: FoundSchedule): Record<string, unknown> {
  return {
    ...found,
    latest: found.latest === undefined ? null : recordJson(found.latest),
    history: found.history.map(recordJson),
  };
}
