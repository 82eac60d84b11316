/**
 * The composition root of the scheduler service: configuration → adapter → transport →
 * `systemClock` → core `Scheduler`, plus logs, metrics, the HTTP endpoints and signal handling.
 *
 * Shutdown: the first SIGTERM or SIGINT stops the scheduler gracefully — each partition finishes
 * the flush in progress and reports `stopped` to the states topic, then the member leaves the
 * group — and the process exits 0 (1 if that takes longer than `shutdownTimeoutMs`). A second
 * signal exits at once (128 + signal number).
 *
 * @module
 */
import { Scheduler, statesTopic, systemClock } from '@ksched/core';
import type { Transport } from '@ksched/core';
import { createOtelDispatchTracer } from '@ksched/otel';
import { LiveStats } from '@ksched/web';
import type { Logger as PinoLogger } from 'pino';
import type { AppConfig } from './config.js';
import { formatDuration } from './duration.js';
import { ReadinessProbe } from './health.js';
import { stopGracefully } from './embed.js';
import { startHttpServer, type HttpServer } from './http-server.js';
import { portLogger } from './logger.js';
import { SchedulerMetrics } from './metrics.js';
import { connectionOptions, loadAdapter, type KafkaAdapter } from './select-transport.js';
import { startUi, type RunningUi } from './web-ui.js';
import { CliError, ExitCode } from './errors.js';

/** What a running service offers to hooks (the demo uses it). */
export interface ServiceContext {
  readonly config: AppConfig;
  readonly adapter: KafkaAdapter;
  readonly transport: Transport;
  readonly scheduler: Scheduler;
  readonly logger: PinoLogger;
  /** Resolves when a shutdown begins. */
  readonly stopping: Promise<void>;
}

/** Options of {@link runService}. */
export interface RunServiceOptions {
  /** Called once the scheduler has joined its group (not awaited before serving). */
  readonly onStarted?: (context: ServiceContext) => void | Promise<void>;
  /** Fail when a schedules, states or dead-letter topic is missing (default true). */
  readonly requireTopics?: boolean;
  /** Level of the line logged for each dispatch (default `debug`; `ksched start` on the local broker uses `info`). */
  readonly dispatchLogLevel?: 'debug' | 'info';
  /** When the Web UI cannot listen, go on without it (a warning) instead of failing (`ksched start`, where it is on by default). */
  readonly uiOptional?: boolean;
}

const SIGNAL_NUMBERS: Readonly<Record<string, number>> = { SIGINT: 2, SIGTERM: 15 };

/**
 * Runs the scheduler until SIGTERM/SIGINT; resolves with the exit code.
 *
 * @throws CliError when a schedules or states topic, or the configured dead-letter topic, does not
 *   exist (a metadata check before joining the group), or a configuration error from the adapter.
 */
