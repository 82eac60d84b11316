import { DAY_MS } from './day.js';

/**
 * One pending schedule in a {@link DailyBuffer}.
 *
 * @typeParam T - what the engine keeps with the schedule (its record packed with its decoded routing).
 */
export interface BufferEntry<T> {
  /** The schedule's key (unique within its partition). */
  readonly key: string;
  /** Due time, Unix epoch milliseconds. */
  readonly dueMs: number;
  /** Offset of the schedule record: breaks ties between equal due times. */
  readonly offset: number;
  readonly value: T;
}

/**
 * A heap cell. The entry is a frozen copy, handed out as is: callers never see `index`, which is
 * -1 while the entry is taken out of the order (see {@link DailyBuffer.take}).
 */
interface Slot<T> {
  readonly entry: BufferEntry<T>;
  index: number;
}

const TAKEN = -1;

function before<T>(a: Slot<T>, b: Slot<T>): boolean {
  const x = a.entry;
  const y = b.entry;
  return x.dueMs < y.dueMs || (x.dueMs === y.dueMs && x.offset < y.offset);
}

/**
 * The schedules of one partition due before its window's end (overdue ones included), keyed by
 * schedule key and ordered by (due time, offset). The name is the reference's, whose buffer held
 * one day.
 *
 * A hash map from key to entry plus an indexed binary min-heap: `add` (insert or update by key)
 * and `delete` cost O(log n), `size` and `peek` O(1), and listing the k earliest due entries
 * costs O(k log k) without touching the rest, so a tick never scans the buffer (the reference
 * scans all n entries and sorts on every tick).
 *
 * An entry being dispatched can be taken out of the order ({@link DailyBuffer.take},
 * {@link DailyBuffer.takeEntry}) without leaving the buffer: it is still found by key, counted in
 * `size`, `bytes` and `countOnDay`, replaced by `add` and removed by `delete`, but `due`, `peek`
 * and `evictLatest` no longer see it, so that listing the next batch never walks past the
 * batches in flight. {@link DailyBuffer.restore} puts it back (its dispatch failed); removing it
 * once dispatched costs O(1).
 *
 * @example
 * ```ts
 * const buffer = new DailyBuffer<ConsumedRecord>();
 * buffer.add({ key: 'k', dueMs: 1_000, offset: 7, value: record });
 * for (const entry of buffer.due(clock.now(), 500)) dispatch(entry);
 * ```
 */
export class DailyBuffer<T> {
  readonly #byKey = new Map<string, Slot<T>>();
  readonly #heap: Slot<T>[] = [];
  readonly #sizeOf: ((entry: BufferEntry<T>) => number) | undefined;
  #bytes = 0;
  /** Entries per UTC day (`floor(dueMs / DAY_MS)`). */
  readonly #perDay = new Map<number, number>();

  /**
   * @param options.sizeOf - estimated bytes of one entry; {@link DailyBuffer.bytes} sums it over
   *   the buffered entries (0 without it).
   */
  constructor(options: { readonly sizeOf?: (entry: BufferEntry<T>) => number } = {}) {
    this.#sizeOf = options.sizeOf;
  }

  /** Number of buffered schedules, taken ones included. O(1). */
  get size(): number {
    return this.#byKey.size;
  }

  /** Number of buffered schedules taken out of the order (see {@link DailyBuffer.take}). O(1). */
  get taken(): number {
    return this.#byKey.size - this.#heap.length;
  }

  /** Estimated bytes of the buffered entries (see the constructor's `sizeOf`). O(1). */
  get bytes(): number {
    return this.#bytes;
  }

  /** Number of buffered schedules due on the UTC day containing `ms`. O(1). */
  countOnDay(ms: number): number {
    return this.#perDay.get(Math.floor(ms / DAY_MS)) ?? 0;
  }

