/**
 * Transactions fenced by the consumer group (`fencedByGroup`, KIP-447) on the real broker, with a
 * raw node-rdkafka group member as the previous owner: it stops polling, so it leaves the group
 * once `max.poll.interval.ms` has passed without knowing its partition moved (a zombie).
 *
 * - its transactions fail once the group has a newer generation, and nothing of them is visible;
 * - the new owner's `init()` waits for an earlier owner's transaction whose offset commit is
 *   pending, and resolves once it committed.
 */
import { describe, expect, it } from 'vitest';
import { noopLogger } from '@ksched/core';
import type { TopicPartition, Transport } from '@ksched/core';
import { kafkaBrokers, RecordingListener, sleep, text, waitUntil } from '@ksched/testkit';
import type { KafkaConsumer, LibrdKafkaError, Producer } from 'node-rdkafka';
import { MemberTransactions } from '../src/internal/member-transactions.js';
import { rdkafka } from '../src/internal/native.js';
import { PartitionCounts, prepareRecords } from '../src/internal/producer.js';
import { parseRdKafkaTransportOptions } from '../src/options.js';
import { harness } from './helpers.js';

const r = harness.useResources();
const POLL_INTERVAL_MS = 6000;

const done = (resolve: () => void, reject: (e: unknown) => void) => (error: LibrdKafkaError | null | undefined) =>
  error ? reject(error) : resolve();

/** A raw group member of `groupId` on `topic`, polled until it holds a partition; then it is left alone. */
async function rawMember(groupId: string, topic: string): Promise<KafkaConsumer> {
  const consumer = new rdkafka.KafkaConsumer(
    {
      'bootstrap.servers': kafkaBrokers().join(','),
      'group.id': groupId,
      'session.timeout.ms': POLL_INTERVAL_MS,
      'max.poll.interval.ms': POLL_INTERVAL_MS,
      'enable.auto.commit': false,
      'isolation.level': 'read_committed',
      // Takes its first assignment, and never gives it up by itself: like a stalled process, it
      // does not rejoin after it was dropped from the group, and still believes it owns the partition.
      rebalance_cb: (error: LibrdKafkaError, assignment: TopicPartition[]) => {
        if (error.code === rdkafka.CODES.ERRORS.ERR__ASSIGN_PARTITIONS) consumer.assign(assignment);
      },
    } as never,
    { 'auto.offset.reset': 'earliest' },
  );
  await new Promise<void>((resolve, reject) => consumer.connect({}, (error) => (error ? reject(error) : resolve())));
  r.afterFile(() => new Promise<void>((resolve) => consumer.disconnect(() => resolve())));
  consumer.subscribe([topic]);
  await waitUntil(
    async () => {
      await new Promise<void>((resolve) => consumer.consume(10, () => resolve()));
      return consumer.assignments().length > 0;
    },
    'the raw member holding the partition',
    30_000,
  );
  return consumer;
}

/** The member's shared transactional producer over a raw consumer that believes it holds every partition. */
function zombieTransactions(consumer: KafkaConsumer): MemberTransactions {
  const options = parseRdKafkaTransportOptions({ brokers: kafkaBrokers() });
  const tx = new MemberTransactions({
    transactionalId: harness.unique('member'),
    options,
    logger: noopLogger,
    member: () => ({ consumer, holds: () => true }),
    highWatermark: () => Promise.reject(new Error('not used')),
    stableOffset: () => Promise.reject(new Error('not used')),
  });
  r.afterFile(() => tx.close());
  return tx;
}

const counts = new PartitionCounts(async () => 1, 30_000);
const records = (topic: string, ...keys: string[]) =>
  prepareRecords(
    keys.map((key) => ({ topic, partition: 0, key, value: key })),
    counts,
  );

/** Joins `groupId` through a new transport and resolves once it holds `tp`. */
async function newOwner(groupId: string, tp: TopicPartition): Promise<Transport> {
  const transport = await r.transport();
  const listener = new RecordingListener();
  await transport.subscribe({ groupId, topics: [tp.topic], listener });
  await waitUntil(() => listener.owned.size > 0, 'the new owner holding the partition', 60_000);
  return transport;
}

/** The keys a read-committed member of a new group reads from `topic` (one partition), once there are `expected`. */
async function committedKeys(topic: string, expected: number): Promise<string[]> {
  const { recorder } = await r.consume([topic]);
  await waitUntil(
    () => recorder.batches.flatMap((b) => b.records).length >= expected,
    `${expected} committed record(s) in ${topic}`,
    30_000,
  );
  await sleep(1000);
  return recorder.batches.flatMap((b) => b.records.map((rec) => text(rec.key)!));
}

