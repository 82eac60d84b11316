import { describeTopicAdminConformance } from '@ksched/testkit';
import { createTopic, createTopicAdmin, ensureSchedulesTopics, verifySchedulesTopics } from '../src/index.js';
import { brokers } from './helpers.js';

// node-rdkafka 3.6's AdminClient has neither DescribeConfigs nor DeleteRecords.
describeTopicAdminConformance('rdkafka', {
  brokers,
  readsConfigs: false,
  deletesRecords: false,
  namePrefix: 'ksched-rdk-admin',
  ensureSchedulesTopics,
  verifySchedulesTopics,
  createTopic,
  createTopicAdmin,
});
