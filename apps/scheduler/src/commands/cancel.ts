import { Command } from 'commander';
import { addSettingOptions, configFor, ONE_SHOT_DEFAULTS, parseNonNegativeInt, processIo, withKafka, type Io } from './common.js';

/** `ksched cancel`: cancel a schedule by key. */
export function cancelCommand(io: Io = processIo): Command {
  const command = new Command('cancel')
    .summary('cancel a scheduled message')
    .description(
      'Cancel the schedule with this key: write a cancel record to its partition of the schedules topic. ' +
        'A cancel only works on the partition the schedule is on: pass the partition `ksched schedule` printed ' +
        '(or the partition key it was written with); without either, the key is hashed, which is right for schedules partitioned by their key.',
    )
    .argument('<key>', 'key of the schedule (printed by `ksched schedule`, or its --id)')
    .option('--partition <n>', 'schedules-topic partition of the schedule')
    .option('--partition-key <key>', 'partition key the schedule was written with')
    .option('--json', 'print the result as JSON');
  addSettingOptions(command, ['connection', 'topics']);
  command.addHelpText(
    'after',
    `
Examples:
  ksched cancel orders-0b6c1d2e-4f0a-4c55-9d7c-2f1f9b1b8e11 --partition 3
  ksched cancel greeting-1 -s scheduled_messages`,
  );
  command.action(async (key: string, options: { partition?: string; partitionKey?: string; json?: boolean }, cmd: Command) => {
    const config = configFor(cmd, { defaults: ONE_SHOT_DEFAULTS });
    const partition = options.partition !== undefined ? parseNonNegativeInt(options.partition, '--partition') : undefined;
    const schedulesTopic = config.scheduler.topics[0]!;
    await withKafka(config, async ({ adapter, transport }) => {
      const client = adapter.createScheduleClient({ transport, schedulesTopic });
      const ref = await client.cancel({
        key,
        ...(partition !== undefined ? { partition } : {}),
        ...(options.partitionKey !== undefined ? { partitionKey: options.partitionKey } : {}),
      });
      if (options.json) io.out(JSON.stringify({ key: ref.key, schedulesTopic: ref.topic, partition: ref.partition, offset: ref.offset }));
      else io.out(`cancel for ${ref.key} written to ${ref.topic}/${ref.partition}@${ref.offset}`);
    });
  });
  return command;
}
