import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { TOPIC_NAME_PATTERN } from './headers.js';
import { toViolations } from './zod-issues.js';

const kafkaName = (what: string) =>
  z
    .string({ error: `needs to be a string with a Kafka accepted format (${what})` })
    .regex(TOPIC_NAME_PATTERN, 'needs to be a string with a Kafka accepted format (^[A-Za-z0-9._-]+$)')
    .max(249, 'needs to be at most 249 characters');

const int = (rule: string) => z.number({ error: `needs to be an integer ${rule}` }).int(`needs to be an integer ${rule}`);

/**
 * Scheduler settings: the reference's `config.scheduled_messages.*` in camelCase, plus ksched's
 * own. Units are in the names; each setting has a one-line `.describe()` text (the service shows it
 * in its help). Parse with {@link parseSchedulerOptions} to get defaults filled in
 * and a {@link ConfigError} naming each bad setting.
 */
export const schedulerOptionsSchema = z.strictObject(
  {
    /** Schedules topics to consume (each with its `<topic><statesPostfix>` states topic). */
    topics: z
      .array(kafkaName('topic name'), { error: 'needs to be a list of topic names' })
      .min(1, 'needs at least one schedules topic')
      .describe('schedules topics to consume, each with its states topic'),
    /** Consumer group of the scheduler (isolates one application's schedulers from another's). */
    groupId: kafkaName('group id').default('ksched_scheduled_messages').describe('consumer group of the schedulers (one per application)'),
    /**
     * Idle safety tick and states-report cadence on idle partitions, ms (reference `interval`,
     * ≥ 1000). Dispatch itself is timer-driven to the millisecond, not tied to this tick.
     */
    intervalMs: int('bigger or equal to 1000')
      .min(1000, 'needs to be an integer bigger or equal to 1000')
      .default(15_000)
      .describe('idle safety tick and states-report cadence (dispatch itself is timer-driven)'),
    /** Most records per synchronous produce batch (and per transaction); rounded down to whole target+tombstone pairs, at least one pair. */
    flushBatchSize: int('bigger than 0')
      .min(1, 'needs to be an integer bigger than 0')
      .default(1000)
      .describe('most records per dispatch batch (targets + tombstones)'),
    /** Postfix of the states topic name. */
    statesPostfix: kafkaName('topic postfix').default('_states').describe('states topic = schedules topic + this postfix'),
    /** Least time between two throttled states reports of a partition, ms (reference `internal.tick_interval`). */
    statesReportIntervalMs: int('bigger or equal to 1000')
      .min(1000, 'needs to be an integer bigger or equal to 1000')
      .default(5000)
      .describe('least time between two throttled states reports'),
    /**
     * Deprecated, ignored: a partition is loaded only when its position reaches the end offset
     * taken when the read started (the reference's 15 s CreateTime heuristic could end a load
     * early when producers' clocks ran ahead). Still accepted so existing settings keep parsing.
     */
    loadedGraceMs: int('bigger or equal to 0')
      .min(0, 'needs to be an integer bigger or equal to 0')
      .default(15_000)
      .describe('deprecated and ignored: a partition is loaded only when it reaches the end offset taken when its read started'),
    /**
     * How far ahead each partition holds schedules in memory, ms: those due before `now +
     * bufferHorizonMs` are buffered; later ones stay in Kafka and a background read of the
     * partition brings them in once half of the window has passed. Longer means fewer background
     * reads, shorter means less memory. Default 1 h: 1/24 of a day's schedules held, and one full
     * read of each partition every 30 min.
     */
    bufferHorizonMs: int('bigger or equal to 10000')
      .min(10_000, 'needs to be an integer bigger or equal to 10000')
      .default(3_600_000)
      .describe('hold the schedules due within this much time in memory; background reads bring in the rest as time moves'),
    /**
     * Memory ceiling of one partition's buffer, estimated bytes. When it is reached the partition's
     * horizon shrinks (the latest-due schedules leave memory and come back with a later background
     * read); a schedule is never dropped, and schedules due within the next minute are never
     * evicted, even above the ceiling. Default 256 MiB (about 500,000 schedules of 400 B).
     */
    bufferMaxBytes: int('bigger or equal to 65536')
      .min(65_536, 'needs to be an integer bigger or equal to 65536')
      .default(268_435_456)
      .describe("memory ceiling of one partition's buffer: reaching it shortens the horizon, never drops a schedule"),
    /**
     * A partition revoked from this member and assigned back to it within this time, ms, resumes
     * from where it stopped (its buffer kept) instead of re-reading from the beginning; 0 turns
     * it off. At most 15 min, well below the schedules topic's `delete.retention.ms` (1 h), so
     * no tombstone written meanwhile can have been compacted away. Default 60 s.
     */
    rebalanceRetainMs: int('between 0 and 900000')
      .min(0, 'needs to be an integer between 0 and 900000')
      .max(900_000, 'needs to be an integer between 0 and 900000')
      .default(60_000)
      .describe('a partition given back within this time resumes from its position instead of re-reading (0: off)'),
    /** Dispatch each batch (targets + tombstones) in one Kafka transaction: exactly-once. */
    transactional: z
      .boolean({ error: 'needs to be a boolean' })
      .default(false)
      .describe('dispatch target + tombstone in one Kafka transaction (exactly-once)'),
    /**
     * How a partition's transactions are fenced against a previous owner (transactional mode only):
     * `partition` (default): one transactional producer per partition, id
     * `<prefix>-<topic>-<partition>`, which a new owner initialises before it loads; `group`: one
     * producer per member, id `<prefix>-member-<uuid>`, whose transactions also commit the
     * partition's position with the consumer's group metadata (Kafka's exactly-once v2, KIP-447;
     * brokers 2.5+, adapters with `groupFencedTransactions`: node-rdkafka). `group` needs far fewer
     * connections and threads with many partitions; after a member crashes, its partitions wait
     * up to the adapter's transaction timeout for its open transaction instead of being fenced at once.
     */
    transactionalFencing: z
      .enum(['partition', 'group'], { error: "needs to be 'partition' or 'group'" })
      .default('partition')
      .describe("how transactions are fenced: 'partition' (a producer per partition) or 'group' (one per member, KIP-447)"),
    /**
     * With `transactionalFencing: 'group'`: the member part of its transactional id
     * `<prefix>-member-<id>` (default: a new UUID at each start). Give each instance a stable one of
     * its own (the service uses its group instance id): a restarted instance then aborts its
     * predecessor's open transaction at once instead of waiting for the transaction timeout. Two
     * running members must never share one (each would fence the other's producer).
     */
    transactionalMemberId: kafkaName('transactional member id')
      .optional()
      .describe("the stable member part of the transactional id with transactionalFencing 'group' (default: a new UUID per start)"),
    /** Prefix of the per-partition transactional ids `<prefix>-<topic>-<partition>`; defaults to `groupId`. */
    transactionalIdPrefix: kafkaName('transactional id prefix').optional().describe('prefix of the per-partition transactional ids'),
    /**
     * Copy invalid records here (with `ksched_invalid_reason` and source headers) besides counting
     * and logging them, and undeliverable schedules (with `ksched_undeliverable_reason`; see
     * `undeliverableAttempts`), which are then tombstoned.
     */
    deadLetterTopic: kafkaName('topic name').optional().describe('copy invalid records and undeliverable schedules here'),
    /** Commit the last read offset when loaded (informational: lag in monitoring, never used to recover). */
    commitOffsets: z
      .boolean({ error: 'needs to be a boolean' })
      .default(true)
      .describe('commit the read position (informational: consumer lag in monitoring)'),
    /**
     * A schedule whose produce failed on its own this many times (while other schedules of its
     * partition went out) and that is at least `undeliverableAfterMs` past due is undeliverable:
     * dead-lettered and tombstoned when `deadLetterTopic` is set, otherwise kept and retried every
     * 5 min (an `undeliverable` event either way). A record the client refuses outright is
     * undeliverable at once. Default 5.
     */
    undeliverableAttempts: int('bigger than 0')
      .min(1, 'needs to be an integer bigger than 0')
      .default(5)
      .describe('failed attempts on its own after which a schedule is undeliverable (dead-lettered)'),
    /** See `undeliverableAttempts`: the schedule must also be this late, ms. Default 5 min. */
    undeliverableAfterMs: int('bigger or equal to 0')
      .min(0, 'needs to be an integer bigger or equal to 0')
      .default(300_000)
      .describe('how late a failing schedule must also be before it is undeliverable'),
    /** Wait before retrying a failed flush, ms; doubles per consecutive failure up to 4 s. */
    retryBackoffMs: int('bigger than 0')
      .min(1, 'needs to be an integer bigger than 0')
      .default(500)
      .describe('first wait before retrying a failed flush (doubles up to 4s)'),
  },
  { error: (i) => (i.code === 'unrecognized_keys' ? `unknown setting(s): ${i.keys.join(', ')}` : 'needs to be an object') },
);

/** Scheduler settings as given (defaults optional). */
export type SchedulerOptionsInput = z.input<typeof schedulerOptionsSchema>;
/** Scheduler settings with defaults applied. */
export type SchedulerOptions = z.output<typeof schedulerOptionsSchema>;

/**
 * Validates settings and fills in defaults.
 *
 * @throws ConfigError (`KSM_CONFIG`) whose `violations` name each setting (`field`) and rule, e.g.
 *   `flushBatchSize: needs to be an integer bigger than 0`.
 *
 * @example
 * ```ts
 * const options = parseSchedulerOptions({ topics: ['scheduled_messages'], transactional: true });
 * options.intervalMs; // 15000
 * ```
 */
export function parseSchedulerOptions(input: unknown): SchedulerOptions {
  const result = schedulerOptionsSchema.safeParse(input);
  if (!result.success) throw new ConfigError(toViolations(result.error, undefined, input));
  return result.data;
}
