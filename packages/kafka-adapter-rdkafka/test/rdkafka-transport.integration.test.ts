/**
 * What the rdkafka transport does beyond the Transport conformance suite (which it passes but for
 * binary headers, see conformance.integration.test.ts): text and UTF-8 byte headers round-trip,
 * and header bytes node-rdkafka would alter are refused.
 */
import { describe, expect, it } from 'vitest';
import { UnsupportedError } from '@ksched/core';
import { text, useResources } from './helpers.js';

const r = useResources();

describe('rdkafka transport: headers', () => {
  it('text headers and UTF-8 byte headers round-trip (as plain Uint8Arrays)', async () => {
    const topic = await r.topic('roundtrip');
    const t = await r.transport();
    const utf8Bytes = new TextEncoder().encode('bytes ✓');
    await t.produce([{ topic, partition: 0, key: 'k', value: 'v', headers: { text: 'héllo ✓', utf8: utf8Bytes } }]);
    const { recorder } = await r.consume([topic]);
    const tp = { topic, partition: 0 };
    await recorder.waitForEof(tp, 1);
    const [record] = recorder.of(tp).flatMap((b) => b.records);
    expect(text(record!.headers['text'])).toBe('héllo ✓');
    expect(Array.from(record!.headers['utf8'] as Uint8Array)).toEqual(Array.from(utf8Bytes));
    expect(Buffer.isBuffer(record!.headers['utf8'])).toBe(false);
    expect(recorder.violations).toEqual([]);
  });

  it('refuses header values node-rdkafka would alter (non-UTF-8 bytes, NUL) with UnsupportedError, producing nothing', async () => {
    const topic = await r.topic('binary-headers');
    const t = await r.transport();
    const before = await t.fetchWatermarks({ topic, partition: 0 });
    for (const value of [new Uint8Array([0, 1, 127, 128, 254, 255]), 'a\u0000b', '\uD800']) {
      const error = await t
        .produce([
          { topic, partition: 0, key: 'ok', value: 'first' },
          { topic, partition: 0, key: 'bad', value: 'second', headers: { h: value } },
        ])
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(UnsupportedError.isInstance(error)).toBe(true);
    }
    expect(await t.fetchWatermarks({ topic, partition: 0 })).toEqual(before);
  });
});
