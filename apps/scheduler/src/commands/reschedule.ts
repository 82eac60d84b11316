import { createScheduleAdmin } from '@ksched/core';
import { Command, Option } from 'commander';
import {
  addScheduleKeyOptions,
  addSettingOptions,
  configFor,
  ONE_SHOT_DEFAULTS,
  processIo,
  routingOf,
  withKafka,
  type Io,
  type ScheduleKeyOptions,
} from './common.js';
import { dueOf } from './schedule.js';

/** `ksched reschedule`: move a pending schedule to another due time. */
export function rescheduleCommand(io: Io = processIo): Command {
  const command = new Command('reschedule')
    .summary('move a pending schedule to another due time')
    .description(
      'Move the pending schedule with this key to a new due time: write a new schedule record with the same key and the same message ' +
        '(payload, key, headers, target routing) to the partition its schedule is on, where it replaces the old one. ' +
        'The schedule is found as it was routed: --partition or --partition-key when given, else on every partition, its own first.',
    );
  addScheduleKeyOptions(command)
    .addOption(
      new Option('--at <time>', 'new due time: ISO 8601 (2030-01-01T09:30:00Z) or Unix epoch seconds / milliseconds').conflicts('in'),
    )
    .option('--in <duration>', 'new due time after a delay from now: 90s, 5m, 1h30m, 250ms');
  addSettingOptions(command, ['connection', 'topics']);
  command.addHelpText(
    'after',
    `
Only a pending schedule can be moved: for a cancelled, dispatched or unknown one nothing is
written and the error says which it is.

Examples:
  ksched reschedule orders-0b6c1d2e-4f0a-4c55-9d7c-2f1f9b1b8e11 --in 10m
  ksched reschedule reminder-42 --partition-key customer-7 --at 2030-01-01T09:30:00Z`,
  );
  command.action(async (key: string, options: ScheduleKeyOptions & { at?: string; in?: string }, cmd: Command) => {
    const config = configFor(cmd, { defaults: ONE_SHOT_DEFAULTS });
    const routing = routingOf(options);
    const due = dueOf(options, Date.now());
    const topic = config.scheduler.topics[0]!;
    const { found, produced } = await withKafka(config, ({ transport }) =>
      createScheduleAdmin({ transport, schedulesTopics: config.scheduler.topics }).reschedule(key, due, {
        topic,
        everyPartition: true,
        ...routing,
      }),
    );
    const dueAt = new Date('at' in due ? due.at : due.epoch * 1000).toISOString();
    const was = found.latest?.dueMs !== undefined ? new Date(found.latest.dueMs).toISOString() : null;
    if (options.json) {
      io.out(JSON.stringify({ key, schedulesTopic: produced.topic, partition: produced.partition, offset: produced.offset, dueAt, was }));
    } else {
      io.out(`rescheduled ${key} to ${dueAt} (was ${was ?? 'unknown'}): ${produced.topic}/${produced.partition}@${produced.offset}`);
    }
  });
  return command;
}
