import { decodeStates, statesTopic, type StatesReport } from '@ksched/core';
import { Command } from 'commander';
import { formatDuration } from '../duration.js';
import { readTopic } from '../read-topic.js';
import { addSettingOptions, configFor, ONE_SHOT_DEFAULTS, processIo, table, withKafka, type Io } from './common.js';

/** One partition's last states report, as `ksched status --json` prints it. */
export interface PartitionStatusRow {
  readonly topic: string;
  readonly statesTopic: string;
  readonly partition: number;
  /** `fresh`, `loading`, `loaded`, `stopped`; `null` when the partition has no report; `unreadable` when it does not decode. */
  readonly state: string | null;
  /** When the report was written, ISO 8601. */
  readonly reportedAt: string | null;
  readonly schemaVersion: string | null;
  /** Schedules to dispatch per UTC day (today exact, later days an estimate). */
  readonly daily: Readonly<Record<string, number>>;
  readonly offsets: { readonly low: number; readonly high: number } | null;
  readonly reloads: number | null;
  readonly startedAt: string | null;
  /** Offset of the report in the states topic. */
  readonly reportOffset: number | null;
  readonly error?: string;
}

function row(
  topic: string,
  states: string,
  partition: number,
  report: StatesReport | undefined,
  offset: number | null,
  error?: string,
): PartitionStatusRow {
  return {
    topic,
    statesTopic: states,
    partition,
    state: error !== undefined ? 'unreadable' : (report?.state ?? null),
    reportedAt: report ? new Date(report.dispatched_at * 1000).toISOString() : null,
    schemaVersion: report?.schema_version ?? null,
    daily: report ? Object.fromEntries(Object.entries(report.daily).sort(([a], [b]) => a.localeCompare(b))) : {},
    offsets: report?.offsets ?? null,
    reloads: report?.reloads ?? null,
    startedAt: report?.started_at !== undefined ? new Date(report.started_at * 1000).toISOString() : null,
    reportOffset: offset,
    ...(error !== undefined ? { error } : {}),
  };
}

/** `ksched status`: the last states report of every partition. */
export function statusCommand(io: Io = processIo): Command {
  const command = new Command('status')
    .summary('show the scheduler state of every partition')
    .description(
      'Read the states topic of each schedules topic and show, per partition, the last report the scheduler wrote: ' +
        'state (loading, loaded, stopped), when it was reported, and how many schedules are due per day.',
    )
    .option('--json', 'print JSON (one array of partition reports) instead of a table');
  addSettingOptions(command, ['connection', 'topics']);
  command.addHelpText(
    'after',
    `
Examples:
  ksched status -b 127.0.0.1:19092
  ksched status -s scheduled_messages --json | jq '.[] | select(.state != "loaded")'`,
  );
  command.action(async (options: { json?: boolean }, cmd: Command) => {
    const config = configFor(cmd, { defaults: ONE_SHOT_DEFAULTS });
    const rows: PartitionStatusRow[] = [];
    await withKafka(config, async ({ transport }) => {
      for (const topic of config.scheduler.topics) {
        const states = statesTopic(topic, config.scheduler.statesPostfix);
        for (const read of await readTopic(transport, { topic: states })) {
          const last = [...read.records].reverse().find((r) => r.value !== null);
          if (last === undefined || last.value === null) {
            rows.push(row(topic, states, read.partition, undefined, null));
            continue;
          }
          try {
            rows.push(row(topic, states, read.partition, decodeStates(last.value), last.offset));
          } catch (error) {
            rows.push(row(topic, states, read.partition, undefined, last.offset, (error as Error).message));
          }
        }
      }
    });
    if (options.json) {
      io.out(JSON.stringify(rows, null, 2));
      return;
    }
    const now = Date.now();
    io.out(
      table(
        ['TOPIC', 'PARTITION', 'STATE', 'REPORTED AT', 'AGO', 'RELOADS', 'DAILY (UTC day: due)'],
        rows.map((r) => [
          r.topic,
          String(r.partition),
          r.state ?? '(no report)',
          r.reportedAt ?? '-',
          r.reportedAt ? formatDuration(now - Date.parse(r.reportedAt)) : '-',
          r.reloads === null ? '-' : String(r.reloads),
          Object.keys(r.daily).length === 0
            ? '-'
            : Object.entries(r.daily)
                .map(([day, n]) => `${day}: ${n}`)
                .join(', '),
        ]),
      ),
    );
  });
  return command;
}
