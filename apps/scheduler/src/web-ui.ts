/**
 * The Web UI (`@ksched/web`) as the service serves it: `ksched run --ui` (with live figures of the
 * scheduler in the same process), `ksched start` (on by default) and the standalone `ksched ui`.
 * The UI reads and writes through a transport of its own, outside the scheduler group, so pages
 * and actions never share the dispatch path's connections.
 *
 * @module
 */
import { createScheduleAdmin } from '@ksched/core';
import { createWebHandler, startWebServer, type LiveStats } from '@ksched/web';
import type { Logger as PinoLogger } from 'pino';
import type { AppConfig } from './config.js';
import { portLogger } from './logger.js';
import { connectionOptions, type KafkaAdapter } from './select-transport.js';

/** A running UI. */
export interface RunningUi {
  readonly url: string;
  close(): Promise<void>;
}

/** Options of {@link startUi}. */
export interface StartUiOptions {
  /** The scheduler's live figures, when it runs in this process. */
  readonly live?: Pick<LiveStats, 'snapshot'>;
}

/**
 * Starts the UI on `config.ui.host:port` and logs its address and whether actions are enabled.
 *
 * @throws the listen error (e.g. `EADDRINUSE`), after closing the UI's transport.
 */
export async function startUi(
  config: AppConfig,
  adapter: KafkaAdapter,
  logger: PinoLogger,
  options: StartUiOptions = {},
): Promise<RunningUi> {
  const ui = config.ui;
  const transport = adapter.createTransport({
    ...connectionOptions(config, portLogger(logger, { component: `${adapter.name}-ui` })),
    clientId: `${config.connection.clientId}-ui`,
  });
  try {
    await transport.connect();
    const admin = createScheduleAdmin({
      transport,
      schedulesTopics: config.scheduler.topics,
      statesPostfix: config.scheduler.statesPostfix,
    });
    const handler = createWebHandler({
      admin,
      ...(ui.auth !== undefined ? { auth: ui.auth } : {}),
      readsNeedCredential: ui.readsNeedCredential,
      ...(options.live !== undefined ? { live: options.live } : {}),
      onError: (error) => logger.warn({ error }, 'Web UI request failed'),
    });
    const server = await startWebServer({ handler, host: ui.host, port: ui.port });
    const access =
      ui.auth === undefined
        ? 'read-only: set KSCHED_UI_TOKEN (or KSCHED_UI_USERNAME and KSCHED_UI_PASSWORD) to enable cancel and reschedule'
        : 'token' in ui.auth
          ? 'cancel and reschedule after signing in with the token'
          : 'basic auth';
    logger.info(
      { url: server.url, host: server.host, port: server.port, readOnly: ui.auth === undefined },
      `Web UI on ${server.url} (${access})`,
    );
    return {
      url: server.url,
      close: async () => {
        await server.close();
        await admin.close(); // the readers it keeps open for next pages
        await transport.close().catch(() => {});
      },
    };
  } catch (error) {
    await transport.close().catch(() => {});
    throw error;
  }
}