export async function runService(config: AppConfig, logger: PinoLogger, options: RunServiceOptions = {}): Promise<number> {
  const s = config.scheduler;
  const adapter = await loadAdapter(config.connection.adapter);
  const kafkaLogger = portLogger(logger, { component: config.connection.adapter });
  const connection = connectionOptions(config, kafkaLogger);
  logger.info(
    {
      adapter: adapter.name,
      brokers: connection.brokers,
      topics: s.topics,
      groupId: s.groupId,
      transactional: s.transactional,
      intervalMs: s.intervalMs,
      ...(s.deadLetterTopic !== undefined ? { deadLetterTopic: s.deadLetterTopic } : {}),
      ...(config.configFile !== undefined ? { configFile: config.configFile } : {}),
    },
    'ksched scheduler starting',
  );

  const dlq = s.deadLetterTopic;
  const problems = await adapter.verifySchedulesTopics({
    ...connection,
    topics: s.topics,
    statesPostfix: s.statesPostfix,
    ...(dlq !== undefined ? { deadLetterTopic: dlq } : {}),
  });
  const missing = problems.filter((p) => p.includes('does not exist'));
  for (const problem of problems) if (!missing.includes(problem)) logger.warn({ problem }, `topic check: ${problem}`);
  if (missing.length > 0 && options.requireTopics !== false) {
    // `topics migrate` creates the dead-letter topic only when it is configured there too: say how.
    const dlqMissing = dlq !== undefined && missing.some((p) => p.startsWith(`dead-letter topic "${dlq}"`));
    const migrate = dlqMissing ? `ksched topics migrate --dead-letter-topic ${dlq}` : 'ksched topics migrate';
    throw new CliError(`${missing.join('; ')}: create the topics with \`${migrate}\` first`, ExitCode.failure);
  }

  const transport = adapter.createTransport({
    ...connection,
    ...(config.connection.sessionTimeoutMs !== undefined ? { sessionTimeoutMs: config.connection.sessionTimeoutMs } : {}),
    ...(config.connection.partitionAssignmentStrategy !== undefined
      ? { partitionAssignmentStrategy: config.connection.partitionAssignmentStrategy }
      : {}),
    ...(config.connection.groupInstanceId !== undefined ? { groupInstanceId: config.connection.groupInstanceId } : {}),
  });
  const scheduler = new Scheduler({
    transport,
    clock: systemClock,
    options: s,
    logger: portLogger(logger, { component: 'scheduler' }),
    tracer: createOtelDispatchTracer(), // OpenTelemetry dispatch spans: a no-op until an SDK is registered
  });
  const metrics = new SchedulerMetrics();
  metrics.attach(scheduler);
  const probe = new ReadinessProbe({
    scheduler,
    checkBroker: () => transport.partitionCount(s.topics[0]!),
    onChange: (reachable, error) => {
      if (reachable) logger.info({}, 'broker reachable');
      else logger.warn({ error }, 'broker unreachable');
    },
  });
  metrics.setReadiness(() => probe.report());
  logEvents(scheduler, logger, options.dispatchLogLevel ?? 'debug');

  let server: HttpServer | undefined;
  if (config.http.enabled) {
    server = await startHttpServer({
      host: config.http.host,
      port: config.http.port,
      readiness: () => probe.report(),
      metrics: () => metrics.render(),
      metricsContentType: metrics.contentType,
      onError: (error) => logger.error({ error }, 'HTTP handler failed'),
    });
    logger.info(
      { host: server.host, port: server.port, url: `http://${server.host}:${server.port}` },
      `HTTP on http://${server.host}:${server.port} (/healthz, /readyz, /metrics)`,
    );
  }

  let live: LiveStats | undefined;
  let ui: RunningUi | undefined;
  if (config.ui.enabled) {
    live = new LiveStats(scheduler);
    try {
      ui = await startUi(config, adapter, logger, { live });
    } catch (error) {
      if (options.uiOptional !== true) {
        live.close();
        await server?.close();
        throw error;
      }
      logger.warn(
        { error, port: config.ui.port },
        `the Web UI could not start (${(error as Error).message}); going on without it (KSCHED_UI_PORT picks another port)`,
      );
    }
  }

  let signalled: ((signal: NodeJS.Signals) => void) | undefined;
  const stopSignal = new Promise<NodeJS.Signals>((resolve) => {
    signalled = resolve;
  });
  const removeSignalHandlers = handleSignals({
    onFirst: (signal) => {
      logger.info(
        { signal },
        `${signal} received: stopping (finishing flushes, reporting stopped states, leaving the group); send it again to exit at once`,
      );
      signalled?.(signal);
    },
    onSecond: (signal) => {
      logger.warn({ signal }, `${signal} received again: exiting now`);
      process.exit(128 + (SIGNAL_NUMBERS[signal] ?? 1));
    },
  });

  const context: ServiceContext = { config, adapter, transport, scheduler, logger, stopping: stopSignal.then(() => undefined) };
  let exitCode: number = ExitCode.ok;
  try {
    probe.start();
    const started = scheduler.start().then(
      () => true,
      (error: unknown) => {
        logger.error({ error }, 'the scheduler could not start');
        return false;
      },
    );
    const first = await Promise.race([started.then((ok) => (ok ? 'started' : 'failed')), stopSignal.then(() => 'signal')]);
    if (first === 'failed') {
      exitCode = ExitCode.failure;
    } else {
      if (first === 'started') {
        logger.info({ groupId: s.groupId, topics: s.topics }, 'scheduler running');
        if (options.onStarted) {
          Promise.resolve(options.onStarted(context)).catch((error: unknown) => logger.error({ error }, 'start hook failed'));
        }
        await stopSignal;
      } else {
        await started;
      }
      exitCode = await shutdown(scheduler, logger, config.shutdownTimeoutMs);
    }
  } finally {
    removeSignalHandlers();
    probe.stop();
    await ui?.close();
    live?.close();
    await server?.close();
    if (exitCode !== ExitCode.ok) await transport.close().catch(() => {});
  }
  logger.info({ exitCode }, exitCode === ExitCode.ok ? 'ksched scheduler stopped' : 'ksched scheduler exiting after an error');
  return exitCode;
}

