import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { DailyBuffer, type BufferEntry } from '@ksched/core';

const NOW = 1_767_225_600_000;

function entry(key: string, dueMs: number, offset: number, value = `${key}@${offset}`): BufferEntry<string> {
  return { key, dueMs, offset, value };
}

function keys(entries: readonly BufferEntry<unknown>[]): string[] {
  return entries.map((e) => e.key);
}

// Reference §11, unit level: DailyBuffer.
describe('DailyBuffer (reference cases)', () => {
  it('is empty at first', () => {
    const buffer = new DailyBuffer<string>();
    expect(buffer.size).toBe(0);
    expect(buffer.due(NOW)).toEqual([]);
    expect(buffer.peek()).toBeUndefined();
  });

  it('holds one schedule', () => {
    const buffer = new DailyBuffer<string>();
    buffer.add(entry('a', NOW, 1));
    expect(buffer.size).toBe(1);
    expect(buffer.has('a')).toBe(true);
    expect(buffer.get('a')).toMatchObject({ key: 'a', dueMs: NOW, offset: 1, value: 'a@1' });
  });

  it('holds two schedules under two keys', () => {
    const buffer = new DailyBuffer<string>();
    buffer.add(entry('a', NOW, 1));
    buffer.add(entry('b', NOW, 2));
    expect(buffer.size).toBe(2);
  });

  it('replaces the schedule buffered under the same key (an update)', () => {
    const buffer = new DailyBuffer<string>();
    buffer.add(entry('a', NOW - 1000, 1));
    buffer.add(entry('a', NOW + 3_600_000, 9));
    expect(buffer.size).toBe(1);
    expect(buffer.get('a')).toMatchObject({ dueMs: NOW + 3_600_000, offset: 9, value: 'a@9' });
    expect(buffer.due(NOW)).toEqual([]);
  });

  it('removes the key when a tombstone (or cancel) for it is applied', () => {
    const buffer = new DailyBuffer<string>();
    buffer.add(entry('a', NOW, 1));
    buffer.add(entry('b', NOW, 2));
    // The engine applies tombstones and cancels as a delete by key.
    expect(buffer.delete('a')).toBe(true);
    expect(buffer.size).toBe(1);
    expect(buffer.has('a')).toBe(false);
    expect(keys(buffer.due(NOW))).toEqual(['b']);
  });

  it('yields a due schedule', () => {
    const buffer = new DailyBuffer<string>();
    buffer.add(entry('a', NOW - 5000, 1));
    expect(buffer.due(NOW)).toEqual([entry('a', NOW - 5000, 1)]);
  });

  it('yields a schedule due exactly now', () => {
    const buffer = new DailyBuffer<string>();
    buffer.add(entry('a', NOW, 1));
    expect(keys(buffer.due(NOW))).toEqual(['a']);
    expect(keys(buffer.due(NOW - 1))).toEqual([]);
  });

  it('does not yield a schedule due in one hour', () => {
    const buffer = new DailyBuffer<string>();
    buffer.add(entry('a', NOW + 3_600_000, 1));
    expect(buffer.due(NOW)).toEqual([]);
    expect(buffer.size).toBe(1);
  });

  it('yields schedules with the same due time by offset (50, 100, 150)', () => {
    const buffer = new DailyBuffer<string>();
    buffer.add(entry('c', NOW, 150));
    buffer.add(entry('a', NOW, 50));
    buffer.add(entry('b', NOW, 100));
    expect(buffer.due(NOW).map((e) => e.offset)).toEqual([50, 100, 150]);
  });

  it('yields mixed due times earliest first, then by offset', () => {
    const buffer = new DailyBuffer<string>();
    buffer.add(entry('late-low', NOW - 1000, 10));
    buffer.add(entry('early-high', NOW - 2000, 300));
    buffer.add(entry('late-high', NOW - 1000, 200));
    buffer.add(entry('early-low', NOW - 2000, 20));
    expect(keys(buffer.due(NOW))).toEqual(['early-low', 'early-high', 'late-low', 'late-high']);
  });

  it('does not remove what due() returns', () => {
    const buffer = new DailyBuffer<string>();
    buffer.add(entry('a', NOW, 1));
    buffer.due(NOW);
    expect(buffer.size).toBe(1);
    expect(keys(buffer.due(NOW))).toEqual(['a']);
  });

  it('deletes an existing key', () => {
    const buffer = new DailyBuffer<string>();
    buffer.add(entry('a', NOW, 1));
    expect(buffer.delete('a')).toBe(true);
    expect(buffer.size).toBe(0);
    expect(buffer.due(NOW)).toEqual([]);
  });

  it('treats deleting a missing key as a no-op', () => {
    const buffer = new DailyBuffer<string>();
    buffer.add(entry('a', NOW, 1));
    expect(buffer.delete('missing')).toBe(false);
    expect(buffer.size).toBe(1);
    expect(keys(buffer.due(NOW))).toEqual(['a']);
  });
});

