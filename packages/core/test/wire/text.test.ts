import { describe, expect, it } from 'vitest';
import { headerText } from '@ksched/core';

const enc = new TextEncoder();

describe('header text', () => {
  it('decodes short ASCII, UTF-8, long values and invalid sequences like a TextDecoder', () => {
    const reference = new TextDecoder('utf-8');
    const samples = [
      enc.encode(''),
      enc.encode('schedule'),
      enc.encode('1767225600123'),
      enc.encode('zürich-€-日本'),
      enc.encode('x'.repeat(63) + 'é'),
      enc.encode('y'.repeat(500)),
      new Uint8Array([0x61, 0xff, 0x62]),
      new Uint8Array([0x7f, 0x00, 0x41]),
    ];
    for (const bytes of samples) expect(headerText({ h: bytes }, 'h')).toBe(reference.decode(bytes));
    expect(headerText({ h: 'as is' }, 'h')).toBe('as is');
    expect(headerText({}, 'h')).toBeUndefined();
  });
});
