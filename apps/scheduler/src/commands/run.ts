import { Command } from 'commander';
import { createLogger } from '../logger.js';
import { runService } from '../main.js';
import { addSettingOptions, configFor } from './common.js';

/** `ksched run`: the scheduler service. */
export function runCommand(): Command {
  const command = new Command('run')
    .summary('run the scheduler service')
    .description(
      'Run the scheduler service: join the scheduler group on the schedules topics, load each assigned partition, ' +
        'dispatch every message at its due time, report states, and serve /healthz, /readyz and /metrics (and the Web UI with --ui). ' +
        'SIGTERM or SIGINT stops it gracefully (flush in progress finished, `stopped` reported, group left, exit 0); a second signal exits at once.',
    );
  addSettingOptions(command, ['connection', 'topics', 'scheduler', 'service', 'ui']);
  command.addHelpText(
    'after',
    `
Every setting can also come from a KSCHED_* environment variable or the JSON config file;
precedence: flags > environment > config file > defaults. The schedules topics must exist
(create them with \`ksched topics migrate\`).

Examples:
  KSCHED_BROKERS=kafka-1:9092,kafka-2:9092 ksched run
  ksched run -b 127.0.0.1:19092 -s scheduled_messages --transactional --http-port 9464
  ksched run --config /etc/ksched.json --log-level debug --pretty
  KSCHED_UI_TOKEN=… ksched run --ui          # plus the Web UI on http://127.0.0.1:9466/`,
  );
  command.action(async (_options: unknown, cmd: Command) => {
    const config = configFor(cmd);
    const logger = createLogger({ level: config.log.level, ...(config.log.pretty !== undefined ? { pretty: config.log.pretty } : {}) });
    process.exitCode = await runService(config, logger);
  });
  return command;
}