describe('rdkafka transport: transactions fenced by the group (KIP-447)', () => {
  it('a member that lost its partition cannot commit a transaction for it; the new owner can', async () => {
    const schedules = await r.topic('gf-schedules', 1);
    const target = await r.topic('gf-target', 1);
    const groupId = harness.unique('group');
    const tp = { topic: schedules, partition: 0 };
    const zombie = await rawMember(groupId, schedules);
    const zombieTx = zombieTransactions(zombie);
    // While it is the owner, its transaction commits the position with its group metadata.
    await zombieTx.send(tp, 0, await records(target, 'zombie-before'));

    // It stops polling: after max.poll.interval.ms it leaves, and the new owner gets the partition.
    const owner = await newOwner(groupId, tp);
    await expect(zombieTx.send(tp, 1, await records(target, 'zombie-after'))).rejects.toThrow(/generation|member/i);

    const producer = r.producer(await owner.createTransactionalProducer(harness.unique('owner'), { fencedByGroup: tp }));
    await producer.init();
    await producer.sendInTransaction([{ topic: target, partition: 0, key: 'owner', value: 'owner' }], { position: 2 });
    expect((await committedKeys(target, 2)).sort()).toEqual(['owner', 'zombie-before']);
  }, 120_000);

  it('a member still in the group refuses a transaction for a partition it gave up (the broker checks only member and generation)', async () => {
    const schedules = await r.topic('gf-moved', 2);
    const target = await r.topic('gf-moved-target', 1);
    const groupId = harness.unique('group');
    const a = await r.transport();
    const aListener = new RecordingListener();
    await a.subscribe({ groupId, topics: [schedules], listener: aListener });
    await waitUntil(() => aListener.owned.size === 2, 'A holding both partitions', 60_000);
    // Both producers share one member id, as the scheduler's do.
    const shared = harness.unique('a-member');
    const [p0, p1] = await Promise.all(
      [0, 1].map(async (partition) =>
        r.producer(await a.createTransactionalProducer(shared, { fencedByGroup: { topic: schedules, partition } })),
      ),
    );
    await p0!.init();
    await p1!.init();

    const b = await r.transport();
    const bListener = new RecordingListener();
    await b.subscribe({ groupId, topics: [schedules], listener: bListener });
    await waitUntil(() => bListener.owned.size === 1 && aListener.owned.size === 1, 'one partition each', 60_000);
    const moved = Number([...bListener.owned][0]!.split('/').at(-1));
    const [gone, kept] = moved === 0 ? [p0!, p1!] : [p1!, p0!];
    // A rejoined: its generation is current, so only its own check stops the transaction.
    await expect(gone.sendInTransaction([{ topic: target, partition: 0, key: 'gone', value: 'gone' }], { position: 1 })).rejects.toThrow(
      /no longer assigned to this member/,
    );
    await kept.sendInTransaction([{ topic: target, partition: 0, key: 'kept', value: 'kept' }], { position: 1 });
    expect(await committedKeys(target, 1)).toEqual(['kept']);
  }, 120_000);

  it("a new owner's init() waits until an earlier owner's transaction with a pending offset commit has ended", async () => {
    const schedules = await r.topic('gf-pending', 1);
    const target = await r.topic('gf-pending-target', 1);
    const groupId = harness.unique('group');
    const tp = { topic: schedules, partition: 0 };
    const previous = await rawMember(groupId, schedules);
    const raw: Producer = new rdkafka.Producer({
      'bootstrap.servers': kafkaBrokers().join(','),
      'transactional.id': harness.unique('previous'),
      dr_cb: true,
    } as never);
    await new Promise<void>((resolve, reject) => raw.connect({}, (error) => (error ? reject(error) : resolve())));
    raw.setPollInterval(10);
    r.afterFile(() => new Promise<void>((resolve) => raw.disconnect(() => resolve())));
    await new Promise<void>((resolve, reject) => raw.initTransactions(20_000, done(resolve, reject)));
    await new Promise<void>((resolve, reject) => raw.beginTransaction(done(resolve, reject)));
    raw.produce(target, 0, Buffer.from('previous'), 'previous');
    // Accepted while it still is the owner: the commit of offset 5 is pending until the transaction ends.
    await new Promise<void>((resolve, reject) =>
      raw.sendOffsetsToTransaction([{ ...tp, offset: 5 }], previous, 10_000, done(resolve, reject)),
    );

    const owner = await newOwner(groupId, tp);
    const producer = r.producer(await owner.createTransactionalProducer(harness.unique('owner'), { fencedByGroup: tp }));
    let initialised = false;
    const init = producer.init().then(() => {
      initialised = true;
    });
    await sleep(3000);
    expect(initialised, 'init() resolved while the earlier transaction was open').toBe(false);

    await new Promise<void>((resolve, reject) => raw.commitTransaction(10_000, done(resolve, reject)));
    await init;
    // What it loads now is final: the earlier owner's record is committed.
    expect(await committedKeys(target, 1)).toEqual(['previous']);
  }, 120_000);
});
