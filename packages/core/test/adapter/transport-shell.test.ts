import { InvalidArgumentError, noopLogger, StateError, TransportError, UnsupportedError } from '@ksched/core';
import type { PartitionReader, ProduceRecord, TransactionalProducer } from '@ksched/core';
import { createTransport, serialQueue, TransportShell } from '@ksched/core/adapter';
import type { GroupMemberHandle, MemberContext, ReaderContext, TransactionalContext, Tracker, TransportDriver } from '@ksched/core/adapter';
import { describe, expect, it } from 'vitest';

const tp = { topic: 't', partition: 0 };
const wm = { low: 0, high: 5 };

/** A driver that records what the shell asks of it, in order. */
class RecordingDriver implements TransportDriver {
  readonly logger = noopLogger;
  readonly calls: string[] = [];
  connectFails = 0;
  members: Tracker<GroupMemberHandle> | undefined;
  groupFencedTransactions = false;
  /** The `fencedByGroup` of each transactional producer created. */
  readonly fencedByGroup: unknown[] = [];

  async connect(): Promise<void> {
    this.calls.push('connect');
    if (this.connectFails > 0) {
      this.connectFails--;
      throw new TransportError('connecting failed: broker down');
    }
  }

  async disconnect(): Promise<void> {
    this.calls.push('disconnect');
  }

  async join(context: MemberContext): Promise<GroupMemberHandle> {
    const members = context.members;
    this.members = members;
    const member: GroupMemberHandle = {
      seek: async (_tp, offset) => {
        this.calls.push(`seek ${offset}`);
        return wm;
      },
      seekToBeginning: async () => {
        this.calls.push('seekToBeginning');
        return wm;
      },
      commitOffsets: async () => {
        this.calls.push('commit');
      },
      close: async () => {
        this.calls.push('member.close');
        members.delete(member);
      },
    };
    members.add(member);
    this.calls.push(`join ${context.groupId}`);
    return member;
  }

  async openReader({ start, readers }: ReaderContext): Promise<PartitionReader> {
    this.calls.push(`openReader at ${start}`);
    const reader: PartitionReader = {
      ...tp,
      read: async () => ({ ...tp, records: [], position: start }),
      close: async () => {
        this.calls.push('reader.close');
        readers.delete(reader);
      },
    };
    readers.add(reader);
    return reader;
  }

  async fetchWatermarks(): Promise<typeof wm> {
    return wm;
  }

  async offsetForTime(): Promise<number> {
    return wm.low;
  }

  async partitionCount(topic: string): Promise<number | undefined> {
    return topic === 'missing' ? undefined : 3;
  }

  async produce(records: readonly ProduceRecord[]) {
    this.calls.push(`produce ${records.length}`);
    return records.map((r, i) => ({ topic: r.topic, partition: 0, offset: i }));
  }

  createTransactionalProducer({ transactionalId, onClosed, fencedByGroup }: TransactionalContext): TransactionalProducer {
    this.fencedByGroup.push(fencedByGroup);
    const producer: TransactionalProducer = {
      transactionalId,
      init: async () => {},
      sendInTransaction: async () => [],
      close: async () => {
        this.calls.push('producer.close');
        onClosed(producer);
      },
    };
    return producer;
  }
}

const listener = { onAssigned() {}, onRevoked() {}, onBatch() {} };

function setup(options: { notConnected?: (operation: string) => Error } = {}) {
  const driver = new RecordingDriver();
  const transport = createTransport(driver, options);
  return { driver, transport };
}