describe('DailyBuffer (ksched additions)', () => {
  it('deleteIfOffset removes only the version at that offset, so a newer update survives', () => {
    const buffer = new DailyBuffer<string>();
    buffer.add(entry('a', NOW, 1));
    buffer.add(entry('a', NOW + 10, 5));
    expect(buffer.deleteIfOffset('a', 1)).toBe(false);
    expect(buffer.get('a')?.offset).toBe(5);
    expect(buffer.deleteIfOffset('a', 5)).toBe(true);
    expect(buffer.has('a')).toBe(false);
    expect(buffer.deleteIfOffset('a', 5)).toBe(false);
  });

  it('due() stops at the limit and a limit of 0 returns nothing', () => {
    const buffer = new DailyBuffer<string>();
    for (let i = 0; i < 5; i++) buffer.add(entry(`k${i}`, NOW - i, i));
    expect(keys(buffer.due(NOW, 2))).toEqual(['k4', 'k3']);
    expect(buffer.due(NOW, 0)).toEqual([]);
    expect(buffer.due(NOW, -1)).toEqual([]);
  });

  it('keeps the order when a removal moves a small entry under a larger parent', () => {
    // Heap [1, 10, 2, 11, 12, 3, 4]: removing 11 puts 4 under 10, which must then move up.
    const buffer = new DailyBuffer<number>();
    [1, 10, 2, 11, 12, 3, 4].forEach((dueMs, offset) => buffer.add({ key: `k${dueMs}`, dueMs, offset, value: dueMs }));
    buffer.delete('k11');
    expect(buffer.toArray().map((e) => e.dueMs)).toEqual([1, 2, 3, 4, 10, 12]);
    buffer.add({ key: 'k12', dueMs: 0, offset: 9, value: 0 });
    expect(buffer.toArray().map((e) => e.dueMs)).toEqual([0, 1, 2, 3, 4, 10]);
  });

  it('peek() is the earliest entry and toArray() lists all in due order', () => {
    const buffer = new DailyBuffer<string>();
    buffer.add(entry('future', NOW + 60_000, 1));
    buffer.add(entry('now', NOW, 2));
    buffer.add(entry('past', NOW - 60_000, 3));
    expect(buffer.peek()?.key).toBe('past');
    expect(keys(buffer.toArray())).toEqual(['past', 'now', 'future']);
    buffer.delete('past');
    expect(buffer.peek()?.key).toBe('now');
  });

  it('hands out frozen copies: neither the caller nor a reader can reorder the heap', () => {
    const buffer = new DailyBuffer<string>();
    const mine = { key: 'a', dueMs: NOW + 60_000, offset: 1, value: 'v' };
    buffer.add(mine);
    buffer.add(entry('b', NOW, 2));
    mine.dueMs = NOW - 60_000;
    expect(keys(buffer.due(NOW))).toEqual(['b']);
    const got = buffer.get('a')!;
    expect(got).toEqual({ key: 'a', dueMs: NOW + 60_000, offset: 1, value: 'v' });
    expect(Object.keys(got).sort()).toEqual(['dueMs', 'key', 'offset', 'value']);
    expect(Object.isFrozen(got)).toBe(true);
    expect(Object.isFrozen(buffer.due(NOW)[0])).toBe(true);
  });

  it('clear() empties it', () => {
    const buffer = new DailyBuffer<string>();
    buffer.add(entry('a', NOW, 1));
    buffer.add(entry('b', NOW, 2));
    buffer.clear();
    expect(buffer.size).toBe(0);
    expect(buffer.has('a')).toBe(false);
    expect(buffer.due(NOW)).toEqual([]);
    buffer.add(entry('c', NOW, 3));
    expect(keys(buffer.due(NOW))).toEqual(['c']);
  });

  it('due() with a small limit on a large buffer returns the right entries', () => {
    const buffer = new DailyBuffer<number>();
    const n = 100_000;
    // A fixed pseudo-random permutation of due times, with many ties broken by offset.
    let seed = 12345;
    const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    const all: BufferEntry<number>[] = [];
    for (let i = 0; i < n; i++) {
      const e = { key: `k${i}`, dueMs: NOW - 50_000 + (next() % 100_000), offset: next() % 1_000_000_000, value: i };
      all.push(e);
      buffer.add(e);
    }
    // Some updates and deletes, so the heap is not just insertion-built.
    for (let i = 0; i < n; i += 7) {
      const e = { key: `k${i}`, dueMs: NOW + 1_000_000 + i, offset: 2_000_000_000 + i, value: -i };
      all[i] = e;
      buffer.add(e);
    }
    for (let i = 3; i < n; i += 11) buffer.delete(`k${i}`);
    const live = all.filter((_, i) => !(i >= 3 && (i - 3) % 11 === 0));
    expect(buffer.size).toBe(live.length);

    const expected = live
      .filter((e) => e.dueMs <= NOW)
      .sort((a, b) => a.dueMs - b.dueMs || a.offset - b.offset)
      .slice(0, 10);
    const got = buffer.due(NOW, 10);
    expect(got.map((e) => [e.dueMs, e.offset])).toEqual(expected.map((e) => [e.dueMs, e.offset]));
    expect(new Set(keys(got))).toEqual(new Set(keys(expected)));
    expect(buffer.size).toBe(live.length);
  });
});

