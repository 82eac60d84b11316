/**
 * A broker harness for an adapter's integration tests: what every adapter's tests against a real
 * broker do the same way (brokers from `KSCHED_BROKERS`, unique names, topics created and deleted,
 * transports and transactional producers closed after each test, a group member that owns its
 * partitions before the test goes on), written once and parameterised by the adapter's transport
 * factory and topic admin. It imports no test runner: `useResources()` registers its clean-up
 * through the runner's hooks given to `createBrokerHarness` (`@ksched/testkit/vitest` gives vitest's).
 *
 * @module
 */
import { statesTopic } from '@ksched/core';
import type { ProduceRecord, Subscription, TopicPartition, TransactionalProducer, Transport } from '@ksched/core';
import type { KafkaAdapter, KafkaAdapterTopicsSettings, TopicAdminClient } from '@ksched/core/adapter';
import type { OpenTransaction } from '../conformance/harness.js';
import { RecordingListener, waitUntil } from '../recording-listener.js';

// Real timers captured at load time: the harness waits in real time even if a test file fakes timers.
const realSetTimeout = globalThis.setTimeout;
const decoder = new TextDecoder();

/** The brokers of the integration run: `KSCHED_BROKERS` (comma separated), else the local test broker. */
export function kafkaBrokers(): string[] {
  return (process.env['KSCHED_BROKERS'] ?? '127.0.0.1:19092').split(',');
}

/** Waits `ms` real milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => realSetTimeout(resolve, Math.max(0, ms)));
}

/** Bytes (or text, as fakes give header values) as UTF-8 text; `null` stays `null`. */
export function text(value: Uint8Array | string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  return typeof value === 'string' ? value : decoder.decode(value);
}

/** `topic/partition`, e.g. as a map key. */
export function tpKey(tp: TopicPartition): string {
  return `${tp.topic}/${tp.partition}`;
}

/**
 * The after-hooks of a test runner, through which {@link BrokerHarness.useResources} closes and
 * deletes what a test file opened: vitest's and Jest's `{ afterEach, afterAll }`, node:test's
 * `{ afterEach, afterAll: after }`.
 */
export interface TestHooks {
  /** Registers `fn` to run after each test of the file (or of the enclosing `describe`). */
  afterEach(fn: () => Promise<void>): unknown;
  /** Registers `fn` to run once after the file's (or the enclosing `describe`'s) last test. */
  afterAll(fn: () => Promise<void>): unknown;
}

/** The topic admin calls the harness needs (the adapters' `createTopicAdmin` results have them). */
export interface HarnessTopicAdmin {
  createTopic(topic: {
    readonly topic: string;
    readonly partitions?: number;
    readonly configs?: Readonly<Record<string, string>>;
  }): Promise<unknown>;
  deleteTopics(topics: readonly string[]): Promise<unknown>;
  /** Kafka's DeleteRecords, when the admin client has it. */
  deleteRecords?(tp: TopicPartition, beforeOffset: number): Promise<unknown>;
  close(): Promise<void>;
}

/** The adapter under test: how the harness creates its transports and admin. */
export interface AdapterUnderTest<O, A extends HarnessTopicAdmin> {
  /** The adapter's name, in client ids and suite titles (e.g. `kafkajs`). */
  readonly name: string;
  /** Prefix of topic, group and transactional id names (e.g. `ksched-kjs`). */
  readonly namePrefix: string;
  /** A new transport, not connected, with this client id and these adapter options. */
  createTransport(clientId: string, options?: O): Transport;
  /** A topic admin client (closed by the harness). */
  createAdmin(): Promise<A>;
  /** Creates schedules topics with their states topics (the adapter's `ensureSchedulesTopics`). */
  ensureSchedulesTopics?(topics: readonly string[], partitions: number): Promise<unknown>;
  /** Kafka's DeleteRecords for an admin without it (e.g. through the broker's own tool). */
  deleteRecords?(tp: TopicPartition, beforeOffset: number): Promise<void>;
  /** Writes `records` in a transaction of a raw client and leaves it open (see the conformance harness). */
  openTransaction?(transactionalId: string, records: readonly ProduceRecord[]): Promise<OpenTransaction>;
}

/**
 * An adapter under test given by its `KafkaAdapter` object (what the package exports as `adapter`):
 * transports, schedules topics and the topic admin come from it, with the brokers of
 * {@link kafkaBrokers}.
 */
export interface KafkaAdapterUnderTest<T, C, A extends HarnessTopicAdmin = TopicAdminClient> extends Omit<
  AdapterUnderTest<Partial<T>, A>,
  'name' | 'createTransport' | 'ensureSchedulesTopics' | 'createAdmin'
