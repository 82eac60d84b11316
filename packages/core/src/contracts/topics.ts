/**
 * The schedules and states topics (their Kafka settings, reference §7.2) and the optional
 * dead-letter topic: the pure part of creating and verifying them (the topic plan), shared by
 * every adapter's topic administration.
 *
 * @module
 */
import { statesTopic } from '../wire/states.js';

/**
 * Topic settings of a schedules topic and of its states topic, as Kafka topic configs. Both are
 * compacted; frequent segment rolls let compaction act, and tombstones live one hour.
 */
export const SCHEDULES_TOPIC_CONFIGS: Readonly<Record<string, string>> = Object.freeze({
  'cleanup.policy': 'compact',
  'min.cleanable.dirty.ratio': '0.1',
  'segment.ms': '3600000',
  'delete.retention.ms': '3600000',
  'segment.bytes': '52428800',
});

/** Default partition count of a new schedules (and states) topic. */
export const DEFAULT_SCHEDULES_PARTITIONS = 5;

/**
 * Topic settings of a dead-letter topic: a log of failures, not a table of current values, so
 * `delete` (never `compact`: compaction would keep only the last failure of a key, and Kafka
 * refuses keyless records on a compacted topic) and a retention of 7 days, long enough for a
 * failure seen on a Friday to still be there on Monday, and the same as Kafka's own default
 * retention, set here so that a broker with a shorter default does not lose failures early.
 */
export const DEAD_LETTER_TOPIC_CONFIGS: Readonly<Record<string, string>> = Object.freeze({
  'cleanup.policy': 'delete',
  'retention.ms': '604800000',
});

/**
 * Partition count of a new dead-letter topic: 1. Records go to it by key, never to a chosen
 * partition, so any count works; failures are few, and one partition keeps them in the order they
 * happened. An existing dead-letter topic's partition count is never checked.
 */
export const DEAD_LETTER_TOPIC_PARTITIONS = 1;

/** Which schedules topics (and dead-letter topic) to create or verify. */
export interface SchedulesTopicsSpec {
  /** Schedules topic names; each has a `<name><statesPostfix>` states topic. */
  readonly topics: readonly string[];
  /** Partitions of a new schedules or states topic; when verifying, their expected count, if given. */
  readonly partitions?: number | undefined;
  /** Default `_states`. */
  readonly statesPostfix?: string | undefined;
  /**
   * The scheduler's dead-letter topic, if one is configured: created with
   * {@link DEAD_LETTER_TOPIC_CONFIGS} and {@link DEAD_LETTER_TOPIC_PARTITIONS}, and checked for
   * existence and a cleanup policy without `compact`.
   */
  readonly deadLetterTopic?: string | undefined;
}

/** A topic to create. */
export interface PlannedTopic {
  readonly topic: string;
  readonly partitions: number;
  readonly configs: Readonly<Record<string, string>>;
}

/**
 * What to create so that every schedules topic and its states topic, and the dead-letter topic
 * when one is given, exist. A missing topic of a pair gets the partition count of the one that
 * exists (both must be equal), else `partitions`, else 5; a missing dead-letter topic gets
 * {@link DEAD_LETTER_TOPIC_PARTITIONS} and {@link DEAD_LETTER_TOPIC_CONFIGS}. A dead-letter topic
 * that is also a schedules or states topic is planned as that topic only (the problems say why
 * that is wrong).
 *
 * @param existing - partition counts of the topics that exist now.
 */
export function planSchedulesTopics(
  spec: SchedulesTopicsSpec,
  existing: ReadonlyMap<string, number>,
): { readonly create: PlannedTopic[]; readonly existing: string[] } {
  const create: PlannedTopic[] = [];
  const present = new Set<string>();
  for (const schedules of spec.topics) {
    const pair = [schedules, statesTopic(schedules, spec.statesPostfix ?? '_states')];
    const known = pair.map((t) => existing.get(t)).find((n) => n !== undefined);
    for (const topic of pair) {
      if (existing.has(topic)) present.add(topic);
      else if (!create.some((c) => c.topic === topic)) {
        create.push({ topic, partitions: known ?? spec.partitions ?? DEFAULT_SCHEDULES_PARTITIONS, configs: SCHEDULES_TOPIC_CONFIGS });
      }
    }
  }
  const dlq = spec.deadLetterTopic;
  if (dlq !== undefined && !pairsOf(spec).includes(dlq)) {
    if (existing.has(dlq)) present.add(dlq);
    else create.push({ topic: dlq, partitions: DEAD_LETTER_TOPIC_PARTITIONS, configs: DEAD_LETTER_TOPIC_CONFIGS });
  }
  return { create, existing: [...present] };
}

