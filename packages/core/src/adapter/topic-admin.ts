/**
 * Topic administration, said once: creating and checking the schedules topics and their states
 * topics with the reference settings (reference §7.2), and the dead-letter topic when one is
 * given, creating one topic, and a long-lived admin
 * client for tools and tests. The flow (settings validation, the plan, the checks) lives here over
 * a small {@link TopicAdmin} port; an adapter implements the port with its client's admin calls
 * and exports what {@link topicAdminKit} returns. Not part of the `Transport` port: the engine never
 * creates topics.
 *
 * @module
 */
import { z } from 'zod';
import { UnsupportedError } from '../errors.js';
import { planSchedulesTopics, SCHEDULES_TOPIC_CONFIGS, schedulesTopicsProblems } from '../contracts/topics.js';
import { TOPIC_NAME_PATTERN } from '../contracts/headers.js';
import type { TopicPartition } from '../ports/transport.js';
import { statesTopic } from '../wire/states.js';
import { parseOptions } from './connection.js';

/** A topic to create, with its defaults filled in. */
export interface ResolvedNewTopic {
  readonly topic: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  /** Topic configs, e.g. `{ 'cleanup.policy': 'compact' }`. */
  readonly configs: Readonly<Record<string, string>>;
}

/**
 * The port an adapter implements over its client's admin API. Optional methods are capabilities
 * a client may lack (node-rdkafka has neither DescribeConfigs nor DeleteRecords): the kit answers
 * a request for them with an `UnsupportedError`.
 */
export interface TopicAdmin {
  /** Names of the topics in the cluster. */
  listTopics(): Promise<string[]>;
  /** Partition counts of `topics`, which exist (the kit passes only listed ones). */
  partitionCounts(topics: readonly string[]): Promise<Map<string, number>>;
  /** Configs of each topic: the names given, or all. */
  describeTopicConfigs?(topics: readonly string[], names?: readonly string[]): Promise<Map<string, Map<string, string | null>>>;
  /** Creates a topic and waits until its partitions have leaders; `false` when it existed already. */
  createTopic(topic: ResolvedNewTopic): Promise<boolean>;
  deleteTopics(topics: readonly string[]): Promise<void>;
  /** Removes every record of `tp` below `beforeOffset` (Kafka DeleteRecords: the low watermark moves). */
  deleteRecords?(tp: TopicPartition, beforeOffset: number): Promise<void>;
  /** Releases the client; never rejects. */
  close(): Promise<void>;
}

/** An adapter's side of the kit: its client's name (for messages) and how to open its {@link TopicAdmin}. */
export interface TopicAdminDriver {
  /** The client, as messages name it, e.g. `node-rdkafka`. */
  readonly clientName: string;
  /**
   * Opens a {@link TopicAdmin} for the connection settings given (every option but the topic
   * settings); validates them first.
   *
   * @throws ConfigError for invalid settings; TransportError when the cluster cannot be reached.
   */
  open(connection: Readonly<Record<string, unknown>>): Promise<TopicAdmin>;
}

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
  /**
   * The scheduler's dead-letter topic, if it has one (its `deadLetterTopic` option): created when
   * missing with `DEAD_LETTER_TOPIC_CONFIGS` (`cleanup.policy=delete`, `retention.ms` 7 days) and
   * 1 partition, and checked for existence and a cleanup policy without `compact`.
   */
  readonly deadLetterTopic?: string;
}

/** Settings of `verifySchedulesTopics`. */
export interface VerifySchedulesTopicsSettings extends SchedulesTopicsSettings {
  /**
   * Also report §7.2 settings other than `cleanup.policy` that differ (default false). A client
   * that cannot read topic configs rejects `true` with an `UnsupportedError` rather than
   * pretending to have checked them.
   */
  readonly checkConfigs?: boolean;
}

/** Options of `ensureSchedulesTopics` for an adapter whose connection settings are `Connection`. */
export type SchedulesTopicsOptions<Connection> = Connection & SchedulesTopicsSettings;
/** Options of `verifySchedulesTopics` for an adapter whose connection settings are `Connection`. */
export type VerifySchedulesTopicsOptions<Connection> = Connection & VerifySchedulesTopicsSettings;

