import { describe, expect, it } from 'vitest';
import { DeliveryBatch } from '../../src/internal/producer.js';

const meta = (offset: number) => ({ topic: 't', partition: 0, offset });

describe('DeliveryBatch', () => {
  it('fills each record slot from its report, in input order whatever the report order, and settles on the last', async () => {
    const batch = new DeliveryBatch(100, 3);
    let settled = false;
    void batch.settled.then(() => (settled = true));
    expect(batch.report(2, undefined, meta(7))).toBe(false);
    expect(batch.report(0, undefined, meta(5))).toBe(false);
    await Promise.resolve();
    expect(settled).toBe(false);
    expect(batch.report(1, undefined, meta(6))).toBe(true);
    expect(await batch.done()).toEqual([meta(5), meta(6), meta(7)]);
  });

  it('rejects with the first error, only once every report arrived', async () => {
    const batch = new DeliveryBatch(0, 3);
    const first = new Error('first');
    batch.report(1, first, undefined);
    batch.report(0, new Error('second'), undefined);
    let rejected: unknown;
    const done = batch.done().catch((e: unknown) => (rejected = e));
    await Promise.resolve();
    expect(rejected).toBeUndefined();
    batch.report(2, undefined, meta(1));
    await done;
    expect(rejected).toBe(first);
  });

  it('truncated after a refused record: waits for the records handed over, then rejects with the refusal', async () => {
    const refused = new Error('queue full');
    const batch = new DeliveryBatch(0, 4);
    batch.truncate(2, refused);
    expect(batch.size).toBe(2);
    expect(batch.remaining).toBe(2);
    batch.report(0, undefined, meta(0));
    expect(batch.report(1, undefined, meta(1))).toBe(true);
    await expect(batch.done()).rejects.toBe(refused);

    const nothingHandedOver = new DeliveryBatch(0, 2);
    nothingHandedOver.truncate(0, refused);
    await expect(nothingHandedOver.done()).rejects.toBe(refused);
  });

  it('abandoned (the producer closed): settles at once with the error', async () => {
    const closed = new Error('closed');
    const batch = new DeliveryBatch(0, 2);
    batch.report(0, undefined, meta(0));
    batch.abandon(closed);
    expect(batch.remaining).toBe(0);
    await expect(batch.done()).rejects.toBe(closed);
  });
});
