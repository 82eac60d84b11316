/**
 * Helpers shared by the commands: the setting flags each command shows, turning the flags that
 * were given into the top layer of the configuration, exit codes and output.
 *
 * @module
 */
import { Option, type Command } from 'commander';
import type { Transport } from '@ksched/core';
import { CliError } from '../errors.js';
import { createLogger, portLogger } from '../logger.js';
import { connectionOptions, loadAdapter, type AdapterConnectionOptions, type KafkaAdapter } from '../select-transport.js';
import { loadConfig, SETTINGS, type AppConfig, type SettingGroup, type SettingSpec } from '../config.js';

/** Where commands write: stdout for data, stderr for errors. Swappable in tests. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
}

/** The process's stdout and stderr. */
export const processIo: Io = {
  out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  err: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
};

interface FlagBinding {
  readonly spec: SettingSpec;
  readonly option: Option;
}

const bindings = new WeakMap<Command, FlagBinding[]>();

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

function helpText(spec: SettingSpec, description = spec.description): string {
  const defaultText = spec.defaultText ? `; default ${spec.defaultText}` : '';
  return `${description} (env ${spec.env}${defaultText})`;
}

/**
 * Adds the flags of the settings in `groups`, and of the settings keyed `also` (from other
 * groups), to `command`, plus `-c, --config <file>`. Each help line names the setting's
 * environment variable and default.
 */
export function addSettingOptions(command: Command, groups: readonly SettingGroup[], also: readonly string[] = []): Command {
  const list: FlagBinding[] = [];
  command.addOption(new Option('-c, --config <file>', 'JSON config file (env KSCHED_CONFIG); precedence: flags > env > file > defaults'));
  for (const spec of SETTINGS) {
    if (!(groups.includes(spec.group) || also.includes(spec.key)) || spec.flags === undefined) continue;
    for (const flags of spec.flags) {
      const negated = /(^|\s)--no-/.test(flags);
      const help = negated ? (spec.flags.length > 1 ? `the opposite of ${spec.flags[0]}` : helpText(spec, spec.flagHelp)) : helpText(spec);
      const option = new Option(flags, help);
      if (spec.key === 'topics') option.argParser(collect);
      command.addOption(option);
      list.push({ spec, option });
    }
  }
  bindings.set(command, list);
  return command;
}

/** The settings given as flags on `command`, by setting key, with their flag spelling. */
export function flagValues(command: Command): { flags: Record<string, unknown>; flagNames: Record<string, string> } {
  const flags: Record<string, unknown> = {};
  const flagNames: Record<string, string> = {};
  const opts = command.opts<Record<string, unknown>>();
  for (const b of bindings.get(command) ?? []) {
    const name = b.option.attributeName();
    if (command.getOptionValueSource(name) !== 'cli') continue;
    const raw = opts[name];
    flags[b.spec.key] = raw;
    // `--transactional` and `--no-transactional` share one attribute: name the one that set it.
    const isSwitch = b.option.isBoolean() || b.option.negate;
    if (!isSwitch || b.option.negate === (raw === false)) flagNames[b.spec.key] = b.option.long ?? b.option.flags;
  }
  return { flags, flagNames };
}

/** Options of {@link configFor}. */
export interface ConfigForOptions {
  readonly requireBrokers?: boolean;
  readonly defaults?: Readonly<Record<string, unknown>>;
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** Loads the configuration for a command from its flags, the environment and the config file. */
export function configFor(command: Command, options: ConfigForOptions = {}): AppConfig {
  const { flags, flagNames } = flagValues(command);
  const configFile =
    command.getOptionValueSource('config') === 'cli' ? (command.opts<{ config?: string }>().config ?? undefined) : undefined;
  return loadConfig({
    flags,
    flagNames,
    ...(configFile !== undefined ? { configFile } : {}),
    ...(options.env !== undefined ? { env: options.env } : {}),
    ...(options.defaults !== undefined ? { defaults: options.defaults } : {}),
    requireBrokers: options.requireBrokers ?? true,
  });
}

/** Defaults of the one-shot commands: keep the Kafka client quiet unless asked. */
export const ONE_SHOT_DEFAULTS: Readonly<Record<string, unknown>> = { clientLogLevel: 'nothing', 'log.level': 'warn' };

/** Renders rows as an aligned text table with a header line. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** Parses a non-negative integer argument, or throws a usage error naming the flag. */
export function parseNonNegativeInt(value: string, flag: string): number {
  if (!/^\d+$/.test(value.trim())) throw new CliError(`${flag} needs to be an integer ≥ 0, got ${JSON.stringify(value)}`);
  return Number(value.trim());
}

/** The options of a command that acts on one schedule: how it was routed, and `--json`. */
export interface ScheduleKeyOptions {
  readonly partition?: string;
  readonly partitionKey?: string;
  readonly json?: boolean;
}

/** Adds `<key>`, `--partition`, `--partition-key` and `--json` (the commands that act on one schedule). */
export function addScheduleKeyOptions(command: Command): Command {
  return command
    .argument('<key>', 'key of the schedule (printed by `ksched schedule`, or its --id)')
    .option('--partition <n>', 'schedules-topic partition of the schedule')
    .option('--partition-key <key>', 'partition key the schedule was written with')
    .option('--json', 'print the result as JSON');
}

/** The routing `--partition` / `--partition-key` give (checked), as the admin API and the schedule client take it. */
export function routingOf(options: ScheduleKeyOptions): { partition?: number; partitionKey?: string } {
  return {
    ...(options.partition !== undefined ? { partition: parseNonNegativeInt(options.partition, '--partition') } : {}),
    ...(options.partitionKey !== undefined ? { partitionKey: options.partitionKey } : {}),
  };
}

/** A one-shot command's Kafka access: the adapter and a transport, closed afterwards. */
export interface KafkaSession {
  readonly adapter: KafkaAdapter;
  readonly transport: Transport;
  readonly connection: AdapterConnectionOptions;
}

/**
 * Runs `use` with a transport of the configured adapter, logging to stderr (stdout is for the
 * command's output), and closes the transport afterwards.
 */
export async function withKafka<T>(config: AppConfig, use: (session: KafkaSession) => Promise<T>): Promise<T> {
  const adapter = await loadAdapter(config.connection.adapter);
  const logger = createLogger({
    level: config.log.level,
    fd: 2,
    ...(config.log.pretty !== undefined ? { pretty: config.log.pretty } : {}),
  });
  const connection = connectionOptions(config, portLogger(logger, { component: adapter.name }));
  const transport = adapter.createTransport(connection);
  try {
    return await use({ adapter, transport, connection });
  } finally {
    await transport.close().catch(() => {});
  }
}
