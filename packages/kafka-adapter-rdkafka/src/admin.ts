/**
 * Topic administration for ksched over node-rdkafka: creating and checking the schedules topics
 * and their states topics with the reference settings (reference §7.2), plus small helpers for
 * tests and tools. Not part of the `Transport` port: the engine never creates topics.
 *
 * Gotcha: node-rdkafka 3.6's `AdminClient` offers only CreateTopics, DeleteTopics and
 * CreatePartitions. Topic configs cannot be read back (no DescribeConfigs), so
 * {@link verifySchedulesTopics} checks existence and partition counts but not `cleanup.policy`,
 * and there is no DeleteRecords. Use `@ksched/kafka-adapter-kafkajs`'s `verifySchedulesTopics`
 * (or `kafka-configs.sh --describe`) to check the configs.
 *
 * @module
 */
import { z } from 'zod';
import {
  ConfigError,
  planSchedulesTopics,
  SCHEDULES_TOPIC_CONFIGS,
  schedulesTopicsProblems,
  TOPIC_NAME_PATTERN,
  TransportError,
  UnsupportedError,
} from '@ksched/core';
import type { Violation } from '@ksched/core';
import type { IAdminClient, LibrdKafkaError, Metadata } from 'node-rdkafka';
import { commonConfig, createClient } from './internal/config.js';
import { DeliveringProducer } from './internal/producer.js';
import { rdkafka } from './internal/native.js';
import { RdKafkaErrorCode, rdKafkaCode, rethrowAs, toTransportError } from './map-errors.js';
import { parseRdKafkaConnectionOptions } from './options.js';
import type { RdKafkaConnectionOptions, ResolvedRdKafkaConnectionOptions } from './options.js';

/** Re-exported from core: the §7.2 topic configs of schedules and states topics. */
export { SCHEDULES_TOPIC_CONFIGS };

/** Which schedules topics, and how to create them. */
export interface SchedulesTopicsSettings {
  /** Schedules topic names; each gets a `<name><statesPostfix>` states topic. */
  readonly topics: readonly string[];
  /** Partitions of a new topic (default 5). For `verifySchedulesTopics`, the expected count, if given. */
  readonly partitions?: number;
  /** Replication factor of a new topic (default 1; set more in production). */
  readonly replicationFactor?: number;
  /** States topic postfix (default `_states`). */
  readonly statesPostfix?: string;
}

/** Options of {@link ensureSchedulesTopics}: where to connect, and which topics. */
export type SchedulesTopicsOptions = RdKafkaConnectionOptions & SchedulesTopicsSettings;

/** Options of {@link verifySchedulesTopics}. */
export type VerifySchedulesTopicsOptions = SchedulesTopicsOptions & {
  /**
   * Also check the §7.2 topic configs. node-rdkafka cannot read topic configs: `true` rejects with
   * an `UnsupportedError` rather than pretending to have checked them. Default false.
   */
  readonly checkConfigs?: boolean;
};

/** What {@link ensureSchedulesTopics} did. */
export interface EnsureSchedulesTopicsResult {
  /** Topics it created. */
  readonly created: readonly string[];
  /** Topics that existed already (left as they are: check them with {@link verifySchedulesTopics}). */
  readonly existing: readonly string[];
}

/** A new topic. */
export interface NewTopic {
  readonly topic: string;
  /** Default 1. */
  readonly partitions?: number;
  /** Default 1. */
  readonly replicationFactor?: number;
  /** Topic configs, e.g. `{ 'cleanup.policy': 'compact' }`. */
  readonly configs?: Readonly<Record<string, string>>;
}

const topicName = z
  .string({ error: 'needs to be a topic name' })
  .min(1, 'must not be empty')
  .max(249, 'must be at most 249 characters')
  .regex(TOPIC_NAME_PATTERN, 'needs to be a Kafka topic name (^[A-Za-z0-9._-]+$)');

const positive = z.number({ error: 'needs to be an integer ≥ 1' }).int('needs to be an integer ≥ 1').min(1, 'needs to be an integer ≥ 1');

const settingsSchema = z.object({
  topics: z.array(topicName, { error: 'needs to be a list of topic names' }).min(1, 'needs at least one schedules topic'),
  partitions: positive.optional(),
  replicationFactor: positive.default(1),
  statesPostfix: z
    .string({ error: 'needs to be a string' })
    .regex(TOPIC_NAME_PATTERN, 'needs to be a Kafka topic name part')
    .default('_states'),
  checkConfigs: z.boolean({ error: 'needs to be a boolean' }).default(false),
});

const newTopicSchema = z.object({
  topic: topicName,
  partitions: positive.default(1),
  replicationFactor: positive.default(1),
  configs: z.record(z.string(), z.string()).default({}),
});

const SETTING_KEYS = new Set(['topics', 'partitions', 'replicationFactor', 'statesPostfix', 'checkConfigs', 'topic', 'configs']);

function violations(error: z.ZodError): Violation[] {
  return error.issues.map((i) => ({ field: i.path.map(String).join('.') || '(options)', rule: i.code, message: i.message }));
}

function parseOrThrow<T>(schema: z.ZodType<T>, input: unknown): T {
  const result = schema.safeParse(input);
  if (!result.success) throw new ConfigError(violations(result.error));
  return result.data;
}

