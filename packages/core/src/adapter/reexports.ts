/**
 * `@ksched/core/adapter/reexports`: what every adapter package re-exports from core, listed once.
 * An adapter's entry point re-exports all of this module (`export *`), so a user imports the
 * schedule client's input types, the topic-admin types and the §7.2 topic configs from the adapter
 * package alone, and a type added here reaches every adapter.
 *
 * `TopicAdmin` is, for an adapter's user, the long-lived admin client its `createTopicAdmin` opens
 * (the kit's `TopicAdminClient`), not the kit's port of that name.
 *
 * @packageDocumentation
 */

/** The §7.2 topic configs of schedules and states topics, and those of a new dead-letter topic. */
export { SCHEDULES_TOPIC_CONFIGS, DEAD_LETTER_TOPIC_CONFIGS } from '../contracts/topics.js';
export type { ClientScheduleInput, RescheduleInput, ScheduleClient, ScheduledRef, ScheduleTarget } from '../client/schedule-client.js';
export type { EnsureSchedulesTopicsResult, NewTopic, SchedulesTopicsSettings, TopicAdminClient as TopicAdmin } from './topic-admin.js';