  /** Inserts a schedule, or replaces the one buffered under the same key. O(log n). */
  add(entry: BufferEntry<T>): void {
    const existing = this.#byKey.get(entry.key);
    if (existing) this.#removeSlot(existing);
    const copy: BufferEntry<T> = Object.freeze({ key: entry.key, dueMs: entry.dueMs, offset: entry.offset, value: entry.value });
    const slot: Slot<T> = { entry: copy, index: this.#heap.length };
    this.#heap.push(slot);
    this.#byKey.set(copy.key, slot);
    this.#counted(copy, 1);
    this.#up(slot.index);
  }

  /** The entry buffered under `key`, if any. O(1). */
  get(key: string): BufferEntry<T> | undefined {
    return this.#byKey.get(key)?.entry;
  }

  has(key: string): boolean {
    return this.#byKey.has(key);
  }

  /** Removes the entry under `key`; a missing key is a no-op. Returns whether one was removed. O(log n). */
  delete(key: string): boolean {
    const slot = this.#byKey.get(key);
    if (!slot) return false;
    this.#removeSlot(slot);
    return true;
  }

  /**
   * Removes the entry under `key` only if it is still the record at `offset`, so an update that
   * arrived while the old version was being dispatched survives. O(log n).
   */
  deleteIfOffset(key: string, offset: number): boolean {
    const slot = this.#byKey.get(key);
    if (!slot || slot.entry.offset !== offset) return false;
    this.#removeSlot(slot);
    return true;
  }

  /**
   * Takes up to `limit` entries due at or before `nowMs` out of the order, earliest first (due
   * time, then offset), and returns them. They stay buffered (see the class comment) until they
   * are deleted or {@link DailyBuffer.restore restored}. O(k log n) for k taken entries.
   */
  take(nowMs: number, limit: number): BufferEntry<T>[] {
    const out: BufferEntry<T>[] = [];
    const heap = this.#heap;
    while (out.length < limit && heap.length > 0) {
      const top = heap[0]!;
      if (top.entry.dueMs > nowMs) break;
      this.#unlink(top);
      out.push(top.entry);
    }
    return out;
  }

  /**
   * Takes one entry returned by {@link DailyBuffer.due} out of the order, like
   * {@link DailyBuffer.take}. False when it is no longer the entry buffered under its key, or is
   * taken already. O(log n).
   */
  takeEntry(entry: BufferEntry<T>): boolean {
    const slot = this.#byKey.get(entry.key);
    if (slot === undefined || slot.entry !== entry || slot.index === TAKEN) return false;
    this.#unlink(slot);
    return true;
  }

  /**
   * Puts a taken entry back in the order (its dispatch failed). A no-op, returning false, when it
   * was deleted or replaced meanwhile, or was not taken. O(log n).
   */
  restore(entry: BufferEntry<T>): boolean {
    const slot = this.#byKey.get(entry.key);
    if (slot === undefined || slot.entry !== entry || slot.index !== TAKEN) return false;
    slot.index = this.#heap.length;
    this.#heap.push(slot);
    this.#up(slot.index);
    return true;
  }

  /** The earliest entry (smallest due time, then offset) not taken, if any. O(1). */
  peek(): BufferEntry<T> | undefined {
    return this.#heap[0]?.entry;
  }

  /**
   * Up to `limit` entries due at or before `nowMs`, earliest first (due time, then offset),
   * without removing them; taken entries are not listed. O(k log k) for k returned entries.
   */
  due(nowMs: number, limit = Number.POSITIVE_INFINITY): BufferEntry<T>[] {
    const out: BufferEntry<T>[] = [];
    const heap = this.#heap;
    if (heap.length === 0 || limit <= 0) return out;
    // Walk the heap in order with a small frontier heap of candidate slots. Only due children
    // enter the frontier: a child that is not due heads a subtree that is not due either.
    const frontier: Slot<T>[] = [];
    if (heap[0]!.entry.dueMs <= nowMs) frontier.push(heap[0]!);
    while (frontier.length > 0 && out.length < limit) {
      const top = frontier[0]!;
      out.push(top.entry);
      const last = frontier.pop()!;
      if (frontier.length > 0) siftDown(frontier, last);
      const left = 2 * top.index + 1;
      if (left < heap.length && heap[left]!.entry.dueMs <= nowMs) siftUp(frontier, heap[left]!);
      if (left + 1 < heap.length && heap[left + 1]!.entry.dueMs <= nowMs) siftUp(frontier, heap[left + 1]!);
    }
    return out;
  }

  /** All entries in due order, taken ones included. O(n log n): for tests and diagnostics, not for the hot path. */
  toArray(): BufferEntry<T>[] {
    return [...this.#byKey.values()].sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0)).map((slot) => slot.entry);
  }

  /** Removes everything. */
  clear(): void {
    this.#byKey.clear();
    this.#heap.length = 0;
    this.#perDay.clear();
    this.#bytes = 0;
  }

  /**
   * Removes the latest-due entries (due time, then offset, from the end) until at most
   * `targetBytes` remain, never one due before `floorMs`, and always every entry of a due time it
   * reaches, so that afterwards the buffer holds *every* entry it held that is due before the
   * returned bound. Returns that bound (the earliest removed due time), or `undefined` when nothing
   * was removed. Taken entries are never removed. O(n log n): for the rare times a memory ceiling
   * is reached.
   */
  evictLatest(
    targetBytes: number,
    floorMs: number,
  ): { readonly fromMs: number; readonly removed: number; readonly entries: readonly BufferEntry<T>[] } | undefined {
    if (this.#bytes <= targetBytes) return undefined;
    const latest = this.#heap.filter((slot) => slot.entry.dueMs >= floorMs).sort((a, b) => (before(a, b) ? 1 : before(b, a) ? -1 : 0));
    const entries: BufferEntry<T>[] = [];
    let fromMs: number | undefined;
    for (const slot of latest) {
      if (this.#bytes <= targetBytes && slot.entry.dueMs !== fromMs) break;
      fromMs = slot.entry.dueMs;
      this.#removeSlot(slot);
      entries.push(slot.entry);
    }
    return fromMs === undefined ? undefined : { fromMs, removed: entries.length, entries };
  }

  #counted(entry: BufferEntry<T>, sign: 1 | -1): void {
    if (this.#sizeOf) this.#bytes += sign * this.#sizeOf(entry);
    const day = Math.floor(entry.dueMs / DAY_MS);
    const n = (this.#perDay.get(day) ?? 0) + sign;
    if (n === 0) this.#perDay.delete(day);
    else this.#perDay.set(day, n);
  }

  #removeSlot(slot: Slot<T>): void {
    this.#byKey.delete(slot.entry.key);
    this.#counted(slot.entry, -1);
    if (slot.index !== TAKEN) this.#unlink(slot);
  }

  /** Takes a slot out of the heap (it stays under its key). */
  #unlink(slot: Slot<T>): void {
    const heap = this.#heap;
    const i = slot.index;
    const last = heap.pop()!;
    slot.index = TAKEN;
    if (last !== slot) {
      heap[i] = last;
      last.index = i;
      this.#down(i);
      this.#up(last.index);
    }
  }

  #up(i: number): void {
    const heap = this.#heap;
    const slot = heap[i]!;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent]!;
      if (!before(slot, p)) break;
      heap[i] = p;
      p.index = i;
      i = parent;
    }
    heap[i] = slot;
    slot.index = i;
  }

