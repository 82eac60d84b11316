/**
 * Topic administration for ksched: creating and checking the schedules topics and their states
 * topics with the reference settings (reference §7.2), plus small helpers for tests and tools.
 * Not part of the `Transport` port: the engine never creates topics.
 *
 * @module
 */
import { z } from 'zod';
import {
  ConfigError,
  planSchedulesTopics,
  SCHEDULES_TOPIC_CONFIGS,
  schedulesTopicsProblems,
  statesTopic,
  TOPIC_NAME_PATTERN,
} from '@ksched/core';
import type { TopicPartition, Violation } from '@ksched/core';
// kafkajs is CommonJS and Node cannot detect all of its named exports: take them off the default.
import kafkajs from 'kafkajs';

const { ConfigResourceTypes } = kafkajs;
import type { Admin, Kafka } from 'kafkajs';
import { createKafka } from './internal/kafka.js';
import { rethrowAs } from './map-errors.js';
import { kafkaJsConnectionOptionsSchema } from './options.js';
import type { KafkaJsConnectionOptions } from './options.js';

/** Re-exported from core: the §7.2 topic configs of schedules and states topics. */
export { SCHEDULES_TOPIC_CONFIGS };

/** Where the admin connects: an existing kafkajs client, or connection options. */
export type KafkaJsAdminTarget = { readonly kafka: Kafka } | KafkaJsConnectionOptions;

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

/** Options of {@link ensureSchedulesTopics} and {@link verifySchedulesTopics}. */
export type SchedulesTopicsOptions = KafkaJsAdminTarget & SchedulesTopicsSettings;

