import { createScheduleAdmin, Header, headerText, type AdminRecord } from '@ksched/core';
import { Command, Option } from 'commander';
import { parseTime } from '../duration.js';
import { CliError } from '../errors.js';
import { addSettingOptions, configFor, ONE_SHOT_DEFAULTS, parseNonNegativeInt, processIo, table, withKafka, type Io } from './common.js';

/** One record of the schedules topic, as `ksched list --json` prints it. */
export interface ListedRecord {
  readonly offset: number;
  /** `schedule`, `cancel`, `tombstone`, the unknown type's name, `incompatible` or `invalid`. */
  readonly type: string;
  readonly key: string | null;
  /** Due time (schedules and tombstones), ISO 8601. */
  readonly dueAt: string | null;
  readonly targetTopic: string | null;
  readonly targetPartition: number | null;
  readonly targetKey: string | null;
  readonly schemaVersion: string | null;
  /** When the record was written, ISO 8601. */
  readonly createdAt: string;
  /** Why the record is invalid. */
  readonly reason?: string;
}

/** The TARGET column: topic, topic/partition, or for an invalid record its reason. */
export function targetText(r: ListedRecord): string {
  if (r.targetTopic === null) return r.reason ?? '-';
  return r.targetPartition === null ? r.targetTopic : `${r.targetTopic}/${r.targetPartition}`;
}

/** A record as `ksched list` (and `ksched find`'s history) shows it. */
export function listed(r: AdminRecord): ListedRecord {
  return {
    offset: r.offset,
    type: r.type === 'unknown' ? (r.unknownType ?? 'unknown') : r.type,
    key: r.key,
    dueAt: r.dueMs !== undefined && (r.type === 'schedule' || r.type === 'tombstone') ? new Date(r.dueMs).toISOString() : null,
    targetTopic: r.target?.topic ?? null,
    targetPartition: r.target?.partition ?? null,
    targetKey: r.target?.key ?? null,
    schemaVersion: r.schemaVersion ?? headerText(r.headers, Header.schemaVersion) ?? null,
    createdAt: new Date(r.createdAtMs).toISOString(),
    ...(r.reason !== undefined ? { reason: r.reason } : {}),
  };
}

/** `ksched list`: browse a partition of a schedules topic. */
export function listCommand(io: Io = processIo): Command {
  const command = new Command('list')
    .summary('browse a partition of a schedules topic')
    .description(
      'List the records of one partition of a schedules topic: offset, type (schedule, cancel, tombstone), key, due time and target. ' +
        'Compacted-away offsets do not appear. With --pending, only the schedules still pending (not cancelled, dispatched or replaced). ' +
        'Reads outside the scheduler group: running schedulers are not disturbed.',
    )
    .option('-p, --partition <n>', 'partition to read', '0')
    .addOption(new Option('--from <offset>', 'first offset to show (default: the beginning)').conflicts('since'))
    .option('--since <time>', 'start at the first record written at or after this time: ISO 8601 or Unix epoch seconds / milliseconds')
    .option('-n, --limit <n>', 'most records to show (at most 1000)', '50')
    .option('--pending', 'only the schedules still pending')
    .option('--json', 'print JSON instead of a table');
  addSettingOptions(command, ['connection', 'topics']);
  command.addHelpText(
    'after',
    `
Reads the first schedules topic (-s/--schedules-topic). --from starts at that offset (by
seeking), --since at the first record written at or after that time; --pending reads the partition from there to its end, since a later record of a key
closes its schedule.

Examples:
  ksched list -b 127.0.0.1:19092
  ksched list -s scheduled_messages -p 3 --from 120 --limit 20
  ksched list -p 1 --pending
  ksched list -p 0 --since 2030-01-01T09:00:00Z
  ksched list --json | jq '.records[] | select(.type == "schedule")'`,
  );
  command.action(
    async (
      options: { partition: string; from?: string; since?: string; limit: string; pending?: boolean; json?: boolean },
      cmd: Command,
    ) => {
      const config = configFor(cmd, { defaults: ONE_SHOT_DEFAULTS });
      const partition = parseNonNegativeInt(options.partition, '--partition');
      const from = options.from !== undefined ? parseNonNegativeInt(options.from, '--from') : undefined;
      const limit = parseNonNegativeInt(options.limit, '--limit');
      if (limit === 0) throw new CliError('--limit needs to be at least 1');
      if (limit > 1000) throw new CliError('--limit can be at most 1000');
      const since = options.since !== undefined ? parseTime(options.since) : undefined;
      if (options.since !== undefined && since === undefined) {
        throw new CliError(
          `--since needs an ISO 8601 time (2030-01-01T09:30:00Z) or Unix epoch seconds or milliseconds, got ${JSON.stringify(options.since)}`,
        );
      }
      const topic = config.scheduler.topics[0]!;
      const read = await withKafka(config, async ({ transport }) => {
        const admin = createScheduleAdmin({ transport, schedulesTopics: config.scheduler.topics });
        const range = {
          limit,
          ...(from !== undefined ? { fromOffset: from } : {}),
          ...(since !== undefined ? { fromTimeMs: 'epoch' in since ? since.epoch * 1000 : since.atMs } : {}),
        };
        if (options.pending) {
          const p = await admin.pending(topic, partition, range);
          return { low: p.low, high: p.high, records: p.records, next: undefined };
        }
        return admin.records(topic, partition, range);
      });
      const records = read.records.map(listed);
      if (options.json) {
        io.out(
          JSON.stringify(
            { topic, partition, low: read.low, high: read.high, ...(read.next !== undefined ? { next: read.next } : {}), records },
            null,
            2,
          ),
        );
        return;
      }
      io.out(
        `${topic}/${partition}: offsets ${read.low}..${read.high - 1}, ${records.length} ${options.pending ? 'pending schedule' : 'record'}${records.length === 1 ? '' : 's'} shown${read.next !== undefined ? `; more from --from ${read.next}` : ''}`,
      );
      if (records.length === 0) return;
      io.out(
        table(
          ['OFFSET', 'TYPE', 'KEY', 'DUE', 'TARGET', 'TARGET KEY'],
          records.map((r) => [String(r.offset), r.type, r.key ?? '(null)', r.dueAt ?? '-', targetText(r), r.targetKey ?? '-']),
        ),
      );
    },
  );
  return command;
}
