/**
 * Topic administration over node-rdkafka: node-rdkafka's admin calls as the kit's
 * {@link TopicAdmin} port; the flow over it (creating and checking the schedules topics and their
 * states topics with the reference settings, reference §7.2) is the kit's, wired in by
 * `defineAdapter` (see adapter.ts).
 *
 * Gotcha: node-rdkafka 3.6's `AdminClient` offers only CreateTopics, DeleteTopics and
 * CreatePartitions. Topic configs cannot be read back (no DescribeConfigs), so
 * `verifySchedulesTopics` checks existence and partition counts but not `cleanup.policy`
 * (`checkConfigs: true` rejects with an `UnsupportedError`), and there is no DeleteRecords (the
 * admin client of `createTopicAdmin` rejects `deleteRecords` and `describeTopicConfigs`). Use
 * `@ksched/kafka-adapter-kafkajs`'s `verifySchedulesTopics` (or `kafka-configs.sh --describe`) to
 * check the configs.
 *
 * @module
 */
import { TransportError } from '@ksched/core';
import { parseOptions } from '@ksched/core/adapter';
import type { ResolvedNewTopic, TopicAdmin } from '@ksched/core/adapter';
import type { IAdminClient, LibrdKafkaError, Metadata } from 'node-rdkafka';
import { commonConfig, createClient } from './internal/config.js';
import { DeliveringProducer } from './internal/producer.js';
import { rdkafka } from './internal/native.js';
import { RdKafkaErrorCode, rdKafkaCode, rethrowAs, toTransportError } from './map-errors.js';
import { rdKafkaConnectionOptionsSchema } from './options.js';
import type { RdKafkaConnectionOptions, ResolvedRdKafkaConnectionOptions } from './options.js';

/** An admin client plus a producer for cluster metadata (node-rdkafka's AdminClient has none). */
class AdminSession {
  readonly #options: ResolvedRdKafkaConnectionOptions;
  readonly #admin: IAdminClient;
  readonly #metadata: DeliveringProducer;

  private constructor(options: ResolvedRdKafkaConnectionOptions) {
    this.#options = options;
    // The AdminClient has no event callbacks: keep librdkafka from printing to stderr.
    this.#admin = createClient('admin client', () => rdkafka.AdminClient.create({ ...commonConfig(options), log_level: 0 } as never));
    this.#metadata = createClient(
      'metadata client',
      // Asking for a topic's metadata must not create it.
      () =>
        new DeliveringProducer(
          { global: { ...commonConfig(options), 'allow.auto.create.topics': false }, topic: {} },
          options.logger,
          'admin metadata',
          50,
        ),
    );
  }

  static async open(options: ResolvedRdKafkaConnectionOptions): Promise<AdminSession> {
    const session = new AdminSession(options);
    try {
      await session.#metadata.connect(options.connectionTimeoutMs);
    } catch (error) {
      session.close();
      throw toTransportError(error, `connecting to ${options.brokers.join(',')}`);
    }
    return session;
  }

  async metadata(): Promise<Metadata> {
    return new Promise<Metadata>((resolve, reject) => {
      this.#metadata.client.getMetadata({ allTopics: true, timeout: this.#options.requestTimeoutMs }, (error, result) =>
        error ? reject(error) : resolve(result),
      );
    }).catch(rethrowAs('fetching the cluster metadata'));
  }

  /** Partition counts of the given topics that exist. */
  async partitionCounts(topics?: readonly string[]): Promise<Map<string, number>> {
    const wanted = topics === undefined ? undefined : new Set(topics);
    const { topics: meta } = await this.metadata();
    return new Map(
      meta.filter((t) => t.partitions.length > 0 && (wanted === undefined || wanted.has(t.name))).map((t) => [t.name, t.partitions.length]),
    );
  }

  /** Creates a topic and waits until every partition has a leader; `false` when it existed. */
  async createTopic(t: ResolvedNewTopic): Promise<boolean> {
    const created = await new Promise<boolean>((resolve, reject) => {
      this.#admin.createTopic(
        { topic: t.topic, num_partitions: t.partitions, replication_factor: t.replicationFactor, config: { ...t.configs } },
        this.#options.requestTimeoutMs,
        (error: LibrdKafkaError) => {
          if (!error) resolve(true);
          else if (rdKafkaCode(error) === RdKafkaErrorCode.ERR_TOPIC_ALREADY_EXISTS) resolve(false);
          else reject(toTransportError(error, `creating topic ${t.topic}`));
        },
      );
    });
    await this.#waitForLeaders(t.topic, t.partitions);
    return created;
  }

  /**
   * Waits until every partition has a leader in the metadata *and* answers ListOffsets: a KRaft
   * broker announces a new leader in its metadata slightly before it acts as one.
   */
  async #waitForLeaders(topic: string, partitions: number): Promise<void> {
    const deadline = Date.now() + this.#options.requestTimeoutMs;
    const ready = async (): Promise<boolean> => {
      const meta = (await this.metadata()).topics.find((m) => m.name === topic);
      if (meta === undefined || meta.partitions.length < partitions || meta.partitions.some((p) => p.leader < 0)) return false;
      const answers = await Promise.all(
        meta.partitions.map(
          (p) =>
            new Promise<boolean>((resolve) =>
              this.#metadata.client.queryWatermarkOffsets(topic, p.id, this.#options.requestTimeoutMs, (error) => resolve(!error)),
            ),
        ),
      );
      return answers.every(Boolean);
    };
    while (!(await ready())) {
      if (Date.now() > deadline)
        throw new TransportError(`topic ${topic} has no working leader for every partition yet`, { retriable: true });
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async deleteTopic(topic: string): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#admin.deleteTopic(topic, this.#options.requestTimeoutMs, (error: LibrdKafkaError) => {
        if (!error || rdKafkaCode(error) === RdKafkaErrorCode.ERR_UNKNOWN_TOPIC_OR_PART) resolve();
        else reject(toTransportError(error, `deleting topic ${topic}`));
      });
    });
  }

  close(): void {
    try {
      this.#admin.disconnect();
    } catch {
      // Already disconnected.
    }
    void this.#metadata.disconnect(this.#options.requestTimeoutMs);
  }
}

/** Opens the kit's {@link TopicAdmin} port over an {@link AdminSession} (no DescribeConfigs, no DeleteRecords). */
export async function openRdKafkaTopicAdmin(connection: RdKafkaConnectionOptions): Promise<TopicAdmin> {
  const session = await AdminSession.open(parseOptions(rdKafkaConnectionOptionsSchema, connection));
  return {
    listTopics: async () => [...(await session.partitionCounts()).keys()],
    partitionCounts: (topics) => session.partitionCounts(topics),
    createTopic: (t) => session.createTopic(t),
    deleteTopics: async (topics) => {
      for (const topic of topics) await session.deleteTopic(topic);
    },
    close: async () => session.close(),
  };
}