/** Options of {@link handleSignals}. */
export interface SignalHandlers {
  /** The first SIGTERM or SIGINT: begin a graceful shutdown. */
  readonly onFirst: (signal: NodeJS.Signals) => void;
  /** Any later one: exit now. */
  readonly onSecond: (signal: NodeJS.Signals) => void;
  /** Where signals come from (default `process`). */
  readonly source?: Pick<NodeJS.Process, 'on' | 'off'>;
}

/**
 * Handles SIGTERM and SIGINT: the first calls `onFirst`, every later one `onSecond`. Returns the
 * function that removes the handlers (a signal after that gets Node's default: exit).
 */
export function handleSignals(handlers: SignalHandlers): () => void {
  const source = handlers.source ?? process;
  let count = 0;
  const listener = (signal: NodeJS.Signals): void => {
    count++;
    if (count === 1) handlers.onFirst(signal);
    else handlers.onSecond(signal);
  };
  source.on('SIGTERM', listener);
  source.on('SIGINT', listener);
  return () => {
    source.off('SIGTERM', listener);
    source.off('SIGINT', listener);
  };
}

async function shutdown(scheduler: Scheduler, logger: PinoLogger, timeoutMs: number): Promise<number> {
  const started = Date.now();
  try {
    if ((await stopGracefully(scheduler, { timeoutMs })) === 'timeout') {
      logger.error({ timeoutMs }, `graceful shutdown did not finish within ${formatDuration(timeoutMs)}`);
      return ExitCode.failure;
    }
    logger.info({ durationMs: Date.now() - started }, 'left the group; all partitions reported stopped');
    return ExitCode.ok;
  } catch (error) {
    logger.error({ error }, 'graceful shutdown failed');
    return ExitCode.failure;
  }
}

/**
 * Logs what core's own logs leave out: `stopped` per partition and readiness at info, each
 * dispatch at `dispatchLogLevel`, flushes at debug, and the errors core only reports as events (load, states
 * reports, dead-lettering). Core already logs loading, loaded, invalid records, failed flushes
 * and halts.
 */
function logEvents(scheduler: Scheduler, logger: PinoLogger, dispatchLogLevel: 'debug' | 'info'): void {
  const postfix = scheduler.options.statesPostfix;
  let wasReady = false;
  scheduler.on('state', (e) => {
    const fields = { topic: e.topic, partition: e.partition, state: e.state, halted: e.halted };
    const message = `partition ${e.topic}/${e.partition} ${e.state}${e.halted ? ' (halted)' : ''}`;
    if (e.state === 'stopped') logger.info(fields, message);
    else logger.debug(fields, message);
    const ready = scheduler.isReady();
    if (ready && !wasReady) {
      const count = scheduler.partitions().length;
      logger.info({ partitions: count }, `ready: all ${count} assigned partition${count === 1 ? '' : 's'} loaded`);
    }
    wasReady = ready;
  });
  scheduler.on('dispatched', (e) =>
    logger[dispatchLogLevel](
      {
        topic: e.topic,
        partition: e.partition,
        offset: e.offset,
        key: e.key,
        targetTopic: e.targetTopic,
        dueAt: new Date(e.dueMs).toISOString(),
        lateMs: e.lateMs,
        possibleDuplicate: e.possibleDuplicate,
      },
      `dispatched ${e.key} to ${e.targetTopic}, ${formatDuration(e.lateMs)} after its due time`,
    ),
  );
  scheduler.on('flush', (e) =>
    logger.debug(
      { topic: e.topic, partition: e.partition, records: e.records, durationMs: e.durationMs, transactional: e.transactional },
      'flushed',
    ),
  );
  scheduler.on('error', (e) => {
    const fields = { topic: e.topic, partition: e.partition, phase: e.phase, error: e.error };
    if (e.phase === 'load') logger.error(fields, `loading ${e.topic}/${e.partition} failed`);
    else if (e.phase === 'dead_letter')
      logger.error(fields, `copying an invalid record of ${e.topic}/${e.partition} to the dead-letter topic failed`);
    else if (e.phase === 'states')
      logger.warn({ ...fields, statesTopic: statesTopic(e.topic, postfix) }, `states report of ${e.topic}/${e.partition} failed`);
  });
}