type Op =
  | { readonly op: 'add'; readonly key: string; readonly dueMs: number; readonly offset: number }
  | { readonly op: 'delete'; readonly key: string }
  | { readonly op: 'deleteIfOffset'; readonly key: string; readonly current: boolean; readonly offset: number }
  | { readonly op: 'due'; readonly nowMs: number; readonly limit: number | undefined };

const KEYS = Array.from({ length: 24 }, (_, i) => `k${i}`);
const keyArb = fc.constantFrom(...KEYS);
const dueArb = fc.integer({ min: 0, max: 40 });
const offsetArb = fc.integer({ min: 0, max: 60 });

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant('add' as const), key: keyArb, dueMs: dueArb, offset: offsetArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('delete' as const), key: keyArb }) },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('deleteIfOffset' as const), key: keyArb, current: fc.boolean(), offset: offsetArb }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('due' as const),
      nowMs: fc.integer({ min: -5, max: 45 }),
      limit: fc.option(fc.integer({ min: 0, max: 12 }), { nil: undefined }),
    }),
  },
);

/** The obvious model: a map by key, sorted by (due time, offset) when asked. */
function modelDue(model: Map<string, BufferEntry<string>>, nowMs: number, limit: number | undefined): BufferEntry<string>[] {
  return [...model.values()]
    .filter((e) => e.dueMs <= nowMs)
    .sort((a, b) => a.dueMs - b.dueMs || a.offset - b.offset)
    .slice(0, limit === undefined ? undefined : Math.max(0, limit));
}

