import { Command, Option } from 'commander';
import { runDemo } from '../demo.js';
import { createLogger, portLogger } from '../logger.js';
import { startLocalBroker } from '../local-broker.js';
import { runService } from '../main.js';
import { connectionOptions, loadAdapter } from '../select-transport.js';
import { addSettingOptions, configFor } from './common.js';

/** `ksched start` (what `pnpm start` runs): the service, with a local broker and a demo when no brokers are configured. */
export function startCommand(): Command {
  const command = new Command('start')
    .summary('run the scheduler; without brokers, start a local broker and a demo first')
    .description(
      'Run the scheduler, the easy way. With brokers configured (KSCHED_BROKERS, --brokers or the config file) this is `ksched run`. ' +
        'Without, it starts the local development broker (scripts/kafka/kafka.sh, port KSCHED_KAFKA_PORT, default 19092), ' +
        'creates the schedules and states topics (and the dead-letter topic, when one is configured), runs the scheduler and schedules a few demo messages due seconds later, ' +
        'logging each dispatch with its lateness. The Web UI is on by default (http://127.0.0.1:9466/; --no-ui turns it off).',
    );
  addSettingOptions(command, ['connection', 'topics', 'scheduler', 'migrate', 'service', 'ui']);
  command.addOption(new Option('--demo', 'send the demo schedules even when brokers are configured'));
  command.addOption(new Option('--no-demo', 'do not send the demo schedules'));
  command.addOption(new Option('--demo-topic <topic>', 'target topic of the demo messages').default('ksched_demo'));
  command.addHelpText(
    'after',
    `
Examples:
  pnpm start                                  # local broker + topics + scheduler + demo
  KSCHED_BROKERS=127.0.0.1:9092 pnpm start    # just the scheduler (like ksched run)
  pnpm start --no-demo --http-port 9465      # pnpm passes the flags on (a -- before them works too)`,
  );
  command.action(async (options: { demo?: boolean; demoTopic: string }, cmd: Command) => {
    const config0 = configFor(cmd, { requireBrokers: false, defaults: { 'ui.enabled': true } });
    const logger = createLogger({ level: config0.log.level, ...(config0.log.pretty !== undefined ? { pretty: config0.log.pretty } : {}) });
    const local = config0.connection.brokers.length === 0;
    let config = config0;
    if (local) {
      const brokers = await startLocalBroker(logger);
      config = { ...config0, connection: { ...config0.connection, brokers: [brokers] } };
      const adapter = await loadAdapter(config.connection.adapter);
      const connection = connectionOptions(config, portLogger(logger, { component: adapter.name }));
      const result = await adapter.ensureSchedulesTopics({
        ...connection,
        topics: config.scheduler.topics,
        statesPostfix: config.scheduler.statesPostfix,
        ...(config.scheduler.deadLetterTopic !== undefined ? { deadLetterTopic: config.scheduler.deadLetterTopic } : {}),
        partitions: config.partitions,
        replicationFactor: config.replicationFactor,
      });
      logger.info(
        { created: result.created, existing: result.existing },
        result.created.length > 0 ? `created topics ${result.created.join(', ')}` : `topics exist: ${result.existing.join(', ')}`,
      );
    }
    const demo = options.demo ?? local;
    process.exitCode = await runService(config, logger, {
      ...(demo ? { onStarted: (context) => runDemo(context, { targetTopic: options.demoTopic }) } : {}),
      // On the local broker, show every dispatch (the demo's and those you schedule yourself).
      ...(local ? { dispatchLogLevel: 'info' as const } : {}),
      // On by default here: a UI port already taken is a warning, not a failed start.
      uiOptional: config.sources['ui.enabled'] === undefined,
    });
  });
  return command;
}
