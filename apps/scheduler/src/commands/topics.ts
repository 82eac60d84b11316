import { statesTopic, UnsupportedError } from '@ksched/core';
import { Command, Option } from 'commander';
import { ExitCode } from '../errors.js';
import { addSettingOptions, configFor, ONE_SHOT_DEFAULTS, processIo, withKafka, type Io } from './common.js';

/** `ksched topics …`: topic administration. */
export function topicsCommand(io: Io = processIo): Command {
  const topics = new Command('topics')
    .summary('manage the schedules, states and dead-letter topics')
    .description('Manage the schedules topics, their states topics and the dead-letter topic.');
  const migrate = new Command('migrate')
    .summary('create or verify the schedules, states and dead-letter topics')
    .description(
      'Create the schedules topics and their states topics that do not exist yet (compacted, min.cleanable.dirty.ratio 0.1, ' +
        'segment.ms and delete.retention.ms 1 h, segment.bytes 50 MiB; both topics of a pair with the same partition count), ' +
        'and the dead-letter topic when one is configured (cleanup.policy delete, retention.ms 7 days, 1 partition), ' +
        'then verify all of them and report every difference. Exits 1 when a difference remains.',
    );
  addSettingOptions(migrate, ['connection', 'topics', 'migrate'], ['deadLetterTopic']);
  migrate.addOption(new Option('--dry-run', 'only verify: create nothing'));
  migrate.addOption(new Option('--json', 'print the result as JSON'));
  migrate.addHelpText(
    'after',
    `
Existing topics are never changed: a difference (partition count, cleanup policy, other settings)
is reported for you to fix with your Kafka tooling. --partitions is checked against existing
schedules and states topics only when given explicitly. The dead-letter topic (--dead-letter-topic,
KSCHED_DEAD_LETTER_TOPIC or "deadLetterTopic" in the config file, as for \`ksched run\`) is a log
of failures: it must not be compacted; its partition count and retention are yours to choose.

Examples:
  ksched topics migrate -b 127.0.0.1:19092
  ksched topics migrate -s scheduled_messages -s urgent_messages --partitions 10 --replication-factor 3
  ksched topics migrate --dead-letter-topic scheduled_messages_dlq
  ksched topics migrate --dry-run --json`,
  );
  migrate.action(async (options: { dryRun?: boolean; json?: boolean }, cmd: Command) => {
    const config = configFor(cmd, { defaults: ONE_SHOT_DEFAULTS });
    const s = config.scheduler;
    const partitionsGiven = config.sources['partitions'] !== undefined;
    await withKafka(config, async ({ adapter, connection }) => {
      const settings = {
        topics: s.topics,
        statesPostfix: s.statesPostfix,
        ...(s.deadLetterTopic !== undefined ? { deadLetterTopic: s.deadLetterTopic } : {}),
      };
      const result = options.dryRun
        ? { created: [] as readonly string[], existing: [] as readonly string[] }
        : await adapter.ensureSchedulesTopics({
            ...connection,
            ...settings,
            partitions: config.partitions,
            replicationFactor: config.replicationFactor,
          });
      const verify = (checkConfigs: boolean) =>
        adapter.verifySchedulesTopics({
          ...connection,
          ...settings,
          checkConfigs,
          ...(partitionsGiven ? { partitions: config.partitions } : {}),
        });
      let configsChecked = true;
      let differences: string[];
      try {
        differences = await verify(true);
      } catch (error) {
        // node-rdkafka's admin client cannot read topic configs: check what it can.
        if (!UnsupportedError.isInstance(error)) throw error;
        configsChecked = false;
        differences = await verify(false);
      }
      const pairs = s.topics.flatMap((t) => [t, statesTopic(t, s.statesPostfix)]);
      const dlq = s.deadLetterTopic;
      const all = dlq === undefined || pairs.includes(dlq) ? pairs : [...pairs, dlq];
      if (options.json) {
        io.out(
          JSON.stringify({
            topics: all,
            ...(dlq !== undefined ? { deadLetterTopic: dlq } : {}),
            created: result.created,
            differences,
            configsChecked,
            ok: differences.length === 0,
          }),
        );
      } else {
        for (const topic of all) {
          const status = result.created.includes(topic)
            ? 'created'
            : differences.some((d) => d.includes(`"${topic}" does not exist`))
              ? 'missing'
              : 'exists';
          io.out(`${status.padEnd(8)}${topic}${topic === dlq ? ' (dead-letter topic)' : ''}`);
        }
        for (const d of differences) io.out(`differs ${d}`);
        if (!configsChecked)
          io.out(
            `note: the ${adapter.name} adapter cannot read topic configs; only existence and partition counts were checked (--adapter kafkajs checks the settings too)`,
          );
        io.out(
          differences.length === 0
            ? configsChecked
              ? 'ok: topics match the reference settings'
              : 'ok: no differences found'
            : `${differences.length} difference${differences.length === 1 ? '' : 's'} found`,
        );
      }
      if (differences.length > 0) process.exitCode = ExitCode.failure;
    });
  });
  topics.addCommand(migrate);
  return topics;
}
