import { Command } from 'commander';
import { createLogger } from '../logger.js';
import { handleSignals } from '../main.js';
import { loadAdapter } from '../select-transport.js';
import { startUi } from '../web-ui.js';
import { addSettingOptions, configFor } from './common.js';

/** `ksched ui`: the Web UI on its own, next to schedulers running elsewhere. */
export function uiCommand(): Command {
  const command = new Command('ui')
    .summary('serve the Web UI on its own (no scheduler)')
    .description(
      'Serve the Web UI for the schedules topics: topics and partitions, what each partition planned, a record explorer, ' +
        'find by key, and cancel and reschedule (with a credential configured). It reads outside the scheduler group, so running ' +
        'schedulers are not disturbed. Live dispatch figures need the UI inside the scheduler: `ksched run --ui`. ' +
        'SIGTERM or SIGINT stops it.',
    );
  addSettingOptions(command, ['connection', 'topics', 'ui'], ['statesPostfix', 'log.level', 'log.pretty']);
  command.addHelpText(
    'after',
    `
Without KSCHED_UI_TOKEN (or KSCHED_UI_USERNAME and KSCHED_UI_PASSWORD) the UI is read-only.

Examples:
  ksched ui -b 127.0.0.1:19092                          # http://127.0.0.1:9466/
  KSCHED_UI_TOKEN=$(openssl rand -hex 16) ksched ui -b kafka:9092 --ui-host 0.0.0.0 --ui-port 8080`,
  );
  command.action(async (_options: unknown, cmd: Command) => {
    const config = configFor(cmd, { defaults: { 'ui.enabled': true } });
    const logger = createLogger({ level: config.log.level, ...(config.log.pretty !== undefined ? { pretty: config.log.pretty } : {}) });
    const adapter = await loadAdapter(config.connection.adapter);
    const ui = await startUi(config, adapter, logger);
    await new Promise<void>((resolve) => {
      const remove = handleSignals({
        onFirst: (signal) => {
          logger.info({ signal }, `${signal} received: stopping the Web UI`);
          remove();
          resolve();
        },
        onSecond: () => process.exit(130),
      });
    });
    await ui.close();
  });
  return command;
}
