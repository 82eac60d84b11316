import { FencedError, noopLogger, StateError, TransportError } from '@ksched/core';
import type {
  GroupListener,
  PartitionBatch,
  PartitionReader,
  ProduceRecord,
  RecordMetadata,
  TopicPartition,
  Watermarks,
} from '@ksched/core';
import {
  consumedHeaderValue,
  createErrorMapper,
  GroupMemberBase,
  PartitionReaderBase,
  plainBytes,
  sameHeaderValue,
  TransactionalProducerBase,
  withRepeatedHeaders,
} from '@ksched/core/adapter';
import type { GroupMemberHandle, HeldPartition, ReaderContext } from '@ksched/core/adapter';
import { describe, expect, it } from 'vitest';

const errors = createErrorMapper({
  describe: (e) => e.message,
  retriable: () => false,
  fenced: (e) => e instanceof Error && e.message === 'fenced',
});
const tp = { topic: 't', partition: 0 };
const wm: Watermarks = { low: 2, high: 9 };

/** A member over a scripted client: records what the kit asks of it. */
class ScriptedMember extends GroupMemberBase<HeldPartition> {
  readonly log: string[] = [];
  joinFails = false;

  protected async connectClient(): Promise<void> {
    this.log.push('connect');
    if (this.joinFails) throw new Error('coordinator unavailable');
  }
  protected async abandon(): Promise<void> {
    this.log.push('abandon');
  }
  protected seekClient(st: HeldPartition, offset: number): void {
    this.log.push(`seek ${st.partition} ${offset}`);
  }
  protected async commit(): Promise<void> {
    this.log.push('commit');
  }
  protected pause(states: readonly HeldPartition[]): void {
    this.log.push(`pause ${states.length}`);
  }
  protected activate(st: HeldPartition): void {
    this.log.push(`activate ${st.partition}`);
  }
  protected forget(st: HeldPartition): void {
    this.log.push(`forget ${st.partition}`);
  }
  protected async leave(): Promise<void> {
    this.log.push('leave');
  }
  /** The client assigned `tps`. */
  assigned(tps: readonly TopicPartition[]): void {
    this.assign(tps, (base) => base);
  }
  settled(): Promise<void> {
    return this.delivery.groupSettled();
  }
}

function member(listener: Partial<GroupListener> = {}) {
  const members = new Set<GroupMemberHandle>();
  const calls: string[] = [];
  const m = new ScriptedMember({
    groupId: 'g',
    topics: ['t'],
    listener: {
      onAssigned: (tps) => void calls.push(`onAssigned ${tps.length}`),
      onRevoked: (tps) => void calls.push(`onRevoked ${tps.length}`),
      onBatch: () => {},
      ...listener,
    },
    logger: noopLogger,
    members,
    watermarks: async () => wm,
    maxBatchRetries: 1,
    errors,
  });
  return { m, members, calls };
}

describe('GroupMemberBase', () => {
  it('registers before joining; a failed join releases the client, unregisters and maps the error', async () => {
    const ok = member();
    await ok.m.join();
    expect([...ok.members]).toEqual([ok.m]);
    const bad = member();
    bad.m.joinFails = true;
    const error = await bad.m.join().catch((e: unknown) => e);
    expect(TransportError.isInstance(error) && error.message).toBe('joining group g on t failed: coordinator unavailable');
    expect(bad.m.log).toEqual(['connect', 'abandon']);
    expect(bad.members.size).toBe(0);
  });

  it('pauses new partitions until onAssigned settled; seeks clamp into the watermarks of a held partition only', async () => {
    const { m, calls } = member();
    await m.join();
    await expect(m.seek(tp, 5)).rejects.toSatisfy(TransportError.isInstance);
    m.assigned([tp]);
    expect(m.log.slice(1)).toEqual(['pause 1']);
    await m.settled();
    expect(calls).toEqual(['onAssigned 1']);
    expect(await m.seek(tp, 100)).toEqual(wm);
    await m.seekToBeginning(tp);
    expect(m.log.slice(2)).toEqual(['activate 0', 'seek 0 9', 'seek 0 2']);
  });

  it('closes once: revokes (awaiting onRevoked), leaves, unregisters; commits are refused after', async () => {
    const { m, members, calls } = member();
    await m.join();
    m.assigned([tp]);
    await m.settled();
    await m.commitOffsets([]);
    await m.commitOffsets([{ ...tp, offset: 3 }]);
    await Promise.all([m.close(), m.close()]);
    expect(calls).toEqual(['onAssigned 1', 'onRevoked 1']);
    expect(m.log.slice(-3)).toEqual(['commit', 'forget 0', 'leave']);
    expect(members.size).toBe(0);
    await expect(m.commitOffsets([{ ...tp, offset: 4 }])).rejects.toSatisfy(StateError.isInstance);
  });
});

class ScriptedReader extends PartitionReaderBase {
  readonly log: string[] = [];
  openFails = false;
  #release: () => void = () => {};

