import { createScheduleAdmin } from '@ksched/core';
import { Command } from 'commander';
import { ExitCode } from '../errors.js';
import {
  addScheduleKeyOptions,
  addSettingOptions,
  configFor,
  ONE_SHOT_DEFAULTS,
  processIo,
  routingOf,
  table,
  withKafka,
  type Io,
  type ScheduleKeyOptions,
} from './common.js';
import { listed, targetText } from './list.js';

const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());

/** `ksched find`: where a schedule is and what happened to it. */
export function findCommand(io: Io = processIo): Command {
  const command = new Command('find')
    .summary('find a schedule by key: pending, cancelled or dispatched')
    .description(
      'Find the schedule with this key on its partition of the schedules topic and show its status (pending with its due time, ' +
        'cancelled, dispatched, or unknown) and every record with the key still in the log. The partition is found the way the ' +
        'schedule was routed: pass the partition `ksched schedule` printed, or the partition key it was written with; without ' +
        "either, the key's own partition is looked at first, then the others. Reads outside the scheduler group: running schedulers are not disturbed.",
    );
  addScheduleKeyOptions(command);
  addSettingOptions(command, ['connection', 'topics']);
  command.addHelpText(
    'after',
    `
Exits with status 0 when a schedule with the key was found (whatever its status), 1 when none was.

Examples:
  ksched find orders-0b6c1d2e-4f0a-4c55-9d7c-2f1f9b1b8e11 --partition 3
  ksched find reminder-42 --partition-key customer-7 --json`,
  );
  command.action(async (key: string, options: ScheduleKeyOptions, cmd: Command) => {
    const config = configFor(cmd, { defaults: ONE_SHOT_DEFAULTS });
    const routing = routingOf(options);
    const topic = config.scheduler.topics[0]!;
    const found = await withKafka(config, ({ transport }) =>
      createScheduleAdmin({ transport, schedulesTopics: config.scheduler.topics }).find(key, { topic, everyPartition: true, ...routing }),
    );
    const latest = found.latest;
    if (options.json) {
      io.out(
        JSON.stringify(
          {
            key,
            schedulesTopic: found.topic,
            partition: found.partition,
            status: found.status,
            dueAt: latest?.type === 'schedule' ? iso(latest.dueMs) : null,
            history: found.history.map(listed),
          },
          null,
          2,
        ),
      );
    } else if (found.history.length === 0) {
      io.out(`${key}: no record with this key on ${found.topic}/${found.partition}`);
    } else {
      const due = latest?.type === 'schedule' ? `, due ${iso(latest.dueMs)}` : '';
      io.out(`${key}: ${found.status}${due} (${found.topic}/${found.partition})`);
      io.out(
        table(
          ['OFFSET', 'TYPE', 'WRITTEN', 'DUE', 'TARGET'],
          found.history.map((r) => {
            const row = listed(r);
            return [String(row.offset), row.type, row.createdAt, row.dueAt ?? '-', targetText(row)];
          }),
        ),
      );
    }
    if (found.history.length === 0) process.exitCode = ExitCode.failure;
  });
  return command;
}
