/**
 * `@ksched/core`: Kafka scheduled messages, the pure part. Envelope builders, the v1.0.0 wire
 * format, the domain (`Day`, `DailyBuffer`, `MaxEpoch`, `Tracker`, `State`), the per-partition
 * engine and the `Transport`, `Clock`, `Logger` and `DispatchTracer` ports it runs on. No Kafka client inside.
 *
 * @packageDocumentation
 */

export { systemClock, MAX_TIMER_DELAY_MS } from './ports/clock.js';
export type { Clock, TimerHandle } from './ports/clock.js';
export type {
  ConsumedRecord,
  GroupListener,
  HeaderValue,
  PartitionBatch,
  PartitionReader,
  ProduceRecord,
  RecordHeaders,
  RecordMetadata,
  SubscribeOptions,
  Subscription,
  TopicPartition,
  TopicPartitionOffset,
  TransactionalProducer,
  SendInTransactionOptions,
  TransactionalProducerOptions,
  ProduceOptions,
  Transport,
  Watermarks,
} from './ports/transport.js';
export { produceWithoutWaiting } from './ports/transport.js';
export { noopLogger } from './ports/logger.js';
export type { Logger } from './ports/logger.js';
export type { DispatchOutcome, DispatchSpan, DispatchStart, DispatchTracer } from './ports/tracer.js';

export {
  errorCodes,
  SchedulerError,
  InvalidArgumentError,
  ContractViolationError,
  SerializationError,
  IncompatibleSchemaError,
  ConfigError,
  TransportError,
  UnsupportedError,
  FencedError,
  StateError,
  RecordRefusedError,
} from './errors.js';
export type { ErrorCode, SchedulerErrorOptions, Violation } from './errors.js';

export {
  Header,
  SourceType,
  SCHEMA_VERSION,
  STATES_SCHEMA_VERSION,
  PAST_TOLERANCE_SECONDS,
  MAX_FUTURE_INTERVAL_SECONDS,
  EPOCH_MS_TOLERANCE_MS,
  TOPIC_NAME_PATTERN,
} from './contracts/headers.js';
export { schedule, cancel, checkMessageContract, scheduleMessageSchema, envelopeSchema } from './contracts/scheduled-message.js';
export type {
  BuildOptions,
  CancelInput,
  DueTime,
  EnvelopeInput,
  EnvelopeRecord,
  ScheduleInput,
  ScheduleMessage,
} from './contracts/scheduled-message.js';
export { schedulerOptionsSchema, parseSchedulerOptions } from './contracts/options.js';
export { parseDuration, requireDuration, formatDuration, parseTime } from './contracts/durations.js';
export type { ParsedTime } from './contracts/durations.js';
export type { SchedulerOptions, SchedulerOptionsInput } from './contracts/options.js';

export { murmur2, partitionForKey } from './wire/partitioner.js';
export { compareVersions, isCompatibleSchema, assertCompatibleSchema, isVersion } from './wire/schema-version.js';
export { decodeRecord, decodeDueTime, headerText, invalidReasons, dispatchPair, deadLetterPair } from './wire/codec/index.js';
export type { DeadLetterCause, DecodedRecord, DispatchPair, InvalidReason, TargetRouting } from './wire/codec/index.js';
export { encodeStates, decodeStates, statesJson, statesRecord, statesTopic } from './wire/states.js';
export type { StatesReport } from './wire/states.js';

export {
  ScheduleAdmin,
  createScheduleAdmin,
  adminRecord,
  statusOf,
  messageOf,
  MAX_PAGE_SIZE,
  READER_IDLE_MS,
} from './admin/schedule-admin.js';
export type {
  AdminActionResult,
  AdminRecord,
  AdminRecordType,
  FindOptions,
  FoundSchedule,
  OffsetGap,
  PageOptions,
  PartitionStates,
  PartitionSummary,
  RecordPage,
  ScheduleAdminOptions,
  ScheduleStatus,
  TopicSummary,
} from './admin/schedule-admin.js';

export { Day, DAY_MS, utcDateString } from './domain/day.js';
export { DailyBuffer } from './domain/daily-buffer.js';
export type { BufferEntry } from './domain/daily-buffer.js';
export { MaxEpoch, MAX_EPOCH_GRACE_SECONDS } from './domain/max-epoch.js';
export { State, stateNames } from './domain/state.js';
export type { StateName } from './domain/state.js';
export { Tracker } from './domain/tracker.js';
export type { TrackerSnapshot } from './domain/tracker.js';

export { Scheduler } from './engine/scheduler.js';
export type { SchedulerInit, SchedulerReadiness } from './engine/scheduler.js';
export { PartitionEngine } from './engine/partition-engine.js';
export type { PartitionEngineOptions, PartitionStatus } from './engine/partition-engine.js';
export { SchedulerEvents } from './engine/events.js';
export type {
  DispatchedEvent,
  ErrorEvent,
  FlushEvent,
  HorizonEvent,
  InvalidEvent,
  LoadedEvent,
  RefillEvent,
  ReloadEvent,
  SchedulerEventMap,
  SchedulerListener,
  SkippedEvent,
  StateEvent,
  UndeliverableEvent,
  UndeliverableReason,
} from './engine/events.js';

export { createScheduleClient } from './client/schedule-client.js';
export type {
  ClientScheduleInput,
  RescheduleInput,
  ScheduleClient,
  ScheduleClientOptions,
  ScheduledRef,
  ScheduleTarget,
} from './client/schedule-client.js';
export {
  SCHEDULES_TOPIC_CONFIGS,
  DEFAULT_SCHEDULES_PARTITIONS,
  DEAD_LETTER_TOPIC_CONFIGS,
  DEAD_LETTER_TOPIC_PARTITIONS,
  planSchedulesTopics,
  schedulesTopicsProblems,
} from './contracts/topics.js';
export type { PlannedTopic, SchedulesTopicsSpec } from './contracts/topics.js';