  #down(i: number): void {
    const heap = this.#heap;
    const n = heap.length;
    const slot = heap[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && before(heap[r]!, heap[l]!) ? r : l;
      const child = heap[c]!;
      if (!before(child, slot)) break;
      heap[i] = child;
      child.index = i;
      i = c;
    }
    heap[i] = slot;
    slot.index = i;
  }
}

/** Appends `slot` to the frontier heap `a` (ordered like the buffer). */
function siftUp<T>(a: Slot<T>[], slot: Slot<T>): void {
  let i = a.length;
  a.push(slot);
  while (i > 0) {
    const p = (i - 1) >> 1;
    const parent = a[p]!;
    if (!before(slot, parent)) break;
    a[i] = parent;
    i = p;
  }
  a[i] = slot;
}

/** Puts `slot` at the root of the frontier heap `a` (replacing it) and restores the order. */
function siftDown<T>(a: Slot<T>[], slot: Slot<T>): void {
  const n = a.length;
  let i = 0;
  for (;;) {
    const l = 2 * i + 1;
    if (l >= n) break;
    const r = l + 1;
    const c = r < n && before(a[r]!, a[l]!) ? r : l;
    const child = a[c]!;
    if (!before(child, slot)) break;
    a[i] = child;
    i = c;
  }
  a[i] = slot;
}