/** Options of {@link verifySchedulesTopics}. */
export type VerifySchedulesTopicsOptions = SchedulesTopicsOptions & {
  /** Also report §7.2 settings other than `cleanup.policy` that differ (default false). */
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

const settingsSchema = z.object({
  topics: z.array(topicName, { error: 'needs to be a list of topic names' }).min(1, 'needs at least one schedules topic'),
  partitions: z
    .number({ error: 'needs to be an integer ≥ 1' })
    .int('needs to be an integer ≥ 1')
    .min(1, 'needs to be an integer ≥ 1')
    .optional(),
  replicationFactor: z
    .number({ error: 'needs to be an integer ≥ 1' })
    .int('needs to be an integer ≥ 1')
    .min(1, 'needs to be an integer ≥ 1')
    .default(1),
  statesPostfix: z
    .string({ error: 'needs to be a string' })
    .regex(TOPIC_NAME_PATTERN, 'needs to be a Kafka topic name part')
    .default('_states'),
  checkConfigs: z.boolean({ error: 'needs to be a boolean' }).default(false),
});

const newTopicSchema = z.object({
  topic: topicName,
  partitions: z.number().int().min(1).default(1),
  replicationFactor: z.number().int().min(1).default(1),
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

/** Splits mixed options into the kafkajs client and the remaining settings. */
function resolveTarget(options: object): { kafka: Kafka; settings: Record<string, unknown> } {
  const record = options as Record<string, unknown>;
  const settings: Record<string, unknown> = {};
  const connection: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(record)) {
    if (SETTING_KEYS.has(k)) settings[k] = v;
    else if (k !== 'kafka') connection[k] = v;
  }
  if ('kafka' in record && record['kafka'] !== undefined) return { kafka: record['kafka'] as Kafka, settings };
  return { kafka: createKafka(parseOrThrow(kafkaJsConnectionOptionsSchema, connection)), settings };
}

async function withAdmin<T>(kafka: Kafka, use: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = kafka.admin();
  await admin.connect().catch(rethrowAs('connecting the admin client'));
  try {
    return await use(admin);
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

async function partitionCounts(admin: Admin, topics: readonly string[]): Promise<Map<string, number>> {
  if (topics.length === 0) return new Map();
  const { topics: meta } = await admin
    .fetchTopicMetadata({ topics: [...topics] })
    .catch(rethrowAs(`fetching the metadata of ${topics.join(', ')}`));
  return new Map(meta.map((t) => [t.name, t.partitions.length]));
}

async function topicConfigs(
  admin: Admin,
  topics: readonly string[],
  names: readonly string[],
): Promise<Map<string, Map<string, string | null>>> {
  if (topics.length === 0) return new Map();
  const response = await admin
    .describeConfigs({
      includeSynonyms: false,
      resources: topics.map((name) => ({ type: ConfigResourceTypes.TOPIC, name, configNames: [...names] })),
    })
    .catch(rethrowAs(`describing the configs of ${topics.join(', ')}`));
  return new Map(
    response.resources.map((r) => [r.resourceName, new Map(r.configEntries.map((e) => [e.configName, e.configValue as string | null]))]),
  );
}

function configEntries(configs: Readonly<Record<string, string>>): { name: string; value: string }[] {
  return Object.entries(configs).map(([name, value]) => ({ name, value }));
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
  const { kafka, settings } = resolveTarget(options);
  const s = parseOrThrow(settingsSchema, settings);
  return withAdmin(kafka, async (admin) => {
    const existing = await admin.listTopics().catch(rethrowAs('listing topics'));
    const counts = await partitionCounts(
      admin,
      existing.filter((t) => s.topics.some((x) => t === x || t === statesTopic(x, s.statesPostfix))),
    );
    const plan = planSchedulesTopics(s, counts);
    if (plan.create.length > 0) {
      await admin
        .createTopics({
          topics: plan.create.map((t) => ({
            topic: t.topic,
            numPartitions: t.partitions,
            replicationFactor: s.replicationFactor,
            configEntries: configEntries(t.configs),
          })),
          waitForLeaders: true,
        })
        .catch(rethrowAs(`creating ${plan.create.map((t) => t.topic).join(', ')}`));
    }
    return { created: plan.create.map((t) => t.topic), existing: plan.existing };
  });
}

/**
 * Checks the schedules topics and their states topics, and returns every problem found as a
 * sentence (empty when all is well): a missing topic, partition counts that differ between a
 * schedules topic and its states topic (or from `partitions`, when given), a cleanup policy
 * other than `compact`, and with `checkConfigs` any other §7.2 setting that differs.
 *
 * @throws ConfigError (`KSM_CONFIG`) for invalid options; TransportError (`KSM_TRANSPORT`) when Kafka cannot be asked.
 *
 * @example
 * ```ts
 * const problems = await verifySchedulesTopics({ brokers, topics: ['scheduled_messages'] });
 * if (problems.length > 0) throw new Error(problems.join('\n'));
 * ```
 */
export async function verifySchedulesTopics(options: VerifySchedulesTopicsOptions): Promise<string[]> {
  const { kafka, settings } = resolveTarget(options);
  const s = parseOrThrow(settingsSchema, settings);
  return withAdmin(kafka, async (admin) => {
    const existing = new Set(await admin.listTopics().catch(rethrowAs('listing topics')));
    const present = [...new Set(s.topics.flatMap((t) => [t, statesTopic(t, s.statesPostfix)]).filter((t) => existing.has(t)))];
    const counts = await partitionCounts(admin, present);
    const wanted = s.checkConfigs ? Object.keys(SCHEDULES_TOPIC_CONFIGS) : ['cleanup.policy'];
    return schedulesTopicsProblems(s, counts, await topicConfigs(admin, present, wanted));
  });
}

/**
 * Creates one topic; resolves `true` when created, `false` when it existed already.
 *
 * @throws ConfigError (`KSM_CONFIG`) for invalid options; TransportError (`KSM_TRANSPORT`) when Kafka refuses.
 *
 * @example
 * ```ts
 * await createTopic({ brokers, topic: 'orders', partitions: 3, configs: { 'retention.ms': '86400000' } });
 * ```
 */
export async function createTopic(options: KafkaJsAdminTarget & NewTopic): Promise<boolean> {
  const { kafka, settings } = resolveTarget(options);
  const t = parseOrThrow(newTopicSchema, settings);
  return withAdmin(kafka, (admin) =>
    admin
      .createTopics({
        topics: [
          { topic: t.topic, numPartitions: t.partitions, replicationFactor: t.replicationFactor, configEntries: configEntries(t.configs) },
        ],
        waitForLeaders: true,
      })
      .catch(rethrowAs(`creating topic ${t.topic}`)),
  );
}

/**
 * A long-lived admin client for tools and tests: topic creation and deletion, and removal of the
 * head of a partition (Kafka DeleteRecords, which moves the low watermark).
 */
export interface TopicAdmin {
  createTopic(topic: NewTopic): Promise<boolean>;
  deleteTopics(topics: readonly string[]): Promise<void>;
  /** Removes every record of `tp` below `beforeOffset`; the low watermark becomes `beforeOffset`. */
  deleteRecords(tp: TopicPartition, beforeOffset: number): Promise<void>;
  /** Topic configs of `topic` (names given, or all). */
  describeTopicConfigs(topic: string, names?: readonly string[]): Promise<Record<string, string | null>>;
  close(): Promise<void>;
}

/**
 * Opens a {@link TopicAdmin}.
 *
 * @example
 * ```ts
 * const admin = await createTopicAdmin({ brokers });
 * await admin.createTopic({ topic: 't', partitions: 1 });
 * await admin.close();
 * ```
 */
export async function createTopicAdmin(target: KafkaJsAdminTarget): Promise<TopicAdmin> {
  const { kafka } = resolveTarget(target);
  const admin = kafka.admin();
  await admin.connect().catch(rethrowAs('connecting the admin client'));
  return {
    createTopic: async (topic) => {
      const t = parseOrThrow(newTopicSchema, topic);
      return admin
        .createTopics({
          topics: [
            {
              topic: t.topic,
              numPartitions: t.partitions,
              replicationFactor: t.replicationFactor,
              configEntries: configEntries(t.configs),
            },
          ],
          waitForLeaders: true,
        })
        .catch(rethrowAs(`creating topic ${t.topic}`));
    },
    deleteTopics: async (topics) => {
      if (topics.length > 0) await admin.deleteTopics({ topics: [...topics] }).catch(rethrowAs(`deleting ${topics.join(', ')}`));
    },
    deleteRecords: async (tp, beforeOffset) => {
      // kafkajs looks the leader up in cached metadata only: load the topic's metadata first.
      await admin.fetchTopicMetadata({ topics: [tp.topic] }).catch(rethrowAs(`fetching the metadata of ${tp.topic}`));
      await admin
        .deleteTopicRecords({ topic: tp.topic, partitions: [{ partition: tp.partition, offset: String(beforeOffset) }] })
        .catch(rethrowAs(`deleting the records of ${tp.topic}/${tp.partition} below ${beforeOffset}`));
    },
    describeTopicConfigs: async (topic, names) => {
      const response = await admin
        .describeConfigs({
          includeSynonyms: false,
          resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, ...(names !== undefined ? { configNames: [...names] } : {}) }],
        })
        .catch(rethrowAs(`describing the configs of ${topic}`));
      const out: Record<string, string | null> = {};
      for (const r of response.resources) for (const e of r.configEntries) out[e.configName] = e.configValue as string | null;
      return out;
    },
    close: async () => {
      await admin.disconnect().catch(() => {});
    },
  };
}