/** Splits mixed options into the connection settings and the remaining settings. */
function split(options: object): { connection: ResolvedRdKafkaConnectionOptions; settings: Record<string, unknown> } {
  const settings: Record<string, unknown> = {};
  const connection: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(options)) {
    if (SETTING_KEYS.has(k)) settings[k] = v;
    else connection[k] = v;
  }
  return { connection: parseRdKafkaConnectionOptions(connection as RdKafkaConnectionOptions), settings };
}

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
  async createTopic(t: z.output<typeof newTopicSchema>): Promise<boolean> {
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

async function withSession<T>(connection: ResolvedRdKafkaConnectionOptions, use: (session: AdminSession) => Promise<T>): Promise<T> {
  const session = await AdminSession.open(connection);
  try {
    return await use(session);
  } finally {
    session.close();
  }
}

/**
 * Creates the schedules topics and their states topics that do not exist yet, with the reference
 * settings ({@link SCHEDULES_TOPIC_CONFIGS}). A missing topic of a pair gets the partition count of
 * the existing one (both must be equal), else `partitions` (default 5). Existing topics are left
 * untouched.
 *
 * @throws ConfigError (`KSM_CONFIG`) for invalid options; TransportError (`KSM_TRANSPORT`) when Kafka refuses.
 *
 * @example
 * ```ts
 * await ensureSchedulesTopics({ brokers: ['127.0.0.1:19092'], topics: ['scheduled_messages'], partitions: 5 });
 * ```
 */
export async function ensureSchedulesTopics(options: SchedulesTopicsOptions): Promise<EnsureSchedulesTopicsResult> {
  const { connection, settings } = split(options);
  const s = parseOrThrow(settingsSchema, settings);
  return withSession(connection, async (session) => {
    const plan = planSchedulesTopics(s, await session.partitionCounts());
    for (const t of plan.create) {
      await session.createTopic({
        topic: t.topic,
        partitions: t.partitions,
        replicationFactor: s.replicationFactor,
        configs: { ...t.configs },
      });
    }
    return { created: plan.create.map((t) => t.topic), existing: plan.existing };
  });
}

/**
 * Checks the schedules topics and their states topics and returns every problem found as a
 * sentence (empty when all is well): a missing topic, partition counts that differ between a
 * schedules topic and its states topic (or from `partitions`, when given).
 *
 * Not checked: `cleanup.policy` and the other §7.2 configs, which node-rdkafka cannot read (see
 * the module comment); `checkConfigs: true` therefore rejects with an `UnsupportedError`.
 *
 * @throws ConfigError (`KSM_CONFIG`) for invalid options; UnsupportedError (`KSM_UNSUPPORTED`) for
 *   `checkConfigs: true`; TransportError (`KSM_TRANSPORT`) when Kafka cannot be asked.
 *
 * @example
 * ```ts
 * const problems = await verifySchedulesTopics({ brokers, topics: ['scheduled_messages'] });
 * if (problems.length > 0) throw new Error(problems.join('\n'));
 * ```
 */
export async function verifySchedulesTopics(options: VerifySchedulesTopicsOptions): Promise<string[]> {
  const { connection, settings } = split(options);
  const s = parseOrThrow(settingsSchema, settings);
  if (s.checkConfigs) {
    throw new UnsupportedError(
      'node-rdkafka cannot read topic configs (its AdminClient has no DescribeConfigs): check cleanup.policy and the ' +
        'other §7.2 settings with the kafkajs adapter or kafka-configs',
    );
  }
  return withSession(connection, async (session) => {
    return schedulesTopicsProblems(s, await session.partitionCounts());
  });
}

/**
 * Creates one topic and waits until every partition has a leader; resolves `true` when created,
 * `false` when it existed already.
 *
 * @throws ConfigError (`KSM_CONFIG`) for invalid options; TransportError (`KSM_TRANSPORT`) when Kafka refuses.
 *
 * @example
 * ```ts
 * await createTopic({ brokers, topic: 'orders', partitions: 3, configs: { 'retention.ms': '86400000' } });
 * ```
 */
export async function createTopic(options: RdKafkaConnectionOptions & NewTopic): Promise<boolean> {
  const { connection, settings } = split(options);
  const t = parseOrThrow(newTopicSchema, settings);
  return withSession(connection, (session) => session.createTopic(t));
}

/**
 * A long-lived admin client for tools and tests. Unlike the kafkajs adapter's, it has no
 * `deleteRecords` and no `describeTopicConfigs` (node-rdkafka 3.6 lacks both).
 */
export interface TopicAdmin {
  /** Creates a topic (waiting for its leaders); `false` when it existed. */
  createTopic(topic: NewTopic): Promise<boolean>;
  deleteTopics(topics: readonly string[]): Promise<void>;
  /** Partition counts of the topics that exist (all topics when `topics` is omitted). */
  partitionCounts(topics?: readonly string[]): Promise<Map<string, number>>;
  close(): Promise<void>;
}

/**
 * Opens a {@link TopicAdmin}.
 *
 * @throws ConfigError (`KSM_CONFIG`) for invalid options; TransportError (`KSM_TRANSPORT`) when the cluster cannot be reached.
 *
 * @example
 * ```ts
 * const admin = await createTopicAdmin({ brokers });
 * await admin.createTopic({ topic: 't', partitions: 1 });
 * await admin.close();
 * ```
 */
export async function createTopicAdmin(options: RdKafkaConnectionOptions): Promise<TopicAdmin> {
  const session = await AdminSession.open(parseRdKafkaConnectionOptions(options));
  return {
    createTopic: (topic) => session.createTopic(parseOrThrow(newTopicSchema, topic)),
    deleteTopics: async (topics) => {
      for (const topic of topics) await session.deleteTopic(topic);
    },
    partitionCounts: (topics) => session.partitionCounts(topics),
    close: async () => session.close(),
  };
}