  protected async connectClient(): Promise<void> {
    if (this.openFails) throw new Error('no leader');
  }
  protected readBatch(): Promise<PartitionBatch> {
    return new Promise((resolve) => {
      this.#release = () => resolve({ ...tp, records: [], position: this.start });
    });
  }
  protected interrupt(): void {
    this.log.push('interrupt');
    this.#release();
  }
  protected async release(): Promise<void> {
    this.log.push('release');
  }
}

function reader() {
  const readers = new Set<PartitionReader>();
  const context: ReaderContext<ScriptedReader> = { tp, fromOffset: 40, watermarks: wm, start: 9, logger: noopLogger, readers };
  return { r: new ScriptedReader(context, errors), readers };
}

describe('PartitionReaderBase', () => {
  it('registers while opening; a failed open closes the reader and maps the error', async () => {
    const { r, readers } = reader();
    r.openFails = true;
    const error = await r.open().catch((e: unknown) => e);
    expect(TransportError.isInstance(error) && error.message).toBe('opening a reader of t/0 at 9 failed: no leader');
    expect(r.log).toEqual(['interrupt', 'release']);
    expect(readers.size).toBe(0);
  });

  it('refuses overlapping reads and reads after close; closes once', async () => {
    const { r, readers } = reader();
    await r.open();
    expect(readers.size).toBe(1);
    const first = r.read();
    await expect(r.read()).rejects.toSatisfy(StateError.isInstance);
    await Promise.all([r.close(), r.close()]);
    expect((await first).position).toBe(9);
    await expect(r.read()).rejects.toThrow('the reader of t/0 is closed');
    expect(r.log).toEqual(['interrupt', 'release']);
    expect(readers.size).toBe(0);
  });
});

class FailingProducer extends TransactionalProducerBase {
  cause: Error = new Error('fenced');
  protected async register(): Promise<void> {
    throw this.cause;
  }
  protected async transact(_records: readonly ProduceRecord[]): Promise<RecordMetadata[]> {
    return [];
  }
  protected async release(): Promise<void> {}
}

describe('TransactionalProducerBase.fail', () => {
  it("maps fencing by the adapter's rules to a FencedError for good, anything else to a TransportError naming the id", async () => {
    const options = { transactionalId: 'tx', logger: noopLogger, onClosed: () => {}, requestTimeoutMs: 10, errors };
    const fenced = new FailingProducer(options);
    const error = await fenced.init().catch((e: unknown) => e);
    expect(FencedError.isInstance(error) && error.message).toBe(
      'transactional producer tx was fenced by a newer producer with the same id (initialising)',
    );
    await expect(fenced.sendInTransaction([])).rejects.toSatisfy(FencedError.isInstance);
    const other = new FailingProducer(options);
    other.cause = new Error('coordinator unavailable');
    const plain = await other.init().catch((e: unknown) => e);
    expect(TransportError.isInstance(plain) && plain.message).toBe('initialising (transactional id tx) failed: coordinator unavailable');
  });
});

describe('record helpers', () => {
  it('plain bytes over the same memory; header values: text, bytes, or empty for none', () => {
    const backing = new Uint8Array([1, 2, 3, 4]);
    const view = plainBytes(backing.subarray(1, 3));
    expect([...view]).toEqual([2, 3]);
    expect(view.buffer).toBe(backing.buffer);
    expect(consumedHeaderValue('a')).toBe('a');
    expect(consumedHeaderValue(null)).toEqual(new Uint8Array(0));
    expect(consumedHeaderValue(undefined)).toEqual(new Uint8Array(0));
    expect([...(consumedHeaderValue(backing) as Uint8Array)]).toEqual([1, 2, 3, 4]);
  });

  it('repeated header values: the same bytes (text as UTF-8, none as empty) or not; repeatedHeaders only when set', () => {
    const bytes = (...b: number[]) => new Uint8Array(b);
    expect(sameHeaderValue('é', bytes(0xc3, 0xa9))).toBe(true);
    expect(sameHeaderValue(Buffer.from('ab'), bytes(0x61, 0x62))).toBe(true);
    expect(sameHeaderValue(null, bytes())).toBe(true);
    expect(sameHeaderValue(undefined, '')).toBe(true);
    expect(sameHeaderValue('schedule', 'cancel')).toBe(false);
    expect(sameHeaderValue(bytes(1, 2), bytes(1, 3))).toBe(false);
    expect(sameHeaderValue(bytes(1), bytes(1, 0))).toBe(false);
    expect(sameHeaderValue(null, 'x')).toBe(false);
    const record = { topic: 't', partition: 0, offset: 0, key: null, value: null, headers: {}, timestamp: 0 };
    expect(withRepeatedHeaders(record, undefined)).toBe(record);
    expect(withRepeatedHeaders(record, ['a'])).toEqual({ ...record, repeatedHeaders: ['a'] });
  });
});
