/**
 * `@ksched/kafka-adapter-rdkafka`: the ksched `Transport` over node-rdkafka (librdkafka), topic
 * administration for the schedules and states topics, and a producer-side client (`schedule`,
 * `cancel`, `reschedule`) that partitions like every other ksched client.
 *
 * @packageDocumentation
 */

/** The adapter as a service loads it (`KafkaAdapter`): transport, topic admin and schedule client. */
export { adapter } from './adapter.js';
export { createRdKafkaTransport } from './rdkafka-transport.js';
export { createScheduleClient } from './client.js';
export type { ScheduleClientOptions } from './client.js';
export type { ClientScheduleInput, RescheduleInput, ScheduleClient, ScheduledRef, ScheduleTarget } from './client.js';
export {
  rdKafkaTransportOptionsSchema,
  rdKafkaConnectionOptionsSchema,
  sslOptionsSchema,
  saslOptionsSchema,
  parseRdKafkaTransportOptions,
  parseRdKafkaConnectionOptions,
} from './options.js';
export type {
  RdKafkaTransportOptions,
  ResolvedRdKafkaTransportOptions,
  RdKafkaConnectionOptions,
  ResolvedRdKafkaConnectionOptions,
} from './options.js';
export { toTransportError, isFencedError, isRetriableError, rdKafkaCode, rdKafkaCodeName, RdKafkaErrorCode } from './map-errors.js';
export type { RdKafkaErrorLike } from './map-errors.js';
export { fromRdKafkaMessage, fromRdKafkaHeaders, toRdKafkaHeaders, toRdKafkaBytes, sendableHeaderText } from './map-record.js';
export { ensureSchedulesTopics, verifySchedulesTopics, createTopic, createTopicAdmin, SCHEDULES_TOPIC_CONFIGS } from './admin.js';
export type { EnsureSchedulesTopicsResult, NewTopic, SchedulesTopicsSettings, TopicAdmin } from './admin.js';
export type { SchedulesTopicsOptions, VerifySchedulesTopicsOptions } from './admin.js';
