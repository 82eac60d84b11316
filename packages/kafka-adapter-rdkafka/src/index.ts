/**
 * `@ksched/kafka-adapter-rdkafka`: the ksched `Transport` over node-rdkafka (librdkafka), topic
 * administration for the schedules and states topics, and a producer-side client (`schedule`,
 * `cancel`, `reschedule`) that partitions like every other ksched client.
 *
 * @packageDocumentation
 */
import { adapter } from './adapter.js';

/** The adapter as a service loads it (`KafkaAdapter`): transport, topic admin and schedule client. */
export { adapter };
/**
 * The adapter's functions (see `KafkaAdapter` in `@ksched/core/adapter` for each). The admin client
 * of `createTopicAdmin` rejects `deleteRecords` and `describeTopicConfigs` with an
 * `UnsupportedError` (node-rdkafka 3.6 lacks both).
 */
export const { createScheduleClient, ensureSchedulesTopics, verifySchedulesTopics, createTopic, createTopicAdmin } = adapter;
export type { ScheduleClientOptions, SchedulesTopicsOptions, VerifySchedulesTopicsOptions } from './adapter.js';
/** What every adapter re-exports from core: the schedule client's and topic admin's types, `SCHEDULES_TOPIC_CONFIGS`. */
export * from '@ksched/core/adapter/reexports';
export { createRdKafkaTransport } from './rdkafka-transport.js';
/** The option schemas, parsers and types: all of options.ts (`@ksched/kafka-adapter-rdkafka/options` exports it alone, without the native binding). */
export * from './options.js';
export { toTransportError, isFencedError, isRetriableError, rdKafkaCode, rdKafkaCodeName, RdKafkaErrorCode } from './map-errors.js';
export type { RdKafkaErrorLike } from './map-errors.js';
export { fromRdKafkaMessage, fromRdKafkaHeaders, toRdKafkaHeaders, toRdKafkaBytes, sendableHeaderText } from './map-record.js';
