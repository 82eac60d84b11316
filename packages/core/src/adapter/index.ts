/**
 * `@ksched/core/adapter`: the adapter kit. What every Kafka adapter shares lives here once (the
 * Transport shell with its lifecycle and listener delivery rules, the schedule client, the
 * topic-admin flow over a small `TopicAdmin` port, the connection settings schema and the
 * `KafkaAdapter` interface the service loads); an adapter is a thin driver over its client.
 *
 * @packageDocumentation
 */

export { createTransport, existingPartitionCount, serialQueue, TransportDriverBase, TransportShell } from './transport-shell.js';
export type {
  GroupMemberHandle,
  MemberContext,
  ReaderContext,
  SerialQueue,
  Tracker,
  TransactionalContext,
  TransportDriver,
  TransportShellOptions,
} from './transport-shell.js';
export { GroupMemberBase } from './group-member.js';
export type { GroupMemberBaseOptions } from './group-member.js';
export { PartitionReaderBase } from './partition-reader.js';
export { consumedHeaderValue, plainBytes, sameHeaderValue, withRepeatedHeaders } from './records.js';
export { ListenerDelivery, plainTp, RETRY_BACKOFF_MAX_MS, tpKey } from './listener-delivery.js';
export type { Delivery, DeliveryHooks, HeldPartition, ListenerDeliveryOptions, PartitionPhase } from './listener-delivery.js';
export { TransactionalProducerBase, TransactionalStatus, waitUntilReadable } from './transactions.js';
export type { TransactionalProducerBaseOptions, TransactionalStatusName, WaitUntilReadableOptions } from './transactions.js';
export { createErrorMapper, isErrorLike, someCause } from './errors.js';
export type { ErrorDialect, ErrorLike, ErrorMapper } from './errors.js';
export { scheduleClientFactory } from './schedule-client.js';
export type { AdapterScheduleClientOptions, ScheduleClientSettings } from './schedule-client.js';
export { defineAdapter } from './kafka-adapter.js';
export type {
  AdapterDefinition,
  KafkaAdapter,
  KafkaAdapterEnsureResult,
  KafkaAdapterNewTopic,
  KafkaAdapterTopicsSettings,
} from './kafka-adapter.js';

// Connection settings (H2's connection.ts).
export {
  adapterOptionSchemas,
  CLIENT_LOG_LEVELS,
  SASL_MECHANISMS,
  brokersSchema,
  connectionOptionsSchema,
  integerAtLeast,
  isPlainObject,
  loggerSchema,
  optionsParser,
  optionViolations,
  parseConnectionOptions,
  parseOptions,
  saslOptionsSchema,
  schemaDefault,
  schemaDescription,
  tlsOptionsSchema,
  transportSettingsShape,
  unknownSettings,
} from './connection.js';
export type { AdapterOptionSchemas, ConnectionOptions, ResolvedConnectionOptions, SaslOptions, TlsOptions } from './connection.js';
// Topic administration (H2's topic-admin.ts).
export { newTopicSchema, schedulesTopicsSettingsSchema, splitTopicAdminOptions, topicAdminClient, topicAdminKit } from './topic-admin.js';
export type {
  EnsureSchedulesTopicsResult,
  NewTopic,
  ResolvedNewTopic,
  SchedulesTopicsOptions,
  SchedulesTopicsSettings,
  TopicAdmin,
  TopicAdminClient,
  TopicAdminDriver,
  TopicAdminKit,
  VerifySchedulesTopicsOptions,
  VerifySchedulesTopicsSettings,
} from './topic-admin.js';
