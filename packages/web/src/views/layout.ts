/**
 * The page frame (navigation, find box, who is logged in, the read-only banner) and the helpers
 * every view uses: links under the UI's base path, times, badges.
 *
 * @module
 */
import { html, visible, type Html, type HtmlValue } from '../html.js';

/** What a view knows about the request it answers. */
export interface ViewContext {
  /** Where the UI is mounted, without a trailing slash (`''` at the root). */
  readonly base: string;
  readonly title: string;
  /** The schedules topics the UI shows. */
  readonly topics: readonly string[];
  /** A credential is configured (actions are possible at all). */
  readonly actionsEnabled: boolean;
  /** How the credential is given: a login form (`token`) or the browser's prompt (`basic`). */
  readonly authKind: 'none' | 'token' | 'basic';
  /** This request carries the credential. */
  readonly authenticated: boolean;
  /** The CSRF token forms must carry, when the request may act. */
  readonly csrf: string | undefined;
  /** Live stats are available (the UI runs inside the scheduler). */
  readonly live: boolean;
}

/** May this request change something? */
export function canAct(ctx: ViewContext): boolean {
  return ctx.actionsEnabled && ctx.authenticated;
}

/** A link under the UI's base path; `params` are URL-encoded (undefined ones left out). */
export function href(ctx: ViewContext, path: string, params: Record<string, string | number | undefined> = {}): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value !== undefined) query.set(name, String(value));
  const text = query.toString();
  return `${ctx.base}${path}${text.length > 0 ? `?${text}` : ''}`;
}

/** A time as UTC ISO 8601 with milliseconds, or `-`. */
export function time(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '-';
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? String(ms) : date.toISOString().replace('T', ' ');
}

export function badge(kind: string, text: string = kind): Html {
  return html`<span class="badge ${kind.replace(/[^a-z_-]/gi, '')}">${text}</span>`;
}

/** A key (or any text from a record) with its invisible characters made visible; `(null)` for none. */
export function shown(text: string | null | undefined): string {
  return text === null || text === undefined ? '(null)' : visible(text);
}

/** The hidden CSRF field of a form. */
export function csrfField(ctx: ViewContext): Html {
  return html`<input type="hidden" name="csrf" value="${ctx.csrf ?? ''}" />`;
}

/** Options of {@link page}. */
export interface PageOptions {
  readonly title: string;
  /** Which navigation entry is current. */
  readonly active?: 'topics' | 'planned' | 'explorer' | 'find' | 'live';
  /** Reload the page every this many seconds (a meta refresh: no script runs). */
  readonly refreshSeconds?: number;
  /** A `?topic=` to keep in the navigation links. */
  readonly topic?: string;
}

/** A full page around `body`. */
export function page(ctx: ViewContext, options: PageOptions, body: HtmlValue): Html {
  const nav = (name: NonNullable<PageOptions['active']>, path: string, label: string): Html =>
    html`<a
      href="${href(ctx, path, name === 'live' || name === 'topics' ? {} : { topic: options.topic })}"
      class="${options.active === name ? 'active' : ''}"
      >${label}</a
    >`;
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="same-origin" />
        ${options.refreshSeconds !== undefined ? html`<meta http-equiv="refresh" content="${options.refreshSeconds}" />` : ''}
        <title>${options.title} · ${ctx.title}</title>
        <link rel="stylesheet" href="${href(ctx, '/assets/style.css')}" />
      </head>
      <body>
        <header class="top">
          <a class="brand" href="${href(ctx, '/')}">${ctx.title}</a>
          <nav>
            ${nav('topics', '/', 'Topics')} ${nav('planned', '/planned', 'Planned')} ${nav('explorer', '/explorer', 'Explorer')}
            ${ctx.live ? nav('live', '/live', 'Live') : ''}
          </nav>
          <form class="find" method="get" action="${href(ctx, '/find')}">
            ${options.topic !== undefined ? html`<input type="hidden" name="topic" value="${options.topic}" />` : ''}
            <input type="search" name="key" placeholder="Find a schedule by key" aria-label="schedule key" required />
            <button type="submit">Find</button>
          </form>
          <span class="who">${who(ctx)}</span>
        </header>
        <main>${!canAct(ctx) ? readOnlyBanner(ctx) : ''} ${body}</main>
      </body>
    </html> `;
}

function who(ctx: ViewContext): Html {
  if (!ctx.actionsEnabled) return html`read-only`;
  if (ctx.authKind === 'token' && ctx.authenticated) {
    return html`signed in
      <form method="post" action="${href(ctx, '/logout')}">
        ${csrfField(ctx)}<button type="submit" class="button secondary">Sign out</button>
      </form>`;
  }
  return ctx.authenticated ? html`signed in` : html`<a href="${href(ctx, '/login')}">Sign in</a>`;
}

function readOnlyBanner(ctx: ViewContext): Html {
  if (!ctx.actionsEnabled) {
    return html`<div class="banner readonly" role="status">
      Read-only: no credential is configured, so cancel and reschedule are off. Set a token (<code>ui.token</code> /
      <code>KSCHED_UI_TOKEN</code>) or basic auth to enable them.
    </div>`;
  }
  return html`<div class="banner readonly" role="status">Read-only until you <a href="${href(ctx, '/login')}">sign in</a>.</div>`;
}
