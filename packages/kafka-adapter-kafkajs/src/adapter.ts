/**
 * This package as a `KafkaAdapter`: what a service loads to run on kafkajs.
 *
 * @module
 */
import type { KafkaAdapter } from '@ksched/core/adapter';
import { createTopic, ensureSchedulesTopics, verifySchedulesTopics } from './admin.js';
import type { KafkaJsAdminTarget } from './admin.js';
import { createScheduleClient } from './client.js';
import { createKafkaJsTransport } from './kafkajs-transport.js';
import type { KafkaJsTransportOptions } from './options.js';

/** The kafkajs adapter. */
export const adapter: KafkaAdapter<KafkaJsTransportOptions, KafkaJsAdminTarget> = {
  name: 'kafkajs',
  createTransport: createKafkaJsTransport,
  ensureSchedulesTopics,
  verifySchedulesTopics,
  createTopic,
  createScheduleClient,
};
