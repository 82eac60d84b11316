/**
 * The `KafkaAdapter` interface: what a service loads from an adapter package. Each adapter exports
 * one `adapter` object of this type, so a service picks an adapter by name and uses it without
 * knowing its client.
 *
 * @module
 */
import type { ScheduleClient } from '../client/schedule-client.js';
import type { Transport } from '../ports/transport.js';
import type { AdapterScheduleClientOptions } from './schedule-client.js';

/** Which schedules topics the topic-admin functions handle, and how to create them. */
export interface KafkaAdapterTopicsSettings {
  /** Schedules topic names; each gets a `<name><statesPostfix>` states topic. */
  readonly topics: readonly string[];
  /** Partitions of a new topic; for `verifySchedulesTopics`, the expected count, if given. */
  readonly partitions?: number;
  readonly replicationFactor?: number;
  /** Suffix of the states topics. */
  readonly statesPostfix?: string;
  /** `verifySchedulesTopics`: also report settings other than `cleanup.policy` that differ. */
  readonly checkConfigs?: boolean;
}

/** One topic to create. */
export interface KafkaAdapterNewTopic {
  readonly topic: string;
  readonly partitions?: number;
  readonly replicationFactor?: number;
}

/** What `ensureSchedulesTopics` did. */
export interface KafkaAdapterEnsureResult {
  /** Topics it created. */
  readonly created: readonly string[];
  /** Topics that existed already. */
  readonly existing: readonly string[];
}

/**
 * An adapter package as a service uses it. `TransportOptions` are the adapter's transport options,
 * `ConnectionOptions` what its topic-admin functions take besides the topic settings. Methods (not
 * function properties) so that a service may view an adapter through its own option types.
 *
 * @example
 * ```ts
 * // In a service: `adapter` is the object an adapter package exports under that name.
 * const transport = adapter.createTransport({ brokers: ['127.0.0.1:19092'] });
 * ```
 */
export interface KafkaAdapter<TransportOptions = Record<string, unknown>, ConnectionOptions = Record<string, unknown>> {
  /** The adapter's short name (`kafkajs`, `rdkafka`). */
  readonly name: string;
  /** A `Transport` (one group member with its producer). */
  createTransport(options: TransportOptions): Transport;
  /** Creates the schedules topics and their states topics that do not exist yet. */
  ensureSchedulesTopics(options: ConnectionOptions & KafkaAdapterTopicsSettings): Promise<KafkaAdapterEnsureResult>;
  /** Problems found with the schedules topics (empty when they are fine). */
  verifySchedulesTopics(options: ConnectionOptions & KafkaAdapterTopicsSettings): Promise<string[]>;
  /** Creates one topic; false when it existed already. */
  createTopic(options: ConnectionOptions & KafkaAdapterNewTopic): Promise<boolean>;
  /** A producer-side schedule client over a given transport or one made from `TransportOptions`. */
  createScheduleClient(options: AdapterScheduleClientOptions<TransportOptions>): ScheduleClient;
}
