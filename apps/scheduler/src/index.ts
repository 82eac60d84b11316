/**
 * `@ksched/scheduler`: the ksched scheduler service and command line. Run it with the `ksched`
 * command; these exports are for embedding and tests.
 *
 * @packageDocumentation
 */
export {
  loadConfig,
  configSchema,
  describeConfigError,
  SETTINGS,
  ADAPTERS,
  LOG_LEVELS,
  CLIENT_LOG_LEVELS,
  SASL_MECHANISMS,
  CONFIG_FILE_ENV,
} from './config.js';
export type {
  AppConfig,
  AdapterName,
  ConnectionConfig,
  LoadConfigInput,
  SaslSettings,
  SettingGroup,
  SettingSpec,
  TlsSettings,
} from './config.js';
export { parseDuration, requireDuration, formatDuration, parseTime } from './duration.js';
export type { ParsedTime } from './duration.js';
export { observeScheduler, readinessResponse, stopGracefully } from './embed.js';
export type { ObserveSchedulerOptions, ObservedScheduler, ReadinessBody, Stoppable } from './embed.js';
export { SchedulerMetrics } from './metrics.js';
export type { MetricsSource, Readiness, SchedulerMetricsOptions } from './metrics.js';
export { ReadinessProbe } from './health.js';
export type { ReadinessProbeOptions, ReadinessReport, ReadinessSource } from './health.js';
export { startHttpServer } from './http-server.js';
export type { HttpServer, HttpServerOptions } from './http-server.js';
export { createLogger, portLogger } from './logger.js';
export type { LoggerOptions } from './logger.js';
export { loadAdapter, connectionOptions } from './select-transport.js';
export type { AdapterConnectionOptions, KafkaAdapter, TopicsSettings } from './select-transport.js';
export { readTopic } from './read-topic.js';
export type { PartitionRead, ReadTopicOptions } from './read-topic.js';
export { runService, handleSignals } from './main.js';
export type { RunServiceOptions, ServiceContext, SignalHandlers } from './main.js';
export { buildProgram, runCli } from './program.js';
export { CliError, ExitCode, describeError } from './errors.js';
