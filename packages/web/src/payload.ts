/**
 * Payload previews: at most a few KiB of a record's value, as text when it is valid UTF-8 without
 * control characters (JSON pretty-printed), otherwise as a hex dump.
 *
 * @module
 */

/** Bytes of a payload a preview shows at most. */
export const PREVIEW_BYTES = 4096;

/** What {@link previewPayload} shows. */
export interface PayloadPreview {
  readonly kind: 'null' | 'empty' | 'text' | 'json' | 'hex';
  /** The preview text (escaped when rendered, like everything from a record). */
  readonly text: string;
  /** The payload's full size, bytes. */
  readonly size: number;
  /** The preview shows only the first {@link PREVIEW_BYTES} bytes. */
  readonly truncated: boolean;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** A preview of `value` (see the module comment). */
export function previewPayload(value: Uint8Array | null, limit = PREVIEW_BYTES): PayloadPreview {
  if (value === null) return { kind: 'null', text: '', size: 0, truncated: false };
  if (value.byteLength === 0) return { kind: 'empty', text: '', size: 0, truncated: false };
  const truncated = value.byteLength > limit;
  const head = truncated ? value.subarray(0, limit) : value;
  const text = decodeText(head, truncated);
  if (text !== undefined) {
    if (!truncated) {
      const pretty = prettyJson(text);
      if (pretty !== undefined) return { kind: 'json', text: pretty, size: value.byteLength, truncated };
    }
    return { kind: 'text', text, size: value.byteLength, truncated };
  }
  return { kind: 'hex', text: hexDump(head), size: value.byteLength, truncated };
}

function decodeText(bytes: Uint8Array, truncated: boolean): string | undefined {
  // A cut may split a multi-byte character: drop up to 3 trailing bytes of an incomplete one.
  for (let drop = 0; drop <= (truncated ? 3 : 0); drop++) {
    let text: string;
    try {
      text = strictUtf8.decode(bytes.subarray(0, bytes.byteLength - drop));
    } catch {
      continue;
    }
    // eslint-disable-next-line no-control-regex
    return /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(text) ? undefined : text;
  }
  return undefined;
}

function prettyJson(text: string): string | undefined {
  const trimmed = text.trim();
  if (!(trimmed.startsWith('{') || trimmed.startsWith('['))) return undefined;
  try {
    return JSON.stringify(JSON.parse(trimmed), null, 2);
  } catch {
    return undefined;
  }
}

/** 16 bytes per line: offset, hex, and the printable ASCII (others as `.`). */
export function hexDump(bytes: Uint8Array): string {
  const lines: string[] = [];
  for (let at = 0; at < bytes.byteLength; at += 16) {
    const row = bytes.subarray(at, Math.min(at + 16, bytes.byteLength));
    const hex = Array.from(row, (b) => b.toString(16).padStart(2, '0')).join(' ');
    const ascii = Array.from(row, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    lines.push(`${at.toString(16).padStart(8, '0')}  ${hex.padEnd(47)}  ${ascii}`);
  }
  return lines.join('\n');
}
