import { decodeRecord, Header, headerText } from '@ksched/core';
import { Command } from 'commander';
import { readTopic } from '../read-topic.js';
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

const keyText = (key: Uint8Array | null) => (key === null ? null : Buffer.from(key).toString('utf8'));

/** `ksched list`: browse a partition of a schedules topic. */
export function listCommand(io: Io = processIo): Command {
  const command = new Command('list')
    .summary('browse a partition of a schedules topic')
    .description(
      'List the records of one partition of a schedules topic: offset, type (schedule, cancel, tombstone), key, due time and target. ' +
        'Compacted-away offsets do not appear.',
    )
    .option('-p, --partition <n>', 'partition to read', '0')
    .option('--from <offset>', 'first offset to show (default: the beginning)')
    .option('-n, --limit <n>', 'most records to show', '50')
    .option('--json', 'print JSON instead of a table');
  addSettingOptions(command, ['connection', 'topics']);
  command.addHelpText(
    'after',
    `
Reads the first schedules topic (-s/--schedules-topic). --from reads the partition from its
beginning and skips to the offset.

Examples:
  ksched list -b 127.0.0.1:19092
  ksched list -s scheduled_messages -p 3 --from 120 --limit 20
  ksched list --json | jq '.records[] | select(.type == "schedule")'`,
  );
  command.action(async (options: { partition: string; from?: string; limit: string; json?: boolean }, cmd: Command) => {
    const config = configFor(cmd, { defaults: ONE_SHOT_DEFAULTS });
    const partition = parseNonNegativeInt(options.partition, '--partition');
    const from = options.from !== undefined ? parseNonNegativeInt(options.from, '--from') : undefined;
    const limit = parseNonNegativeInt(options.limit, '--limit');
    if (limit === 0) throw new CliError('--limit needs to be at least 1');
    const topic = config.scheduler.topics[0]!;
    const [read] = await withKafka(config, ({ transport }) =>
      readTopic(transport, { topic, partitions: [partition], limit, ...(from !== undefined ? { fromOffset: from } : {}) }),
    );
    const records: ListedRecord[] = (read?.records ?? []).map((r) => {
      const d = decodeRecord(r);
      const base = {
        offset: r.offset,
        createdAt: new Date(r.timestamp).toISOString(),
        schemaVersion: headerText(r.headers, Header.schemaVersion) ?? null,
      };
      const none = { dueAt: null, targetTopic: null, targetPartition: null, targetKey: null };
      switch (d.kind) {
        case 'schedule':
          return {
            ...base,
            type: 'schedule',
            key: d.key,
            dueAt: new Date(d.dueMs).toISOString(),
            targetTopic: d.target.topic,
            targetPartition: d.target.partition ?? null,
            targetKey: d.target.key ?? null,
          };
        case 'tombstone':
          return { ...base, ...none, type: 'tombstone', key: d.key, dueAt: d.epoch > 0 ? new Date(d.epoch * 1000).toISOString() : null };
        case 'cancel':
          return { ...base, ...none, type: 'cancel', key: d.key };
        case 'unknown':
          return { ...base, ...none, type: d.type, key: d.key };
        case 'incompatible':
          return { ...base, ...none, type: 'incompatible', key: keyText(r.key) };
        case 'invalid':
          return { ...base, ...none, type: 'invalid', key: keyText(r.key), reason: `${d.reason}: ${d.detail}` };
      }
    });
    if (options.json) {
      io.out(JSON.stringify({ topic, partition, low: read?.low ?? 0, high: read?.high ?? 0, records }, null, 2));
      return;
    }
    io.out(
      `${topic}/${partition}: offsets ${read?.low ?? 0}..${(read?.high ?? 0) - 1}, ${records.length} record${records.length === 1 ? '' : 's'} shown`,
    );
    if (records.length === 0) return;
    io.out(
      table(
        ['OFFSET', 'TYPE', 'KEY', 'DUE', 'TARGET', 'TARGET KEY'],
        records.map((r) => [
          String(r.offset),
          r.type,
          r.key ?? '(null)',
          r.dueAt ?? '-',
          r.targetTopic === null ? (r.reason ?? '-') : r.targetPartition === null ? r.targetTopic : `${r.targetTopic}/${r.targetPartition}`,
          r.targetKey ?? '-',
        ]),
      ),
    );
  });
  return command;
}
