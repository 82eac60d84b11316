/**
 * Who may act: a credential set in configuration, a token or a user name and password (HTTP basic).
 *
 * - **No credential:** the UI is read-only for everyone; every state-changing request is refused.
 * - **A credential:** every page and API call needs it. A token is typed once into the login form,
 *   which sets a session cookie (HttpOnly, SameSite=Strict, signed with the handler's secret), or
 *   sent as `Authorization: Bearer <token>` by scripts. Basic auth is the browser's own prompt.
 * - **CSRF:** a browser sends cookies and cached basic credentials by itself, so every form that
 *   changes something carries a token derived from the session (an HMAC under the secret), and a
 *   POST whose `Origin` is another site is refused. JSON API calls need `content-type:
 *   application/json`, which a cross-site form cannot send without a CORS preflight (none is
 *   answered). A bearer token is never sent by a browser on its own, so it needs no CSRF token.
 *
 * Credentials are compared in constant time.
 *
 * @module
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** The credential that unlocks the UI and its actions. */
export type WebAuth = { readonly token: string } | { readonly basic: { readonly username: string; readonly password: string } };

/** Who a request is, as far as the UI is concerned. */
export type Identity =
  | { readonly kind: 'anonymous' }
  | { readonly kind: 'session'; readonly session: string }
  | { readonly kind: 'basic'; readonly username: string }
  | { readonly kind: 'bearer' };

export const SESSION_COOKIE = 'ksched_session';
/** How long a login lasts. */
export const SESSION_TTL_MS = 12 * 3600_000;

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  // Compare equal-length digests so the length of the secret does not leak either.
  return (
    timingSafeEqual(createHmac('sha256', 'ksched-compare').update(x).digest(), createHmac('sha256', 'ksched-compare').update(y).digest()) &&
    x.length === y.length
  );
}

function cookies(req: IncomingMessage): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) out.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  return out;
}

/** Checks credentials, signs sessions and CSRF tokens. */
export class Authenticator {
  readonly auth: WebAuth | undefined;
  readonly #secret: Buffer;
  readonly #now: () => number;

  constructor(auth: WebAuth | undefined, options: { readonly secret?: string | Uint8Array; readonly now: () => number }) {
    if (auth !== undefined) {
      if ('token' in auth && auth.token.length < 8) throw new RangeError('auth.token must be at least 8 characters');
      if ('basic' in auth && (auth.basic.username.length === 0 || auth.basic.password.length < 8))
        throw new RangeError('auth.basic needs a username and a password of at least 8 characters');
    }
    this.auth = auth;
    this.#secret = options.secret !== undefined ? Buffer.from(options.secret) : randomBytes(32);
    this.#now = options.now;
  }

  /** Actions are possible at all (a credential is configured). */
  get actionsEnabled(): boolean {
    return this.auth !== undefined;
  }

  get kind(): 'none' | 'token' | 'basic' {
    return this.auth === undefined ? 'none' : 'token' in this.auth ? 'token' : 'basic';
  }

  /** Who sent `req`: `anonymous` when no valid credential came with it. */
  identify(req: IncomingMessage): Identity {
    const auth = this.auth;
    if (auth === undefined) return { kind: 'anonymous' };
    const header = req.headers.authorization ?? '';
    if ('token' in auth) {
      const bearer = /^Bearer\s+(.+)$/i.exec(header);
      if (bearer !== null && sameText(bearer[1]!.trim(), auth.token)) return { kind: 'bearer' };
      const session = cookies(req).get(SESSION_COOKIE);
      if (session !== undefined && this.#validSession(session)) return { kind: 'session', session };
      return { kind: 'anonymous' };
    }
    const basic = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header);
    if (basic === null) return { kind: 'anonymous' };
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return { kind: 'anonymous' };
    const username = decoded.slice(0, colon);
    const userOk = sameText(username, auth.basic.username);
    const passwordOk = sameText(decoded.slice(colon + 1), auth.basic.password);
    return userOk && passwordOk ? { kind: 'basic', username } : { kind: 'anonymous' };
  }

  /** A login with `token`: the session cookie value, or `undefined` when the token is wrong. */
  login(token: string): string | undefined {
    const auth = this.auth;
    if (auth === undefined || !('token' in auth) || !sameText(token, auth.token)) return undefined;
    const expires = this.#now() + SESSION_TTL_MS;
    return `${expires}.${this.#sign(`session:${expires}`)}`;
  }

  /** The CSRF token forms of `identity` carry; `undefined` when it needs none or cannot act. */
  csrfToken(identity: Identity): string | undefined {
    if (identity.kind === 'session') return this.#sign(`csrf:session:${identity.session}`);
    if (identity.kind === 'basic') return this.#sign(`csrf:basic:${identity.username}`);
    return undefined;
  }

  /** `token` is the CSRF token of `identity` (a bearer needs none). */
  checkCsrf(identity: Identity, token: string | undefined): boolean {
    if (identity.kind === 'bearer') return true;
    const expected = this.csrfToken(identity);
    return expected !== undefined && token !== undefined && sameText(token, expected);
  }

  #validSession(value: string): boolean {
    const dot = value.indexOf('.');
    if (dot < 0) return false;
    const expires = Number(value.slice(0, dot));
    if (!Number.isSafeInteger(expires) || expires <= this.#now()) return false;
    return sameText(value.slice(dot + 1), this.#sign(`session:${expires}`));
  }

  #sign(text: string): string {
    return createHmac('sha256', this.#secret).update(text).digest('base64url');
  }
}

/**
 * The request comes from another site: its `Origin` (or, without one, `Sec-Fetch-Site`) says so.
 * Requests without either (curl, old browsers) pass this check and rely on the CSRF token.
 */
export function crossSite(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  const site = req.headers['sec-fetch-site'];
  // `Origin: null` is what a browser sends for an opaque origin, or under a no-referrer policy:
  // then only `Sec-Fetch-Site: same-origin` vouches for it.
  if (origin === 'null') return site !== 'same-origin';
  if (origin !== undefined) {
    try {
      return new URL(origin).host !== req.headers.host;
    } catch {
      return true;
    }
  }
  return site === 'cross-site' || site === 'same-site';
}