> {
  readonly kafkaAdapter: KafkaAdapter<T, C>;
  /** A topic admin client (closed by the harness); default: the adapter's `createTopicAdmin({ brokers })`. */
  readonly createAdmin?: () => Promise<A>;
}

/** The {@link AdapterUnderTest} of a `KafkaAdapter` object. */
function fromKafkaAdapter<T, C, A extends HarnessTopicAdmin>(spec: KafkaAdapterUnderTest<T, C, A>): AdapterUnderTest<Partial<T>, A> {
  const { kafkaAdapter, createAdmin, ...rest } = spec;
  const brokers = kafkaBrokers();
  return {
    ...rest,
    name: kafkaAdapter.name,
    // Without createAdmin, A is its default, TopicAdminClient: what the adapter's createTopicAdmin returns.
    createAdmin: createAdmin ?? (() => kafkaAdapter.createTopicAdmin({ brokers } as unknown as C) as Promise<unknown> as Promise<A>),
    createTransport: (clientId, options = {}) => kafkaAdapter.createTransport({ brokers, clientId, ...options } as unknown as T),
    ensureSchedulesTopics: (topics, partitions) =>
      kafkaAdapter.ensureSchedulesTopics({ brokers, topics, partitions } as unknown as C & KafkaAdapterTopicsSettings),
  };
}

/** A group member that owns every partition of its topics (see {@link BrokerResources.consume}). */
export interface ConsumingMember {
  readonly transport: Transport;
  readonly recorder: RecordingListener;
  readonly subscription: Subscription;
}

/** What a test file opens through the harness; everything is closed or deleted for it. */
export interface BrokerResources<O, A extends HarnessTopicAdmin> {
  /** A connected transport, closed after the test. */
  transport(options?: O): Promise<Transport>;
  /** Registers a transactional producer to close after the test. */
  producer<P extends TransactionalProducer>(producer: P): P;
  /** The file's topic admin (one, closed after the file). */
  admin(): Promise<A>;
  /** A new topic with a unique name, deleted after the file. */
  topic(label: string, partitions?: number, configs?: Readonly<Record<string, string>>): Promise<string>;
  /** New schedules topics (unique names) with their states topics, deleted after the file. */
  schedulesTopics(partitions: number, ...labels: string[]): Promise<string[]>;
  /**
   * A member of `groupId` (a new group by default) on `topics`, through `transport` (a new one by
   * default), once it owns all their partitions.
   */
  consume(topics: readonly string[], recorder?: RecordingListener, groupId?: string, transport?: Transport): Promise<ConsumingMember>;
  /** Runs `close` after the file (before the topics are deleted). */
  afterFile(close: () => Promise<unknown>): void;
}

/** Names and resources of one adapter's broker tests. */
export interface BrokerHarness<O, A extends HarnessTopicAdmin> {
  readonly adapter: AdapterUnderTest<O, A>;
  readonly brokers: readonly string[];
  /** A name unique to this test run: `<namePrefix>-<label>-<run>-<n>`. */
  unique(label: string): string;
  /** Kafka's DeleteRecords through the adapter's hook or its admin; `undefined` when it has neither. */
  deleteRecords(admin: A): ((tp: TopicPartition, beforeOffset: number) => Promise<void>) | undefined;
  /**
   * Resources for a test file: call once at the top level of the file (it registers the runner's
   * `afterEach` and `afterAll` hooks given to `createBrokerHarness`; without them it throws).
   */
  useResources(): BrokerResources<O, A>;
}

/**
 * The broker harness of an adapter, given by its `KafkaAdapter` object or by its parts. Use it
 * from the adapter's test helpers; test files call `useResources()` once at their top level (or
 * once in a `describe`, whose hooks then close and delete what it opened). `hooks` are the test
 * runner's after-hooks that `useResources()` registers its clean-up with; `@ksched/testkit/vitest`
 * exports the same function with vitest's hooks as the default.
 *
 * @example
 * ```ts
 * // From the adapter's `KafkaAdapter` object (or give name, createTransport, createAdmin, ... one by one):
 * import { after, afterEach } from 'node:test'; // or vitest's / Jest's afterEach and afterAll
 * export const harness = createBrokerHarness({ kafkaAdapter: adapter, namePrefix: 'ksched-kjs' }, { afterEach, afterAll: after });
 * const r = harness.useResources();
 * it('…', async () => {
 *   const topic = await r.topic('roundtrip', 2);
 *   const { recorder } = await r.consume([topic]);
 * });
 * ```
 */
