/**
 * This package as a `KafkaAdapter`: the kit's `defineAdapter` over the node-rdkafka transport and
 * the node-rdkafka topic-admin port. What a service loads to run on node-rdkafka; the package's
 * `createScheduleClient`, `ensureSchedulesTopics`, `verifySchedulesTopics`, `createTopic` and
 * `createTopicAdmin` are its functions.
 *
 * @module
 */
import { defineAdapter } from '@ksched/core/adapter';
import type * as kit from '@ksched/core/adapter';
import { openRdKafkaTopicAdmin } from './admin.js';
import type { RdKafkaConnectionOptions, RdKafkaTransportOptions } from './options.js';
import { createRdKafkaTransport } from './rdkafka-transport.js';

/** The node-rdkafka adapter. */
export const adapter: kit.KafkaAdapter<RdKafkaTransportOptions, RdKafkaConnectionOptions> = defineAdapter({
  name: 'rdkafka',
  clientName: 'node-rdkafka',
  createTransport: createRdKafkaTransport,
  openTopicAdmin: openRdKafkaTopicAdmin,
});

/** Options of `createScheduleClient`: a `transport` (not closed by the client), or node-rdkafka transport options. */
export type ScheduleClientOptions = kit.AdapterScheduleClientOptions<RdKafkaTransportOptions>;
/** Options of `ensureSchedulesTopics`: where to connect, and which topics. */
export type SchedulesTopicsOptions = kit.SchedulesTopicsOptions<RdKafkaConnectionOptions>;
/** Options of `verifySchedulesTopics` (`checkConfigs: true` rejects: node-rdkafka cannot read topic configs). */
export type VerifySchedulesTopicsOptions = kit.VerifySchedulesTopicsOptions<RdKafkaConnectionOptions>;
