/**
 * The node-rdkafka module (CommonJS, with its native addon), loaded once.
 *
 * @module
 */
import rdkafkaModule from 'node-rdkafka';

/** node-rdkafka's exports: `Producer`, `KafkaConsumer`, `AdminClient`, `librdkafkaVersion`, … */
export const rdkafka = rdkafkaModule;