/** The schedules topics of `spec` and their states topics. */
function pairsOf(spec: SchedulesTopicsSpec): string[] {
  return spec.topics.flatMap((t) => [t, statesTopic(t, spec.statesPostfix ?? '_states')]);
}

/**
 * Every problem with the schedules topics and their states topics, and with the dead-letter topic
 * when one is given, as sentences (empty when all is well): a missing topic; partition counts that
 * differ between a schedules topic and its states topic, or from `spec.partitions` when given;
 * for each config the caller could read, a `cleanup.policy` without `compact` or another §7.2
 * setting that differs; a dead-letter topic whose `cleanup.policy` includes `compact`, or that is
 * also a schedules or states topic. The dead-letter topic's partition count and retention are
 * not checked: any count works, and its retention is yours to choose.
 *
 * @param partitions - partition counts of the topics that exist.
 * @param configs - topic configs the client could read (name → value, `null` when unknown); omit
 *   when the client cannot read configs. Only the names present are checked.
 */
export function schedulesTopicsProblems(
  spec: SchedulesTopicsSpec,
  partitions: ReadonlyMap<string, number>,
  configs?: ReadonlyMap<string, ReadonlyMap<string, string | null>>,
): string[] {
  const problems: string[] = [];
  for (const schedules of spec.topics) {
    const states = statesTopic(schedules, spec.statesPostfix ?? '_states');
    for (const [topic, role] of [
      [schedules, 'schedules topic'],
      [states, `states topic of ${schedules}`],
    ] as const) {
      const count = partitions.get(topic);
      if (count === undefined) {
        problems.push(`${role} "${topic}" does not exist`);
        continue;
      }
      if (spec.partitions !== undefined && count !== spec.partitions) {
        problems.push(`${role} "${topic}" has ${count} partitions, expected ${spec.partitions}`);
      }
      for (const [name, actual] of configs?.get(topic) ?? []) {
        const expected = SCHEDULES_TOPIC_CONFIGS[name];
        if (expected === undefined) continue;
        if (name === 'cleanup.policy') {
          const policies = (actual ?? '').split(',').map((p) => p.trim());
          if (!policies.includes('compact'))
            problems.push(`${role} "${topic}" has cleanup.policy=${actual ?? '(unknown)'}, expected compact`);
        } else if (actual !== expected) {
          problems.push(`${role} "${topic}" has ${name}=${actual ?? '(unknown)'}, expected ${expected}`);
        }
      }
    }
    const a = partitions.get(schedules);
    const b = partitions.get(states);
    if (a !== undefined && b !== undefined && a !== b) {
      problems.push(`schedules topic "${schedules}" has ${a} partitions but its states topic "${states}" has ${b}; they must be equal`);
    }
  }
  const dlq = spec.deadLetterTopic;
  if (dlq !== undefined) {
    if (pairsOf(spec).includes(dlq)) {
      problems.push(
        `dead-letter topic "${dlq}" is also a ${spec.topics.includes(dlq) ? 'schedules' : 'states'} topic; it needs a topic of its own`,
      );
    } else if (!partitions.has(dlq)) {
      problems.push(`dead-letter topic "${dlq}" does not exist`);
    } else {
      const policy = configs?.get(dlq)?.get('cleanup.policy');
      if (policy !== undefined) {
        const policies = (policy ?? '').split(',').map((p) => p.trim());
        if (policies.includes('compact') || !policies.includes('delete'))
          problems.push(`dead-letter topic "${dlq}" has cleanup.policy=${policy ?? '(unknown)'}, expected delete`);
      }
    }
  }
  return problems;
}
