/**
 * HTML built from tagged templates that escape every interpolated value unless it is already
 * {@link Html}. Record keys, headers, payloads and topic names come from whoever wrote to Kafka;
 * nothing of theirs reaches a page unescaped. Attribute values in the templates are always quoted,
 * so escaping `"` and `'` makes them safe inside attributes too.
 *
 * @module
 */

/** Markup that is already safe to send. Made only by {@link html} and by `trusted` (markup written in this package). */
export class Html {
  readonly #text: string;
  constructor(text: string) {
    this.#text = text;
  }
  toString(): string {
    return this.#text;
  }
}

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes `& < > " '` for text and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** What a template may interpolate: text (escaped), numbers, markup, lists of those; nothing for `null`, `undefined`, `false`. */
export type HtmlValue = Html | string | number | bigint | boolean | null | undefined | readonly HtmlValue[];

function render(value: HtmlValue): string {
  if (value instanceof Html) return value.toString();
  if (value === null || value === undefined || value === false || value === true) return '';
  if (Array.isArray(value)) return (value as readonly HtmlValue[]).map(render).join('');
  return escapeHtml(String(value));
}

/**
 * A template whose values are escaped: text is escaped, {@link Html} is kept as it is, lists are
 * joined, and `null`, `undefined` and booleans render nothing.
 *
 * @example
 * ```ts
 * html`<td>${record.key}</td>`; // a key `<b>` renders as the text "<b>"
 * ```
 */
export function html(strings: TemplateStringsArray, ...values: readonly HtmlValue[]): Html {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]!) + strings[i + 1]!;
  return new Html(out);
}

/** Markup written in this package (never text from a record or a request). */
export function trusted(markup: string): Html {
  return new Html(markup);
}

/**
 * Text with its control and invisible formatting characters (C0/C1 controls, bidi overrides, zero
 * width) shown as `\u{…}`, so a key cannot hide or reorder what is displayed around it.
 */
export function visible(text: string): string {
  return text.replace(
    // eslint-disable-next-line no-control-regex
    /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/g,
    (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`,
  );
}
