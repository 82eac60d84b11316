import { describeTopicAdminConformance } from '@ksched/testkit';
import { Kafka, logLevel } from 'kafkajs';
import { createTopic, createTopicAdmin, ensureSchedulesTopics, verifySchedulesTopics } from '../src/index.js';
import { brokers } from './helpers.js';

describeTopicAdminConformance('kafkajs', {
  brokers,
  readsConfigs: true,
  deletesRecords: true,
  // The admin functions also take an existing kafkajs client.
  alternativeConnection: () => ({ kafka: new Kafka({ brokers, logLevel: logLevel.NOTHING }) }),
  namePrefix: 'ksched-kjs-admin',
  ensureSchedulesTopics,
  verifySchedulesTopics,
  createTopic,
  createTopicAdmin,
});