/** What `ensureSchedulesTopics` did. */
export interface EnsureSchedulesTopicsResult {
  /** Topics it created. */
  readonly created: readonly string[];
  /** Topics that existed already (left as they are: check them with `verifySchedulesTopics`). */
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

/** A long-lived admin client for tools and tests (what an adapter's `createTopicAdmin` opens). */
export interface TopicAdminClient {
  /** Creates a topic (waiting for its leaders); `false` when it existed. */
  createTopic(topic: NewTopic): Promise<boolean>;
  deleteTopics(topics: readonly string[]): Promise<void>;
  /** Partition counts of the topics that exist (all topics when `topics` is omitted). */
  partitionCounts(topics?: readonly string[]): Promise<Map<string, number>>;
  /**
   * Topic configs of `topic` (names given, or all).
   *
   * @throws UnsupportedError (`KSM_UNSUPPORTED`) when the client cannot read topic configs.
   */
  describeTopicConfigs(topic: string, names?: readonly string[]): Promise<Record<string, string | null>>;
  /**
   * Removes every record of `tp` below `beforeOffset`; the low watermark becomes `beforeOffset`.
   *
   * @throws UnsupportedError (`KSM_UNSUPPORTED`) when the client cannot delete records.
   */
  deleteRecords(tp: TopicPartition, beforeOffset: number): Promise<void>;
  close(): Promise<void>;
}

/** The topic-admin functions an adapter exports; `Connection` is where they connect. */
export interface TopicAdminKit<Connection> {
  /**
   * Creates the schedules topics and their states topics that do not exist yet, with the
   * reference settings (`SCHEDULES_TOPIC_CONFIGS`). A missing topic of a pair gets the partition
   * count of the existing one (both must be equal), else `partitions` (default 5). With
   * `deadLetterTopic`, creates that topic too when it is missing (`DEAD_LETTER_TOPIC_CONFIGS`,
   * 1 partition). Existing topics are left untouched.
   *
   * @throws ConfigError (`KSM_CONFIG`) for invalid options; TransportError (`KSM_TRANSPORT`) when Kafka refuses.
   *
   * @example
   * ```ts
   * await ensureSchedulesTopics({ brokers: ['127.0.0.1:19092'], topics: ['scheduled_messages'], partitions: 5 });
   * ```
   */
  ensureSchedulesTopics(options: SchedulesTopicsOptions<Connection>): Promise<EnsureSchedulesTopicsResult>;
  /**
   * Checks the schedules topics and their states topics, and returns every problem found as a
   * sentence (empty when all is well): a missing topic, partition counts that differ between a
   * schedules topic and its states topic (or from `partitions`, when given), a cleanup policy
   * other than `compact` (when the client can read topic configs), and with `checkConfigs` any
   * other §7.2 setting that differs. With `deadLetterTopic`: that topic missing, or (when the
   * client can read topic configs) compacted.
   *
   * @throws ConfigError (`KSM_CONFIG`) for invalid options; UnsupportedError (`KSM_UNSUPPORTED`)
   *   for `checkConfigs: true` on a client that cannot read topic configs; TransportError
   *   (`KSM_TRANSPORT`) when Kafka cannot be asked.
   *
   * @example
   * ```ts
   * const problems = await verifySchedulesTopics({ brokers, topics: ['scheduled_messages'] });
   * if (problems.length > 0) throw new Error(problems.join('\n'));
   * ```
   */
  verifySchedulesTopics(options: VerifySchedulesTopicsOptions<Connection>): Promise<string[]>;
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
  createTopic(options: Connection & NewTopic): Promise<boolean>;
  /**
   * Opens a {@link TopicAdminClient}.
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
  createTopicAdmin(options: Connection): Promise<TopicAdminClient>;
}

const topicName = z
  .string({ error: 'needs to be a topic name' })
  .min(1, 'must not be empty')
  .max(249, 'must be at most 249 characters')
  .regex(TOPIC_NAME_PATTERN, 'needs to be a Kafka topic name (^[A-Za-z0-9._-]+$)');

const positive = z.number({ error: 'needs to be an integer ≥ 1' }).int('needs to be an integer ≥ 1').min(1, 'needs to be an integer ≥ 1');

/** Settings of `ensureSchedulesTopics` and `verifySchedulesTopics`, with their defaults. */
export const schedulesTopicsSettingsSchema = z.object({
  topics: z.array(topicName, { error: 'needs to be a list of topic names' }).min(1, 'needs at least one schedules topic'),
  partitions: positive.optional(),
  replicationFactor: positive.default(1),
  statesPostfix: z
    .string({ error: 'needs to be a string' })
    .regex(TOPIC_NAME_PATTERN, 'needs to be a Kafka topic name part')
    .default('_states'),
  deadLetterTopic: topicName.optional(),
  checkConfigs: z.boolean({ error: 'needs to be a boolean' }).default(false),
});

/** A new topic, with its defaults. */
export const newTopicSchema = z.object({
  topic: topicName,
  partitions: positive.default(1),
  replicationFactor: positive.default(1),
  configs: z.record(z.string(), z.string(), { error: 'needs to be an object of string values' }).default({}),
});

/** The option names that are topic settings; every other option is a connection setting. */
const SETTING_KEYS = new Set([
  'topics',
  'partitions',
  'replicationFactor',
  'statesPostfix',
  'deadLetterTopic',
  'checkConfigs',
  'topic',
  'configs',
]);

/** Splits mixed options into the connection settings and the topic settings. */
export function splitTopicAdminOptions(options: object): { connection: Record<string, unknown>; settings: Record<string, unknown> } {
  const settings: Record<string, unknown> = {};
  const connection: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(options)) {
    if (SETTING_KEYS.has(k)) settings[k] = v;
    else connection[k] = v;
  }
  return { connection, settings };
}

function unsupported(clientName: string, what: 'configs' | 'records'): UnsupportedError {
  return new UnsupportedError(
    what === 'configs'
      ? `${clientName} cannot read topic configs (its admin client has no DescribeConfigs): check cleanup.policy and the ` +
          'other §7.2 settings with another adapter or kafka-configs'
      : `${clientName} cannot delete records (its admin client has no DeleteRecords)`,
  );
}

/** Partition counts of those of `topics` that exist (all topics when omitted). */
async function existingCounts(admin: TopicAdmin, topics?: readonly string[]): Promise<Map<string, number>> {
  const listed = await admin.listTopics();
  const wanted = topics === undefined ? undefined : new Set(topics);
  const present = [...new Set(listed)].filter((t) => wanted === undefined || wanted.has(t));
  return present.length === 0 ? new Map() : admin.partitionCounts(present);
}

async function withAdmin<T>(
  driver: TopicAdminDriver,
  connection: Record<string, unknown>,
  use: (admin: TopicAdmin) => Promise<T>,
): Promise<T> {
  const admin = await driver.open(connection);
  try {
    return await use(admin);
  } finally {
    await admin.close();
  }
}

/** The schedules topics and their states topics of `settings`, and its dead-letter topic. */
function plannedTopics(settings: z.output<typeof schedulesTopicsSettingsSchema>): string[] {
  const pairs = settings.topics.flatMap((t) => [t, statesTopic(t, settings.statesPostfix)]);
  return [...new Set(settings.deadLetterTopic === undefined ? pairs : [...pairs, settings.deadLetterTopic])];
}

/** A {@link TopicAdminClient} over an open port. */
export function topicAdminClient(admin: TopicAdmin, clientName: string): TopicAdminClient {
  return {
    createTopic: async (topic) => admin.createTopic(parseOptions(newTopicSchema, topic)),
    deleteTopics: async (topics) => {
      if (topics.length > 0) await admin.deleteTopics(topics);
    },
    partitionCounts: (topics) => existingCounts(admin, topics),
    describeTopicConfigs: async (topic, names) => {
      if (admin.describeTopicConfigs === undefined) throw unsupported(clientName, 'configs');
      const configs = await admin.describeTopicConfigs([topic], names);
      return Object.fromEntries(configs.get(topic) ?? []);
    },
    deleteRecords: async (tp, beforeOffset) => {
      if (admin.deleteRecords === undefined) throw unsupported(clientName, 'records');
      await admin.deleteRecords(tp, beforeOffset);
    },
    close: () => admin.close(),
  };
}

/**
 * The topic-admin functions of an adapter, over its {@link TopicAdminDriver}. Options are split
 * into topic settings (validated here) and connection settings (validated by the driver).
 *
 * @example
 * ```ts
 * export const { ensureSchedulesTopics, verifySchedulesTopics, createTopic, createTopicAdmin } =
 *   topicAdminKit<MyConnectionOptions>({ clientName: 'my-client', open: openMyTopicAdmin });
 * ```
 */
export function topicAdminKit<Connection extends object>(driver: TopicAdminDriver): TopicAdminKit<Connection> {
  return {
    ensureSchedulesTopics: async (options) => {
      const { connection, settings } = splitTopicAdminOptions(options);
      const s = parseOptions(schedulesTopicsSettingsSchema, settings);
      return withAdmin(driver, connection, async (admin) => {
        const plan = planSchedulesTopics(s, await existingCounts(admin, plannedTopics(s)));
        for (const t of plan.create) {
          await admin.createTopic({ topic: t.topic, partitions: t.partitions, replicationFactor: s.replicationFactor, configs: t.configs });
        }
        return { created: plan.create.map((t) => t.topic), existing: plan.existing };
      });
    },
    verifySchedulesTopics: async (options) => {
      const { connection, settings } = splitTopicAdminOptions(options);
      const s = parseOptions(schedulesTopicsSettingsSchema, settings);
      return withAdmin(driver, connection, async (admin) => {
        if (s.checkConfigs && admin.describeTopicConfigs === undefined) throw unsupported(driver.clientName, 'configs');
        const counts = await existingCounts(admin, plannedTopics(s));
        const present = [...counts.keys()];
        if (admin.describeTopicConfigs === undefined || present.length === 0) return schedulesTopicsProblems(s, counts);
        const wanted = s.checkConfigs ? Object.keys(SCHEDULES_TOPIC_CONFIGS) : ['cleanup.policy'];
        return schedulesTopicsProblems(s, counts, await admin.describeTopicConfigs(present, wanted));
      });
    },
    createTopic: async (options) => {
      const { connection, settings } = splitTopicAdminOptions(options);
      const topic = parseOptions(newTopicSchema, settings);
      return withAdmin(driver, connection, (admin) => admin.createTopic(topic));
    },
    createTopicAdmin: async (options) =>
      topicAdminClient(await driver.open({ ...(options as Record<string, unknown>) }), driver.clientName),
  };
}
