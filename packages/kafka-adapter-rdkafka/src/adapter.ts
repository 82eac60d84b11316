/**
 * This package as a `KafkaAdapter`: what a service loads to run on node-rdkafka.
 *
 * @module
 */
import type { KafkaAdapter } from '@ksched/core/adapter';
import { createTopic, ensureSchedulesTopics, verifySchedulesTopics } from './admin.js';
import { createScheduleClient } from './client.js';
import type { RdKafkaConnectionOptions, RdKafkaTransportOptions } from './options.js';
import { createRdKafkaTransport } from './rdkafka-transport.js';

/** The node-rdkafka adapter. */
export const adapter: KafkaAdapter<RdKafkaTransportOptions, RdKafkaConnectionOptions> = {
  name: 'rdkafka',
  createTransport: createRdKafkaTransport,
  ensureSchedulesTopics,
  verifySchedulesTopics,
  createTopic,
  createScheduleClient,
};