export function createBrokerHarness<T, C, A extends HarnessTopicAdmin = TopicAdminClient>(
  spec: KafkaAdapterUnderTest<T, C, A>,
  hooks?: TestHooks,
): BrokerHarness<Partial<T>, A>;
export function createBrokerHarness<O, A extends HarnessTopicAdmin>(spec: AdapterUnderTest<O, A>, hooks?: TestHooks): BrokerHarness<O, A>;
export function createBrokerHarness<O, A extends HarnessTopicAdmin>(
  spec: AdapterUnderTest<O, A> | KafkaAdapterUnderTest<O, unknown, A>,
  hooks?: TestHooks,
): BrokerHarness<O, A> {
  const adapter = ('kafkaAdapter' in spec ? fromKafkaAdapter(spec) : spec) as AdapterUnderTest<O, A>;
  const run = `${Date.now().toString(36)}${Math.floor(Math.random() * 36 ** 4).toString(36)}`;
  let counter = 0;
  const unique = (label: string): string => `${adapter.namePrefix}-${label}-${run}-${++counter}`;
  const deleteRecords = (admin: A): ((tp: TopicPartition, beforeOffset: number) => Promise<void>) | undefined => {
    if (adapter.deleteRecords) return adapter.deleteRecords.bind(adapter);
    if (admin.deleteRecords) return async (tp, beforeOffset) => void (await admin.deleteRecords!(tp, beforeOffset));
    return undefined;
  };
  return {
    adapter,
    brokers: kafkaBrokers(),
    unique,
    deleteRecords,
    useResources: () => {
      if (hooks === undefined) {
        throw new TypeError(
          "useResources() needs the test runner's after-hooks: createBrokerHarness(spec, { afterEach, afterAll }) " +
            "(node:test: { afterEach, afterAll: after }), or createBrokerHarness from '@ksched/testkit/vitest'",
        );
      }
      return useResources(adapter, unique, hooks);
    },
  };
}

function useResources<O, A extends HarnessTopicAdmin>(
  adapter: AdapterUnderTest<O, A>,
  unique: (label: string) => string,
  { afterEach, afterAll }: TestHooks,
): BrokerResources<O, A> {
  const transports: Transport[] = [];
  const producers: TransactionalProducer[] = [];
  const topics: string[] = [];
  const closers: (() => Promise<unknown>)[] = [];
  let admin: Promise<A> | undefined;

  afterEach(async () => {
    for (const p of producers.splice(0)) await p.close().catch(() => {});
    for (const t of transports.splice(0).reverse()) await t.close().catch(() => {});
  });
  afterAll(async () => {
    for (const close of closers.splice(0).reverse()) await close().catch(() => {});
    if (admin === undefined) return;
    const a = await admin;
    await a.deleteTopics(topics.splice(0)).catch(() => {});
    await a.close();
  });

  const getAdmin = (): Promise<A> => (admin ??= adapter.createAdmin());

  const resources: BrokerResources<O, A> = {
    async transport(options?: O): Promise<Transport> {
      const t = adapter.createTransport(`ksched-${adapter.name}-test`, options);
      transports.push(t);
      await t.connect();
      return t;
    },
    producer(producer) {
      producers.push(producer);
      return producer;
    },
    admin: getAdmin,
    async topic(label, partitions = 1, configs = {}) {
      const name = unique(label);
      topics.push(name);
      await (await getAdmin()).createTopic({ topic: name, partitions, configs });
      return name;
    },
    async schedulesTopics(partitions, ...labels) {
      if (adapter.ensureSchedulesTopics === undefined) throw new Error(`the ${adapter.name} harness has no ensureSchedulesTopics`);
      const names = labels.map((label) => unique(label));
      await getAdmin(); // so that the topics are deleted after the file
      topics.push(...names, ...names.map((n) => statesTopic(n)));
      await adapter.ensureSchedulesTopics(names, partitions);
      return names;
    },
    async consume(names, recorder = new RecordingListener(), groupId = unique('group'), t) {
      const transport = t ?? (await resources.transport());
      const subscription = await transport.subscribe({ groupId, topics: names, listener: recorder });
      let total = 0;
      for (const n of names) total += await transport.partitionCount(n);
      await waitUntil(
        () => recorder.owned.size === total,
        () => `assignment of ${total} partitions (owns ${recorder.owned.size})`,
      );
      return { transport, recorder, subscription };
    },
    afterFile(close) {
      closers.push(close);
    },
  };
  return resources;
}
