/**
 * The sign-in page and error pages.
 *
 * @module
 */
import { html, type Html } from '../html.js';
import { href, page, type ViewContext } from './layout.js';

export function loginView(ctx: ViewContext, options: { failed?: boolean; next?: string } = {}): Html {
  return page(
    ctx,
    { title: 'Sign in' },
    html`<h1>Sign in</h1>
      ${options.failed === true ? html`<div class="banner error" role="alert">That token is not the one configured.</div>` : ''}
      <form method="post" action="${href(ctx, '/login')}" class="inline">
        <label>token <input type="password" name="token" autocomplete="current-password" required autofocus /></label>
        ${options.next !== undefined ? html`<input type="hidden" name="next" value="${options.next}" />` : ''}
        <button type="submit">Sign in</button>
      </form>`,
  );
}

/** An error page: the status, what is wrong and, when one is to blame, the parameter. */
export function errorView(ctx: ViewContext, status: number, message: string, parameter?: string): Html {
  return page(
    ctx,
    { title: `Error ${status}` },
    html`<h1>
        ${status === 404 ? 'Not found' : status === 401 ? 'Sign-in needed' : status === 403 ? 'Not allowed' : status >= 500 ? 'Something failed' : 'Bad request'}
      </h1>
      <div class="banner error" role="alert" data-status="${status}" ${parameter !== undefined ? html` data-parameter="${parameter}"` : ''}>
        ${parameter !== undefined ? html`<strong>${parameter}</strong>: ` : ''}${message}
      </div>
      <p><a href="${href(ctx, '/')}">Back to the topics</a></p>`,
  );
}