describe('DailyBuffer (property: agrees with a map + sort model)', () => {
  it('size, membership and due() match the model after any sequence of operations', { timeout: 30_000 }, () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 200, size: 'max' }), (ops) => {
        const buffer = new DailyBuffer<string>();
        const model = new Map<string, BufferEntry<string>>();
        let seq = 0;
        for (const op of ops) {
          switch (op.op) {
            case 'add': {
              const e = entry(op.key, op.dueMs, op.offset, `v${seq++}`);
              buffer.add(e);
              model.set(op.key, e);
              break;
            }
            case 'delete':
              expect(buffer.delete(op.key)).toBe(model.delete(op.key));
              break;
            case 'deleteIfOffset': {
              const current = model.get(op.key);
              const offset = op.current && current ? current.offset : op.offset;
              const shouldRemove = current !== undefined && current.offset === offset;
              if (shouldRemove) model.delete(op.key);
              expect(buffer.deleteIfOffset(op.key, offset)).toBe(shouldRemove);
              break;
            }
            case 'due': {
              const got = buffer.due(op.nowMs, op.limit);
              const want = modelDue(model, op.nowMs, op.limit);
              // Equal (due, offset) pairs may come in either order; everything else is fixed.
              expect(got.map((e) => [e.dueMs, e.offset])).toEqual(want.map((e) => [e.dueMs, e.offset]));
              for (const e of got) expect(e).toEqual(model.get(e.key));
              expect(new Set(keys(got)).size).toBe(got.length);
              if (want.length > 0) {
                const tieAtEnd = want.filter((e) => e.dueMs === want.at(-1)!.dueMs && e.offset === want.at(-1)!.offset);
                const sameTieInModel = modelDue(model, op.nowMs, undefined).filter(
                  (e) => e.dueMs === want.at(-1)!.dueMs && e.offset === want.at(-1)!.offset,
                );
                // Without a tie cut by the limit, the exact key set is determined.
                if (tieAtEnd.length === sameTieInModel.length) expect(new Set(keys(got))).toEqual(new Set(keys(want)));
              }
              break;
            }
          }
          // After every operation, the whole state agrees (compared as text: cheap, and one assertion).
          const state = (
            b: { size: number; has(k: string): boolean; get(k: string): unknown },
            order: BufferEntry<string>[],
            head: unknown,
          ) => JSON.stringify([b.size, KEYS.map((k) => [b.has(k), b.get(k) ?? null]), order.map((e) => [e.dueMs, e.offset]), head ?? null]);
          const all = modelDue(model, Number.POSITIVE_INFINITY, undefined);
          const peeked = buffer.peek();
          const actual = state(buffer, buffer.toArray(), peeked && [peeked.dueMs, peeked.offset]);
          const expected = state(model, all, all[0] && [all[0].dueMs, all[0].offset]);
          if (actual !== expected) expect(actual).toBe(expected);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('with unique offsets (as in a partition), due() returns exactly the model entries in order', { timeout: 30_000 }, () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({ op: fc.constant('add' as const), key: keyArb, dueMs: dueArb }),
            fc.record({ op: fc.constant('delete' as const), key: keyArb }),
            fc.record({ op: fc.constant('due' as const), nowMs: fc.integer({ min: -5, max: 45 }), limit: fc.integer({ min: 0, max: 12 }) }),
          ),
          { maxLength: 200, size: 'max' },
        ),
        (ops) => {
          const buffer = new DailyBuffer<string>();
          const model = new Map<string, BufferEntry<string>>();
          let offset = 0;
          for (const op of ops) {
            if (op.op === 'add') {
              const e = entry(op.key, op.dueMs, offset++);
              buffer.add(e);
              model.set(op.key, e);
            } else if (op.op === 'delete') {
              buffer.delete(op.key);
              model.delete(op.key);
            } else {
              expect(buffer.due(op.nowMs, op.limit)).toEqual(modelDue(model, op.nowMs, op.limit));
            }
            expect(buffer.size).toBe(model.size);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('DailyBuffer (window: bytes, days, eviction)', () => {
  const DAY = 86_400_000;
  const sized = () => new DailyBuffer<string>({ sizeOf: (e) => e.value.length });
  const put = (b: DailyBuffer<string>, key: string, dueMs: number, bytes = 10, offset = 0) =>
    b.add({ key, dueMs, offset, value: 'x'.repeat(bytes) });

  it('keeps the estimated bytes and the count per UTC day through add, replace, delete and clear', () => {
    const b = sized();
    put(b, 'a', 5, 10);
    put(b, 'b', DAY + 5, 20);
    put(b, 'a', DAY + 6, 30); // replaced: moves day and size
    expect(b.bytes).toBe(50);
    expect([b.countOnDay(0), b.countOnDay(DAY)]).toEqual([0, 2]);
    b.delete('b');
    expect(b.bytes).toBe(30);
    expect(b.deleteIfOffset('a', 1)).toBe(false);
    expect(b.bytes).toBe(30);
    b.clear();
    expect([b.bytes, b.countOnDay(DAY)]).toEqual([0, 0]);
  });

  it('evictLatest removes from the latest due time down to the target, whole due times at once, never below the floor', () => {
    const b = sized();
    for (let i = 0; i < 10; i++) put(b, `k${i}`, 1000 + i * 100, 10, i);
    put(b, 'tie', 1800, 10, 99); // shares k8's due time
    expect(b.bytes).toBe(110);
    const out = b.evictLatest(75, 0)!;
    // 110 → k9 (100) → k8 and its tie (80) → k7 (70): the bound is k7's due time.
    expect(out.fromMs).toBe(1700);
    expect(out.entries.map((e) => e.key).sort()).toEqual(['k7', 'k8', 'k9', 'tie']);
    expect(b.bytes).toBe(70);
    // Everything due before the bound is still there.
    expect(b.toArray().map((e) => e.key)).toEqual(['k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6']);
    expect(b.evictLatest(100, 0)).toBeUndefined();
    // The floor wins over the target.
    const floor = b.evictLatest(0, 1500)!;
    expect(floor.fromMs).toBe(1500);
    expect(b.toArray().map((e) => e.dueMs)).toEqual([1000, 1100, 1200, 1300, 1400]);
  });
});

describe('DailyBuffer (taken out of the order while being dispatched)', () => {
  const sized = () => new DailyBuffer<string>({ sizeOf: (e) => e.value.length });

  it('take() hands out the earliest due entries, which stay buffered by key but leave due() and peek()', () => {
    const b = sized();
    b.add(entry('c', NOW + 2, 3, 'ccc'));
    b.add(entry('a', NOW, 1, 'a'));
    b.add(entry('b', NOW + 1, 2, 'bb'));
    b.add(entry('later', NOW + 60_000, 4, 'llll'));
    const taken = b.take(NOW + 1, 10);
    expect(keys(taken)).toEqual(['a', 'b']);
    // Still buffered: found, counted, sized.
    expect([b.size, b.taken, b.bytes, b.countOnDay(NOW)]).toEqual([4, 2, 10, 4]);
    expect(b.get('a')).toBe(taken[0]);
    expect(b.has('b')).toBe(true);
    // Out of the order: the next listing starts after them.
    expect(keys(b.due(NOW + 2))).toEqual(['c']);
    expect(b.peek()?.key).toBe('c');
    expect(keys(b.take(NOW + 2, 10))).toEqual(['c']);
    expect(b.take(NOW + 2, 10)).toEqual([]);
    // toArray() is every buffered entry, taken ones included.
    expect(keys(b.toArray())).toEqual(['a', 'b', 'c', 'later']);
  });

  it('take() stops at the limit and at the first entry not due', () => {
    const b = new DailyBuffer<string>();
    for (let i = 0; i < 6; i++) b.add(entry(`k${i}`, NOW + i, i));
    expect(keys(b.take(NOW + 4, 2))).toEqual(['k0', 'k1']);
    expect(keys(b.take(NOW + 4, 0))).toEqual([]);
    expect(keys(b.take(NOW + 3, 10))).toEqual(['k2', 'k3']);
    expect(keys(b.due(Number.POSITIVE_INFINITY))).toEqual(['k4', 'k5']);
  });

  it('deleting a taken entry (it was dispatched) frees its key, bytes and day count', () => {
    const b = sized();
    b.add(entry('a', NOW, 1, 'aaaa'));
    b.add(entry('b', NOW + 1, 2, 'bb'));
    const [a] = b.take(NOW, 1);
    expect(b.deleteIfOffset('a', 0)).toBe(false);
    expect(b.deleteIfOffset('a', a!.offset)).toBe(true);
    expect([b.size, b.taken, b.bytes, b.countOnDay(NOW), b.has('a')]).toEqual([1, 0, 2, 1, false]);
    // Its dispatch is over: restoring it now is a no-op.
    expect(b.restore(a!)).toBe(false);
    expect(keys(b.toArray())).toEqual(['b']);
  });

  it('restore() puts a taken entry back in its place in the order (its dispatch failed)', () => {
    const b = new DailyBuffer<string>();
    for (let i = 0; i < 5; i++) b.add(entry(`k${i}`, NOW + i, i));
    const taken = b.take(NOW + 1, 2);
    expect(b.restore(taken[1]!)).toBe(true);
    expect(b.restore(taken[1]!)).toBe(false); // not taken any more
    expect(keys(b.due(NOW + 10))).toEqual(['k1', 'k2', 'k3', 'k4']);
    expect(b.restore(taken[0]!)).toBe(true);
    expect(keys(b.due(NOW + 10))).toEqual(['k0', 'k1', 'k2', 'k3', 'k4']);
    expect(b.taken).toBe(0);
  });

  it('an update that arrives while the old version is taken replaces it, and the old one is never restored', () => {
    const b = sized();
    b.add(entry('a', NOW, 1, 'old'));
    const [old] = b.take(NOW, 1);
    b.add(entry('a', NOW + 5, 9, 'newer'));
    expect([b.size, b.taken, b.bytes]).toEqual([1, 0, 5]);
    expect(b.get('a')?.offset).toBe(9);
    expect(b.restore(old!)).toBe(false);
    // Landing of the old version leaves the update alone.
    expect(b.deleteIfOffset('a', 1)).toBe(false);
    expect(keys(b.due(NOW + 5))).toEqual(['a']);
    // A taken entry deleted by key (a cancel, or its tombstone read back) is gone for good.
    const [updated] = b.take(NOW + 5, 1);
    expect(b.delete('a')).toBe(true);
    expect(b.restore(updated!)).toBe(false);
    expect([b.size, b.taken, b.bytes]).toEqual([0, 0, 0]);
  });

  it('takeEntry() takes one listed entry, only while it is the buffered, untaken version', () => {
    const b = new DailyBuffer<string>();
    for (let i = 0; i < 4; i++) b.add(entry(`k${i}`, NOW + i, i));
    const listed = b.due(NOW + 3);
    expect(b.takeEntry(listed[2]!)).toBe(true);
    expect(b.takeEntry(listed[2]!)).toBe(false);
    expect(keys(b.due(NOW + 3))).toEqual(['k0', 'k1', 'k3']);
    b.add(entry('k0', NOW, 7)); // replaced: the listed copy is stale
    expect(b.takeEntry(listed[0]!)).toBe(false);
    expect(b.takeEntry(entry('nope', NOW, 0))).toBe(false);
  });

  it('evictLatest never removes a taken entry', () => {
    const b = sized();
    for (let i = 0; i < 4; i++) b.add(entry(`k${i}`, NOW + i, i, 'xxxxxxxxxx'));
    const taken = b.take(NOW + 3, 4);
    expect(taken).toHaveLength(4);
    expect(b.evictLatest(0, 0)).toBeUndefined();
    expect(b.size).toBe(4);
    b.restore(taken[3]!);
    expect(b.evictLatest(0, 0)?.entries.map((e) => e.key)).toEqual(['k3']);
    expect([b.size, b.bytes]).toEqual([3, 30]);
  });

  it('agrees with a model under any mix of add, delete, take, restore and dispatch', { timeout: 30_000 }, () => {
    type TakeOp =
      | { readonly op: 'add'; readonly key: string; readonly dueMs: number }
      | { readonly op: 'delete'; readonly key: string }
      | { readonly op: 'take'; readonly nowMs: number; readonly limit: number }
      | { readonly op: 'restore' | 'land'; readonly pick: number };
    const takeOpArb: fc.Arbitrary<TakeOp> = fc.oneof(
      { weight: 4, arbitrary: fc.record({ op: fc.constant('add' as const), key: keyArb, dueMs: dueArb }) },
      { weight: 1, arbitrary: fc.record({ op: fc.constant('delete' as const), key: keyArb }) },
      {
        weight: 2,
        arbitrary: fc.record({
          op: fc.constant('take' as const),
          nowMs: fc.integer({ min: -5, max: 45 }),
          limit: fc.integer({ min: 0, max: 6 }),
        }),
      },
      { weight: 1, arbitrary: fc.record({ op: fc.constantFrom('restore' as const, 'land' as const), pick: fc.nat() }) },
    );
    fc.assert(
      fc.property(fc.array(takeOpArb, { maxLength: 200, size: 'max' }), (ops) => {
        const buffer = new DailyBuffer<string>();
        const model = new Map<string, BufferEntry<string>>();
        /** Entries handed out by take() and not yet restored or landed (some may be stale). */
        let out: BufferEntry<string>[] = [];
        const takenKeys = new Set<string>();
        let offset = 0;
        for (const op of ops) {
          switch (op.op) {
            case 'add': {
              const e = entry(op.key, op.dueMs, offset++);
              buffer.add(e);
              model.set(op.key, e);
              takenKeys.delete(op.key);
              break;
            }
            case 'delete':
              expect(buffer.delete(op.key)).toBe(model.delete(op.key));
              takenKeys.delete(op.key);
              break;
            case 'take': {
              const open = new Map([...model].filter(([k]) => !takenKeys.has(k)));
              const want = modelDue(open, op.nowMs, op.limit);
              const got = buffer.take(op.nowMs, op.limit);
              expect(got).toEqual(want);
              for (const e of got) takenKeys.add(e.key);
              out.push(...got);
              break;
            }
            case 'restore':
            case 'land': {
              if (out.length === 0) break;
              const e = out[op.pick % out.length]!;
              out = out.filter((x) => x !== e);
              // Still the buffered version (offsets are unique here), and still taken.
              const current = model.get(e.key)?.offset === e.offset && takenKeys.has(e.key);
              if (op.op === 'restore') expect(buffer.restore(e)).toBe(current);
              else {
                expect(buffer.deleteIfOffset(e.key, e.offset)).toBe(model.get(e.key)?.offset === e.offset);
                if (model.get(e.key)?.offset === e.offset) model.delete(e.key);
              }
              if (current) takenKeys.delete(e.key);
              break;
            }
          }
          const open = new Map([...model].filter(([k]) => !takenKeys.has(k)));
          expect([buffer.size, buffer.taken]).toEqual([model.size, takenKeys.size]);
          expect(buffer.due(Number.POSITIVE_INFINITY)).toEqual(modelDue(open, Number.POSITIVE_INFINITY, undefined));
          expect(buffer.toArray()).toEqual(modelDue(model, Number.POSITIVE_INFINITY, undefined));
        }
      }),
      { numRuns: 300 },
    );
  });
});
