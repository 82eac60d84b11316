/**
 * Topic administration over kafkajs: the kit's topic-admin flow (`@ksched/core/adapter`) with
 * kafkajs' admin calls as its {@link TopicAdmin} port. Creates and checks the schedules topics and
 * their states topics with the reference settings (reference §7.2); not part of the `Transport`
 * port: the engine never creates topics. kafkajs reads topic configs and deletes records, so
 * `verifySchedulesTopics` also checks `cleanup.policy` (and with `checkConfigs` every §7.2 setting).
 *
 * @module
 */
import { SCHEDULES_TOPIC_CONFIGS } from '@ksched/core';
import { parseOptions, topicAdminKit } from '@ksched/core/adapter';
import type * as kit from '@ksched/core/adapter';
import type { ResolvedNewTopic, TopicAdmin } from '@ksched/core/adapter';
// kafkajs is CommonJS and Node cannot detect all of its named exports: take them off the default.
import kafkajs from 'kafkajs';
import type { Admin, Kafka } from 'kafkajs';
import { createKafka } from './internal/kafka.js';
import { rethrowAs } from './map-errors.js';
import { kafkaJsConnectionOptionsSchema } from './options.js';
import type { KafkaJsConnectionOptions } from './options.js';

const { ConfigResourceTypes } = kafkajs;

/** Re-exported from core: the §7.2 topic configs of schedules and states topics. */
export { SCHEDULES_TOPIC_CONFIGS };
export type { EnsureSchedulesTopicsResult, NewTopic, SchedulesTopicsSettings } from '@ksched/core/adapter';

/** Where the admin connects: an existing kafkajs client, or connection options. */
export type KafkaJsAdminTarget = { readonly kafka: Kafka } | KafkaJsConnectionOptions;
/** Options of {@link ensureSchedulesTopics}. */
export type SchedulesTopicsOptions = kit.SchedulesTopicsOptions<KafkaJsAdminTarget>;
/** Options of {@link verifySchedulesTopics}. */
export type VerifySchedulesTopicsOptions = kit.VerifySchedulesTopicsOptions<KafkaJsAdminTarget>;
/** The long-lived admin client {@link createTopicAdmin} opens (kafkajs has every capability). */
export type { TopicAdminClient as TopicAdmin } from '@ksched/core/adapter';

function toCreateTopic(t: ResolvedNewTopic) {
  const configEntries = Object.entries(t.configs).map(([name, value]) => ({ name, value }));
  return { topic: t.topic, numPartitions: t.partitions, replicationFactor: t.replicationFactor, configEntries };
}

/** The kit's {@link TopicAdmin} port over a connected kafkajs admin client. */
function kafkaJsTopicAdmin(admin: Admin): TopicAdmin {
  return {
    listTopics: () => admin.listTopics().catch(rethrowAs('listing topics')),
    partitionCounts: async (topics) => {
      const { topics: meta } = await admin
        .fetchTopicMetadata({ topics: [...topics] })
        .catch(rethrowAs(`fetching the metadata of ${topics.join(', ')}`));
      return new Map(meta.map((t) => [t.name, t.partitions.length]));
    },
    describeTopicConfigs: async (topics, names) => {
      const configNames = names !== undefined ? { configNames: [...names] } : {};
      const response = await admin
        .describeConfigs({
          includeSynonyms: false,
          resources: topics.map((name) => ({ type: ConfigResourceTypes.TOPIC, name, ...configNames })),
        })
        .catch(rethrowAs(`describing the configs of ${topics.join(', ')}`));
      return new Map(
        response.resources.map((r) => [
          r.resourceName,
          new Map(r.configEntries.map((e) => [e.configName, e.configValue as string | null])),
        ]),
      );
    },
    createTopic: (t) =>
      admin.createTopics({ topics: [toCreateTopic(t)], waitForLeaders: true }).catch(rethrowAs(`creating topic ${t.topic}`)),
    deleteTopics: (topics) => admin.deleteTopics({ topics: [...topics] }).catch(rethrowAs(`deleting ${topics.join(', ')}`)),
    deleteRecords: async (tp, beforeOffset) => {
      // kafkajs looks the leader up in cached metadata only: load the topic's metadata first.
      await admin.fetchTopicMetadata({ topics: [tp.topic] }).catch(rethrowAs(`fetching the metadata of ${tp.topic}`));
      await admin
        .deleteTopicRecords({ topic: tp.topic, partitions: [{ partition: tp.partition, offset: String(beforeOffset) }] })
        .catch(rethrowAs(`deleting the records of ${tp.topic}/${tp.partition} below ${beforeOffset}`));
    },
    close: () => admin.disconnect().catch(() => {}),
  };
}

/** Opens the port: on the given kafkajs client, or on one made from the connection options. */
async function openKafkaJsTopicAdmin(connection: Readonly<Record<string, unknown>>): Promise<TopicAdmin> {
  const given = connection['kafka'] as Kafka | undefined;
  const kafka = given ?? createKafka(parseOptions(kafkaJsConnectionOptionsSchema, connection));
  const admin = kafka.admin();
  await admin.connect().catch(rethrowAs('connecting the admin client'));
  return kafkaJsTopicAdmin(admin);
}

export const { ensureSchedulesTopics, verifySchedulesTopics, createTopic, createTopicAdmin } = topicAdminKit<KafkaJsAdminTarget>({
  clientName: 'kafkajs',
  open: openKafkaJsTopicAdmin,
});