describe('TransportShell', () => {
  it('connects once on first use, and again after a failed connect', async () => {
    const { driver, transport } = setup();
    driver.connectFails = 1;
    await expect(transport.partitionCount('t')).rejects.toThrow(/connecting failed: broker down/);
    expect(await transport.partitionCount('t')).toBe(3);
    await transport.fetchWatermarks(tp);
    expect(driver.calls).toEqual(['connect', 'connect']);
    expect(transport.specificationVersion).toBe('v1');
  });

  it('with notConnected, refuses operations before connect() with the driver-given error', async () => {
    const { driver, transport } = setup({ notConnected: (op) => new TransportError(`${op}: call connect() first`) });
    await expect(transport.produce([{ topic: 't', key: 'k', value: 'v' }])).rejects.toThrow(/produce: call connect\(\) first/);
    await expect(transport.createTransactionalProducer('x')).rejects.toThrow(/createTransactionalProducer: call connect/);
    await transport.connect();
    expect(await transport.produce([{ topic: 't', key: 'k', value: 'v' }])).toHaveLength(1);
    expect(driver.calls).toEqual(['connect', 'produce 1']);
  });

  it('one subscription per transport, registered before the join; a member that leaves frees the slot', async () => {
    const { driver, transport } = setup();
    await expect(transport.subscribe({ groupId: 'g', topics: [], listener })).rejects.toThrow(/topics/);
    const sub = await transport.subscribe({ groupId: 'g', topics: ['t'], listener });
    await expect(transport.subscribe({ groupId: 'g', topics: ['t'], listener })).rejects.toSatisfy(StateError.isInstance);
    expect(await transport.seek(tp, 3)).toEqual(wm);
    await transport.commitOffsets([{ ...tp, offset: 1 }]);
    await sub.close();
    await expect(transport.seekToBeginning(tp)).rejects.toSatisfy(TransportError.isInstance);
    await expect(transport.commitOffsets([{ ...tp, offset: 1 }])).rejects.toThrow(/not a member/);
    await transport.subscribe({ groupId: 'g2', topics: ['t'], listener });
    expect(driver.calls).toEqual(['connect', 'join g', 'seek 3', 'commit', 'member.close', 'join g2']);
  });

  it("clamps a reader's fromOffset into the watermarks; says when a topic does not exist", async () => {
    const { driver, transport } = setup();
    await transport.openReader(tp, { fromOffset: 99 });
    await transport.openReader(tp, { fromOffset: -3 });
    await transport.openReader(tp, { fromOffset: 2 });
    expect(driver.calls.slice(1)).toEqual(['openReader at 5', 'openReader at 0', 'openReader at 2']);
    const error = await transport.partitionCount('missing').catch((e: unknown) => e);
    expect(TransportError.isInstance(error) && error.message).toBe('topic missing does not exist');
  });

  it('checks offsets and transactional ids, naming the field', async () => {
    const { transport } = setup();
    await transport.subscribe({ groupId: 'g', topics: ['t'], listener });
    const seekError = await transport.seek(tp, Number.NaN).catch((e: unknown) => e);
    expect(InvalidArgumentError.isInstance(seekError) && seekError.message).toMatch(/offset/);
    const readerError = await transport.openReader(tp, { fromOffset: 1.5 }).catch((e: unknown) => e);
    expect(InvalidArgumentError.isInstance(readerError) && readerError.message).toMatch(/fromOffset/);
    const txError = await transport.createTransactionalProducer('').catch((e: unknown) => e);
    expect(InvalidArgumentError.isInstance(txError) && txError.message).toMatch(/transactionalId/);
  });

  it('passes fencedByGroup to a driver that can fence by the group, checked; refuses it by name where the driver cannot', async () => {
    const { driver, transport } = setup();
    expect(transport.groupFencedTransactions).toBe(false);
    const refused = await transport.createTransactionalProducer('m', { fencedByGroup: tp }).catch((e: unknown) => e);
    expect(UnsupportedError.isInstance(refused) && refused.message).toMatch(/cannot fence transactions by the consumer group/);
    expect(driver.fencedByGroup).toEqual([]);
    driver.groupFencedTransactions = true;
    expect(transport.groupFencedTransactions).toBe(true);
    const bad = await transport.createTransactionalProducer('m', { fencedByGroup: { topic: 't', partition: -1 } }).catch((e: unknown) => e);
    expect(InvalidArgumentError.isInstance(bad) && bad.message).toMatch(/fencedByGroup\.partition/);
    await transport.createTransactionalProducer('m', { fencedByGroup: tp });
    await transport.createTransactionalProducer('p');
    expect(driver.fencedByGroup).toEqual([{ topic: tp.topic, partition: tp.partition }, undefined]);
  });

  it('closes the member, then readers, then transactional producers, then the clients; later calls are refused', async () => {
    const { driver, transport } = setup();
    await transport.subscribe({ groupId: 'g', topics: ['t'], listener });
    await transport.openReader(tp, { fromOffset: 0 });
    await transport.createTransactionalProducer('tx');
    await Promise.all([transport.close(), transport.close()]);
    expect(driver.calls.slice(2)).toEqual(['openReader at 0', 'member.close', 'reader.close', 'producer.close', 'disconnect']);
    await expect(transport.produce([{ topic: 't', key: 'k', value: 'v' }])).rejects.toSatisfy(StateError.isInstance);
    await expect(transport.connect()).rejects.toSatisfy(StateError.isInstance);
    await expect(transport.openReader(tp, { fromOffset: 0 })).rejects.toSatisfy(StateError.isInstance);
  });

  it('produceNoWait never throws and reports failures to onError', async () => {
    const { transport } = setup();
    await transport.close();
    const errors: unknown[] = [];
    expect(() => transport.produceNoWait([{ topic: 't', key: 'k', value: 'v' }], (e) => errors.push(e))).not.toThrow();
    await new Promise((resolve) => setImmediate(resolve));
    expect(errors).toHaveLength(1);
    expect(StateError.isInstance(errors[0])).toBe(true);
  });

  it('can be extended with adapter-specific API', () => {
    class Extended extends TransportShell {
      readonly extra = 'yes';
    }
    const t = new Extended(new RecordingDriver());
    expect(t.extra).toBe('yes');
    expect(t.specificationVersion).toBe('v1');
  });
});

describe('serialQueue', () => {
  it('runs tasks one after the other, past failures; idle settles after all of them', async () => {
    const q = serialQueue();
    const log: string[] = [];
    let release: () => void = () => {};
    const first = q.run(
      () =>
        new Promise<void>((resolve) => {
          log.push('first start');
          release = resolve;
        }),
    );
    const failing = q.run(async () => {
      log.push('second');
      throw new Error('boom');
    });
    const third = q.run(async () => {
      log.push('third');
      return 3;
    });
    await Promise.resolve();
    expect(log).toEqual(['first start']);
    release();
    await first;
    await expect(failing).rejects.toThrow('boom');
    expect(await third).toBe(3);
    await q.idle();
    expect(log).toEqual(['first start', 'second', 'third']);
  });
});
