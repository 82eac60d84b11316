/**
 * The schedules and states topics: their Kafka settings (reference §7.2) and the pure part of
 * creating and verifying them, shared by every adapter's topic administration.
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

/** Which schedules topics to create or verify. */
export interface SchedulesTopicsSpec {
  /** Schedules topic names; each has a `<name><statesPostfix>` states topic. */
  readonly topics: readonly string[];
  /** Partitions of a new topic; when verifying, the expected count, if given. */
  readonly partitions?: number | undefined;
  /** Default `_states`. */
  readonly statesPostfix?: string | undefined;
}

/** A topic to create. */
export interface PlannedTopic {
  readonly topic: string;
  readonly partitions: number;
  readonly configs: Readonly<Record<string, string>>;
}

/**
 * What to create so that every schedules topic and its states topic exist. A missing topic of a
 * pair gets the partition count of the one that exists (both must be equal), else `partitions`,
 * else 5.
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
  return { create, existing: [...present] };
}

/**
 * Every problem with the schedules topics and their states topics, as sentences (empty when all
 * is well): a missing topic; partition counts that differ between a schedules topic and its
 * states topic, or from `spec.partitions` when given; and, for each config the caller could read,
 * a `cleanup.policy` without `compact` or another §7.2 setting that differs.
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
  return problems;
}
