/**
 * Partition choice and produce-result mapping shared by the plain and the transactional producer.
 *
 * The adapter gives kafkajs its own partitioner. kafkajs calls it with each message object we
 * pass and with the topic's current partition metadata (which kafkajs caches and refreshes when a
 * topic is unknown), so the partitioner can (1) hash `partitionKey` rather than `key`, with
 * core's Java-compatible `partitionForKey`, and (2) remember which partition each message got,
 * which is how `produce()` reports every record's partition and offset in input order.
 *
 * @module
 */
import { partitionForKey, TransportError } from '@ksched/core';
import type { ProduceRecord, RecordMetadata } from '@ksched/core';
import type { ICustomPartitioner, Message, PartitionerArgs, RecordMetadata as KafkaRecordMetadata, TopicMessages } from 'kafkajs';
import { toKafkaMessage } from '../map-record.js';

/** A record whose partition key, not its key, decides its partition (registered by `prepare`). */
interface Choice {
  readonly partitionKey: string;
}

/** One produced record: its topic and the kafkajs message built for it. */
export interface PreparedRecord {
  readonly topic: string;
  readonly message: Message;
}

/** The kafkajs `sendBatch` argument for some records, plus the records in input order. */
export interface PreparedBatch {
  readonly topicMessages: TopicMessages[];
  readonly records: readonly PreparedRecord[];
}

function toPositive(x: number): number {
  return x & 0x7fffffff;
}

function hasPartition(metadata: PartitionerArgs['partitionMetadata'], partition: number): boolean {
  for (const p of metadata) if (p.partitionId === partition) return true;
  return false;
}

/**
 * A kafkajs partitioner that honours ksched's partition rules (explicit partition > murmur2 of
 * `partitionKey` > murmur2 of `key` > round robin over partitions with a leader) and remembers
 * its choices.
 */
export class RecordingPartitioner {
  readonly #choices = new WeakMap<Message, Choice>();
  readonly #counters = new Map<string, number>();
  /** The partitions with a leader, for the last metadata seen (kafkajs passes the same array until it refreshes). */
  #available: { metadata: PartitionerArgs['partitionMetadata']; leaders: PartitionerArgs['partitionMetadata'] } | undefined;

  /** Pass as kafkajs `createPartitioner`. */
  readonly create: ICustomPartitioner = () => (args) => this.#choose(args);

  /**
   * The partition of `message`, written to `message.partition`: kafkajs calls the partitioner
   * again on a retry, which then keeps the first choice, and {@link metadata} reads it there
   * (the message objects are the adapter's own, built by {@link prepare}).
   */
  #choose({ topic, partitionMetadata, message }: PartitionerArgs): number {
    const count = partitionMetadata.length;
    let partition: number;
    if (message.partition !== undefined && message.partition !== null) {
      partition = message.partition;
      // Metadata usually lists partition i at index i; the search only runs when it does not.
      if (partitionMetadata[partition]?.partitionId !== partition && !hasPartition(partitionMetadata, partition)) {
        throw new TransportError(`partition ${partition} of topic ${topic} does not exist (the topic has ${count} partitions)`, {
          retriable: false,
        });
      }
      return partition;
    }
    const choice = this.#choices.get(message);
    if (choice !== undefined) {
      partition = partitionForKey(choice.partitionKey, count);
    } else if (message.key !== undefined && message.key !== null) {
      partition = partitionForKey(message.key, count);
    } else {
      // Keyless: round robin over the partitions that have a leader (kafkajs's default does the same).
      const available = this.#leaders(partitionMetadata);
      const next = toPositive((this.#counters.get(topic) ?? Math.floor(Math.random() * 0x7fffffff)) + 1);
      this.#counters.set(topic, next);
      partition = available.length > 0 ? available[next % available.length]!.partitionId : next % count;
    }
    message.partition = partition;
    return partition;
  }

  #leaders(metadata: PartitionerArgs['partitionMetadata']): PartitionerArgs['partitionMetadata'] {
    if (this.#available?.metadata !== metadata) this.#available = { metadata, leaders: metadata.filter((p) => p.leader >= 0) };
    return this.#available.leaders;
  }

  /** kafkajs messages for `records`, grouped by topic for `sendBatch`, each registered with its partition key. */
  prepare(records: readonly ProduceRecord[]): PreparedBatch {
    const byTopic = new Map<string, Message[]>();
    const prepared = records.map((record) => {
      const message = toKafkaMessage(record, record.partition);
      if (record.partition === undefined && record.partitionKey !== undefined && record.partitionKey !== null) {
        this.#choices.set(message, { partitionKey: record.partitionKey });
      }
      let messages = byTopic.get(record.topic);
      if (messages === undefined) {
        messages = [];
        byTopic.set(record.topic, messages);
      }
      messages.push(message);
      return { topic: record.topic, message };
    });
    return { topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })), records: prepared };
  }

  /**
   * Where each record landed, in input order. kafkajs sends one record batch per partition with
   * the messages in input order, so a record's offset is its partition's base offset plus its
   * index among that partition's records.
   */
  metadata(batch: PreparedBatch, response: readonly KafkaRecordMetadata[]): RecordMetadata[] {
    const base = new Map<string, number>();
    for (const r of response) {
      const offset = r.baseOffset ?? r.offset;
      base.set(`${r.topicName}\u0000${r.partition}`, offset === undefined ? -1 : Number(offset));
    }
    const seen = new Map<string, number>();
    // Records come in runs of one topic and partition: the key is built once per run.
    let lastTopic: string | undefined;
    let lastPartition = -1;
    let k = '';
    return batch.records.map(({ topic, message }) => {
      const partition = message.partition;
      if (partition === undefined || partition === null) {
        throw new TransportError(`kafkajs did not report the partition of a record produced to ${topic}`, { retriable: false });
      }
      if (topic !== lastTopic || partition !== lastPartition) {
        k = `${topic}\u0000${partition}`;
        lastTopic = topic;
        lastPartition = partition;
      }
      const index = seen.get(k) ?? 0;
      seen.set(k, index + 1);
      const first = base.get(k);
      return { topic, partition, offset: first === undefined || first < 0 ? -1 : first + index };
    });
  }
}
