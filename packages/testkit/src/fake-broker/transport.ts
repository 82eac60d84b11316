/**
 * The FakeBroker's members: {@link FakeTransport} is the kit's Transport shell over a driver that
 * reads and writes the in-memory cluster (operations before `connect()` are refused, not
 * connected on first use).
 *
 * @module
 */
import { noopLogger, TransportError } from '@ksched/core';
import type { ProduceRecord, RecordMetadata, TopicPartition, TransactionalProducer, Watermarks } from '@ksched/core';
import { TransportShell } from '@ksched/core/adapter';
import type { GroupMemberHandle, MemberContext, ReaderContext, TransactionalContext, TransportDriver } from '@ksched/core/adapter';
import { tpKey } from '../internal/partition-log.js';
import { clusterOf } from './delivery.js';
import type { Cluster } from './delivery.js';
import { sortedTps } from './model.js';
import type { Client, Membership } from './model.js';
import type { FakePartitionReader } from './reader.js';
import { FakeTransactionalProducer } from './transactions.js';
import type { FakeTransportOptions } from './types.js';

/** The driver of a FakeTransport: one client of the cluster. */
class FakeDriver implements TransportDriver<FakePartitionReader> {
  readonly logger = noopLogger;
  readonly #cluster: Cluster;
  readonly #client: Client;

  constructor(cluster: Cluster, client: Client) {
    this.#cluster = cluster;
    this.#client = client;
  }

  async connect(): Promise<void> {
    this.#client.status = 'connected';
  }

  async disconnect(): Promise<void> {
    this.#client.status = 'closed';
  }

  join(context: MemberContext): Promise<GroupMemberHandle> {
    return this.#cluster.subscribe(this.#client, context, context.members);
  }

  async openReader(context: ReaderContext<FakePartitionReader>): Promise<FakePartitionReader> {
    return this.#cluster.openReader(this.#client, context.tp, { fromOffset: context.fromOffset }, context.readers);
  }

  async fetchWatermarks(tp: TopicPartition): Promise<Watermarks> {
    const log = this.#cluster.log(tp);
    return { low: log.low, high: log.lastStable };
  }

  async offsetForTime(tp: TopicPartition, timestampMs: number): Promise<number> {
    const log = this.#cluster.log(tp);
    const high = log.lastStable;
    const first = log.entries.find((e) => e.offset >= log.low && e.offset < high && e.control === null && e.timestamp >= timestampMs);
    return first?.offset ?? high;
  }

  async partitionCount(topic: string): Promise<number> {
    return this.#cluster.topic(topic).logs.length;
  }

  /** Appends the records in order; each is readable before the promise resolves. */
  async produce(records: readonly ProduceRecord[]): Promise<RecordMetadata[]> {
    this.#cluster.requireConnected(this.#client, 'produce');
    this.#cluster.checkRefusals(records);
    const out: RecordMetadata[] = [];
    for (const record of records) out.push(this.#cluster.append(this.#client, record, 'produce', null));
    return out;
  }

  /** Appends the records on the next microtask; failures go to `onError`. */
  produceNoWait(records: readonly ProduceRecord[], onError?: (error: unknown) => void): void {
    const report = (error: unknown): void => {
      try {
        onError?.(error);
      } catch {
        // produceNoWait never throws, not even through its callback.
      }
    };
    let list: ProduceRecord[];
    try {
      list = [...records];
    } catch (error) {
      queueMicrotask(() => report(error));
      return;
    }
    queueMicrotask(() => {
      try {
        this.#cluster.requireConnected(this.#client, 'produceNoWait');
        for (const record of list) this.#cluster.append(this.#client, record, 'produceNoWait', null);
      } catch (error) {
        report(error);
      }
    });
  }

  createTransactionalProducer(context: TransactionalContext): TransactionalProducer {
    return new FakeTransactionalProducer(this.#cluster, this.#client, context.transactionalId, context.onClosed);
  }
}

/**
 * One group member of a {@link FakeBroker}: a consumer and a producer implementing the core
 * `Transport` port (`specificationVersion: 'v1'`). Create it with `broker.createTransport()`.
 *
 * Gotchas: one subscription at a time; `seek`, `seekToBeginning` and `commitOffsets` need the
 * partition to be assigned to this member (`openReader` does not); every operation rejects with a `TransportError` before
 * `connect()` and after `close()`.
 */
export class FakeTransport extends TransportShell<FakePartitionReader> {
  /** This member's client id. */
  readonly clientId: string;
  readonly #client: Client;

  /** A member of `broker` (a {@link FakeBroker}); `broker.createTransport(options)` is the usual way. */
  constructor(broker: object, options: FakeTransportOptions = {}) {
    const cluster = clusterOf(broker);
    const client = cluster.newClient(options);
    super(new FakeDriver(cluster, client), {
      notConnected: (operation) => new TransportError(`${operation}: ${client.clientId} is not connected; call connect() first`),
      invalidArgument: (v) => new TransportError(`${v.field} ${v.message}`),
    });
    this.#client = client;
    this.clientId = client.clientId;
  }

  /** The current group member id, while subscribed. */
  get memberId(): string | undefined {
    return this.#client.membership?.memberId;
  }

  /** Partitions assigned to this member now, sorted (including ones whose `onAssigned` is still running). */
  assignment(): TopicPartition[] {
    return sortedTps(this.#client.membership?.assigned.values() ?? []);
  }

  /** This member's position (next offset to fetch) in an assigned partition. */
  position(tp: TopicPartition): number | undefined {
    return this.#client.membership?.assigned.get(tpKey(tp.topic, tp.partition))?.position;
  }

  /** @internal The group membership, for `faults.dropMember`. */
  membership(): Membership | null {
    return this.#client.membership;
  }
}
