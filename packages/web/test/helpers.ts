/**
 * The UI over a FakeBroker test environment, served on a free port, and a small client that keeps
 * the session cookie and reads CSRF tokens out of forms.
 */
import { createScheduleAdmin } from '@ksched/core';
import { createTestEnvironment, type TestEnvironment, type TestEnvironmentOptions } from '@ksched/testkit';
import { createWebHandler, startWebServer, type WebHandlerOptions, type WebServer } from '../src/index.js';

export const TOPIC = 'scheduled_messages';
export const TOKEN = 'test-token-123456';

/** A running UI over a test environment. */
export interface UiFixture extends AsyncDisposable {
  readonly env: TestEnvironment;
  readonly server: WebServer;
  /** Absolute URL of a UI path. */
  url(path: string): string;
}

export async function uiFixture(
  options: { env?: TestEnvironmentOptions; web?: Partial<Omit<WebHandlerOptions, 'admin'>> } = {},
): Promise<UiFixture> {
  const env = await createTestEnvironment({ partitions: 3, ...options.env });
  const transport = env.broker.createTransport({ clientId: 'ui', clock: env.clock });
  await transport.connect();
  const admin = createScheduleAdmin({ transport, schedulesTopics: [TOPIC], clock: env.clock });
  const handler = createWebHandler({ admin, now: () => env.clock.now(), ...options.web });
  const server = await startWebServer({ handler, port: 0 });
  return {
    env,
    server,
    url: (path) => new URL(path.replace(/^\//, ''), server.url).toString(),
    async [Symbol.asyncDispose]() {
      await server.close();
      await admin.close();
      await transport.close();
      await env.close();
    },
  };
}

/** A response with its body read. */
export interface Reply {
  readonly status: number;
  readonly headers: Headers;
  readonly body: string;
}

/** A browser-like client: keeps cookies, does not follow redirects. */
export class Client {
  readonly #cookies = new Map<string, string>();
  readonly #ui: UiFixture;
  readonly #authorization: string | undefined;
  constructor(ui: UiFixture, authorization?: string) {
    this.#ui = ui;
    this.#authorization = authorization;
  }

  async get(path: string, headers: Record<string, string> = {}): Promise<Reply> {
    return this.#request('GET', path, undefined, headers);
  }

  async post(path: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<Reply> {
    return this.#request('POST', path, new URLSearchParams(form).toString(), {
      'content-type': 'application/x-www-form-urlencoded',
      ...headers,
    });
  }

  async postJson(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Reply> {
    return this.#request('POST', path, JSON.stringify(body), { 'content-type': 'application/json', ...headers });
  }

  /** Signs in with the token (the login form). */
  async login(token = TOKEN): Promise<Reply> {
    return this.post('/login', { token });
  }

  async #request(method: string, path: string, body: string | undefined, headers: Record<string, string>): Promise<Reply> {
    const cookie = [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const response = await fetch(this.#ui.url(path), {
      method,
      redirect: 'manual',
      headers: {
        ...(cookie.length > 0 ? { cookie } : {}),
        ...(this.#authorization !== undefined ? { authorization: this.#authorization } : {}),
        ...headers,
      },
      ...(body !== undefined ? { body } : {}),
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      const value = pair!.slice(eq + 1);
      if (value === '' || /max-age=0/i.test(line)) this.#cookies.delete(pair!.slice(0, eq));
      else this.#cookies.set(pair!.slice(0, eq), value);
    }
    // Whitespace between tags squashed (the templates are formatted), so tests can match markup.
    return { status: response.status, headers: response.headers, body: (await response.text()).replace(/>\s+</g, '><') };
  }
}

/** The CSRF token of the first form on a page. */
export function csrfOf(body: string): string {
  const match = /name="csrf" value="([^"]*)"/.exec(body);
  if (match === null || match[1] === '') throw new Error('the page has no form with a CSRF token');
  return match[1]!;
}

/** Cells of the rows of the first table with `class="<name>"`. */
export function tableRows(body: string, name: string): string[][] {
  const table = new RegExp(`<table class="${name}">([\\s\\S]*?)</table>`).exec(body);
  if (table === null) throw new Error(`no table ${name}`);
  const rows = [...table[1]!.matchAll(/<tr[^>]*>([\s\S]*?)<\/tr>/g)].map((m) =>
    [...m[1]!.matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((c) => c[1]!.replace(/<[^>]+>/g, '').trim()),
  );
  return rows.filter((cells) => cells.length > 0);
}
