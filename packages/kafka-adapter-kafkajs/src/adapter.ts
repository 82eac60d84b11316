/**
 * This package as a `KafkaAdapter`: the kit's `defineAdapter` over the kafkajs transport and the
 * kafkajs topic-admin port. What a service loads to run on kafkajs; the package's
 * `createScheduleClient`, `ensureSchedulesTopics`, `verifySchedulesTopics`, `createTopic` and
 * `createTopicAdmin` are its functions.
 *
 * @module
 */
import { defineAdapter } from '@ksched/core/adapter';
import type * as kit from '@ksched/core/adapter';
import { openKafkaJsTopicAdmin } from './admin.js';
import type { KafkaJsAdminTarget } from './admin.js';
import { createKafkaJsTransport } from './kafkajs-transport.js';
import type { KafkaJsTransportOptions } from './options.js';

/** The kafkajs adapter. */
export const adapter: kit.KafkaAdapter<KafkaJsTransportOptions, KafkaJsAdminTarget> = defineAdapter({
  name: 'kafkajs',
  clientName: 'kafkajs',
  createTransport: createKafkaJsTransport,
  openTopicAdmin: openKafkaJsTopicAdmin,
});

/** Options of `createScheduleClient`: a `transport` (not closed by the client), or kafkajs transport options. */
export type ScheduleClientOptions = kit.AdapterScheduleClientOptions<KafkaJsTransportOptions>;
/** Options of `ensureSchedulesTopics`: where to connect (a kafkajs client, or connection options), and which topics. */
export type SchedulesTopicsOptions = kit.SchedulesTopicsOptions<KafkaJsAdminTarget>;
/** Options of `verifySchedulesTopics` (kafkajs reads topic configs: `checkConfigs` checks every §7.2 setting). */
export type VerifySchedulesTopicsOptions = kit.VerifySchedulesTopicsOptions<KafkaJsAdminTarget>;
