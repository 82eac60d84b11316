/**
 * Topic administration over kafkajs: kafkajs' admin calls as the kit's {@link TopicAdmin} port;
 * the flow over it (creating and checking the schedules topics and their states topics with the
 * reference settings, reference §7.2) is the kit's, wired in by `defineAdapter` (see adapter.ts).
 * kafkajs reads topic configs and deletes records, so `verifySchedulesTopics` also checks
 * `cleanup.policy` (and with `checkConfigs` every §7.2 setting) and the admin client of
 * `createTopicAdmin` has every capability.
 *
 * @module
 */
import { parseOptions } from '@ksched/core/adapter';
import type { ResolvedNewTopic, TopicAdmin } from '@ksched/core/adapter';
// The adapter's own kafkajs copy, with the corrected read-committed filter (internal/kafkajs.ts).
import { kafkajs } from './internal/kafkajs.js';
import type { Admin, Kafka } from 'kafkajs';
import { createKafka } from './internal/kafka.js';
import { rethrowAs } from './map-errors.js';
import { kafkaJsConnectionOptionsSchema } from './options.js';
import type { KafkaJsConnectionOptions } from './options.js';

const { ConfigResourceTypes } = kafkajs;

/** Where the admin connects: an existing kafkajs client, or connection options. */
export type KafkaJsAdminTarget = { readonly kafka: Kafka } | KafkaJsConnectionOptions;

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
export async function openKafkaJsTopicAdmin(target: KafkaJsAdminTarget): Promise<TopicAdmin> {
  const given: Kafka | undefined = 'kafka' in target ? target.kafka : undefined;
  const kafka = given ?? createKafka(parseOptions(kafkaJsConnectionOptionsSchema, target));
  const admin = kafka.admin();
  await admin.connect().catch(rethrowAs('connecting the admin client'));
  return kafkaJsTopicAdmin(admin);
}
