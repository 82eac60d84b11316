import { createScheduleAdmin } from '@ksched/core';
import { Command } from 'commander';
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

/** `ksched cancel`: cancel a schedule by key. */
export function cancelCommand(io: Io = processIo): Command {
  const command = new Command('cancel')
    .summary('cancel a scheduled message')
    .description(
      'Cancel the schedule with this key: write a cancel record to its partition of the schedules topic. ' +
        'A cancel only works on the partition the schedule is on: pass the partition `ksched schedule` printed ' +
        '(or the partition key it was written with) and the cancel is written there. Without either, the schedule is looked for ' +
        "(its key's own partition first, then the others) and the cancel goes where it is; a key with no pending schedule is an error.",
    );
  addScheduleKeyOptions(command);
  addSettingOptions(command, ['connection', 'topics']);
  command.addHelpText(
    'after',
    `
Examples:
  ksched cancel orders-0b6c1d2e-4f0a-4c55-9d7c-2f1f9b1b8e11 --partition 3
  ksched cancel greeting-1 -s scheduled_messages`,
  );
  command.action(async (key: string, options: ScheduleKeyOptions, cmd: Command) => {
    const config = configFor(cmd, { defaults: ONE_SHOT_DEFAULTS });
    const routing = routingOf(options);
    const schedulesTopic = config.scheduler.topics[0]!;
    await withKafka(config, async ({ adapter, transport }) => {
      const routed = routing.partition !== undefined || routing.partitionKey !== undefined;
      const ref = routed
        ? await adapter.createScheduleClient({ transport, schedulesTopic }).cancel({ key, ...routing })
        : // Routed as the schedule was: found first, on whichever partition it is.
          (
            await createScheduleAdmin({ transport, schedulesTopics: config.scheduler.topics }).cancel(key, {
              topic: schedulesTopic,
              everyPartition: true,
            })
          ).produced;
      if (options.json) io.out(JSON.stringify({ key: ref.key, schedulesTopic: ref.topic, partition: ref.partition, offset: ref.offset }));
      else io.out(`cancel for ${ref.key} written to ${ref.topic}/${ref.partition}@${ref.offset}`);
    });
  });
  return command;
}
