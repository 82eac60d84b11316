/**
 * The `KafkaAdapter` interface: what a service loads from an adapter package, and
 * {@link defineAdapter}, which builds it from what a driver states about itself. Each adapter
 * exports one `adapter` object of this type, so a service picks an adapter by name and uses it
 * without knowing its client; the package's own functions (`createScheduleClient`,
 * `ensureSchedulesTopics`, ...) are taken off that object.
 *
 * @module
 */
import type { ScheduleClient } from '../client/schedule-client.js';
import type { Transport } from '../ports/transport.js';
import { scheduleClientFactory } from './schedule-client.js';
import type { AdapterScheduleClientOptions } from './schedule-client.js';
import { topicAdminKit } from './topic-admin.js';
import type { EnsureSchedulesTopicsResult, NewTopic, TopicAdmin, TopicAdminKit, VerifySchedulesTopicsSettings } from './topic-admin.js';

/** Which schedules topics the topic-admin functions handle, and how to create them (the kit's {@link VerifySchedulesTopicsSettings}). */
export type KafkaAdapterTopicsSettings = VerifySchedulesTopicsSettings;
/** One topic to create (the kit's {@link NewTopic}). */
export type KafkaAdapterNewTopic = NewTopic;
/** What `ensureSchedulesTopics` did (the kit's {@link EnsureSchedulesTopicsResult}). */
export type KafkaAdapterEnsureResult = EnsureSchedulesTopicsResult;

/**
 * An adapter package as a service uses it: the transport, the topic-admin functions
 * ({@link TopicAdminKit}: `ensureSchedulesTopics`, `verifySchedulesTopics`, `createTopic`,
 * `createTopicAdmin`) and the schedule client. `TransportOptions` are the adapter's transport
 * options, `ConnectionOptions` what its topic-admin functions take besides the topic settings.
 * Methods (not function properties) so that a service may view an adapter through its own option
 * types. Build one with {@link defineAdapter}.
 *
 * @example
 * ```ts
 * // In a service: `adapter` is the object an adapter package exports under that name.
 * const transport = adapter.createTransport({ brokers: ['127.0.0.1:19092'] });
 * ```
 */
export interface KafkaAdapter<
  TransportOptions = Record<string, unknown>,
  ConnectionOptions = Record<string, unknown>,
> extends TopicAdminKit<ConnectionOptions> {
  /** The adapter's short name (`kafkajs`, `rdkafka`). */
  readonly name: string;
  /**
   * A `Transport` (one group member with its producer), not connected yet.
   *
   * @throws ConfigError (`KSM_CONFIG`) naming each bad setting.
   */
  createTransport(options: TransportOptions): Transport;
  /**
   * A producer-side schedule client (see core's `createScheduleClient`) over a given `transport`
   * (which the client does not close), or over one made from `TransportOptions` (connected on
   * first use, closed by the client's `close()`).
   *
   * @throws ConfigError (`KSM_CONFIG`) for invalid transport options.
   *
   * @example
   * ```ts
   * const client = createScheduleClient({ brokers: ['127.0.0.1:19092'], schedulesTopic: 'scheduled_messages' });
   * await client.schedule({ message: { topic: 'orders', key: 'order-42', payload: 'remind' }, delayMs: 60_000 });
   * await client.close();
   * ```
   */
  createScheduleClient(options: AdapterScheduleClientOptions<TransportOptions>): ScheduleClient;
}

/**
 * What a driver states about itself; {@link defineAdapter} builds the rest of its `KafkaAdapter`.
 * `ConnectionOptions` are what `openTopicAdmin` is given: the options of a topic-admin function
 * without its topic settings, as the caller gave them (not validated yet).
 */
export interface AdapterDefinition<TransportOptions, ConnectionOptions> {
  /** The adapter's short name, as a service selects it (`kafkajs`, `rdkafka`). */
  readonly name: string;
  /** The client, as messages name it (`kafkajs`, `node-rdkafka`). */
  readonly clientName: string;
  /** The driver's transport: validates `options`, then `createTransport(driver)` of the kit. */
  createTransport(options: TransportOptions): Transport;
  /**
   * Opens the kit's {@link TopicAdmin} port over the client's admin API; validates the connection
   * settings first.
   *
   * @throws ConfigError for invalid settings; TransportError when the cluster cannot be reached.
   */
  openTopicAdmin(connection: ConnectionOptions): Promise<TopicAdmin>;
}

/**
 * The whole `KafkaAdapter` of a driver: its transport, the kit's topic-admin flow over its
 * {@link TopicAdmin} port ({@link topicAdminKit}) and the kit's schedule client over its transport
 * ({@link scheduleClientFactory}). Its functions are plain closures, so a package may export them
 * by destructuring.
 *
 * @example
 * ```ts
 * export const adapter = defineAdapter({
 *   name: 'my-client',
 *   clientName: 'my-client',
 *   createTransport: createMyTransport,
 *   openTopicAdmin: openMyTopicAdmin,
 * });
 * export const { createScheduleClient, ensureSchedulesTopics, verifySchedulesTopics, createTopic, createTopicAdmin } = adapter;
 * ```
 */
export function defineAdapter<TransportOptions, ConnectionOptions extends object>(
  definition: AdapterDefinition<TransportOptions, ConnectionOptions>,
): KafkaAdapter<TransportOptions, ConnectionOptions> {
  const createTransport = (options: TransportOptions): Transport => definition.createTransport(options);
  const { ensureSchedulesTopics, verifySchedulesTopics, createTopic, createTopicAdmin } = topicAdminKit<ConnectionOptions>({
    clientName: definition.clientName,
    // The kit hands over the caller's options without the topic settings: the driver's ConnectionOptions.
    open: (connection) => definition.openTopicAdmin(connection as ConnectionOptions),
  });
  return {
    name: definition.name,
    createTransport,
    ensureSchedulesTopics,
    verifySchedulesTopics,
    createTopic,
    createTopicAdmin,
    createScheduleClient: scheduleClientFactory(createTransport),
  };
}
