/**
 * The service and CLI configuration: one zod schema, fed from four layers with a documented
 * precedence — **flags > environment variables > config file > defaults**. Every setting has a
 * dotted key (its place in the JSON config file), a `KSCHED_*` environment variable and, for the
 * common ones, a command-line flag; {@link SETTINGS} lists them all (the README's table is this
 * list). Errors name the setting and where its value came from, e.g.
 * `intervalMs (from KSCHED_INTERVAL_MS="500"): needs to be an integer bigger or equal to 1000`.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { ConfigError, DEFAULT_SCHEDULES_PARTITIONS, parseSchedulerOptions, schedulerOptionsSchema, TOPIC_NAME_PATTERN } from '@ksched/core';
import type { SchedulerOptions, Violation } from '@ksched/core';
import {
  CLIENT_LOG_LEVELS,
  connectionOptionsSchema,
  SASL_MECHANISMS,
  saslOptionsSchema,
  schedulesTopicsSettingsSchema,
  schemaDefault,
  schemaDescription,
  tlsOptionsSchema,
  transportSettingsShape,
} from '@ksched/core/adapter';
import { kafkaJsConnectionOptionsSchema } from '@ksched/kafka-adapter-kafkajs';
import { z } from 'zod';
import { parseDuration } from './duration.js';

// The rdkafka adapter is an optional peer of the service: its defaults are shown when it is installed.
const RDKAFKA_OPTIONS: string = '@ksched/kafka-adapter-rdkafka/options';
const rdKafkaConnectionTimeoutMs = await import(RDKAFKA_OPTIONS).then(
  (m: { rdKafkaConnectionOptionsSchema: { shape: { connectionTimeoutMs: z.ZodType } } }) =>
    schemaDefault(m.rdKafkaConnectionOptionsSchema.shape.connectionTimeoutMs) as number,
  () => undefined,
);

/** Kafka client adapters the service can run on. */
export const ADAPTERS = ['kafkajs', 'rdkafka'] as const;
/** One of {@link ADAPTERS}. */
export type AdapterName = (typeof ADAPTERS)[number];
/** Log levels of the service logger (pino). */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
/** Log levels of the Kafka client's own logs (forwarded to the service logger), and the SASL mechanisms both adapters support: the kit's. */
export { CLIENT_LOG_LEVELS, SASL_MECHANISMS };

/** Which commands a setting matters to (drives which flags each command shows). */
export type SettingGroup = 'connection' | 'topics' | 'scheduler' | 'migrate' | 'service' | 'ui';

/** One setting: config-file key, environment variable, optional flag, and documentation. */
export interface SettingSpec {
  /** Dotted key in the config file, e.g. `http.port`. */
  readonly key: string;
  /** Environment variable. */
  readonly env: string;
  /** Commander flags, e.g. `-b, --brokers <list>`; a `--no-*` flag sets the value to false. */
  readonly flags?: readonly string[];
  readonly group: SettingGroup;
  /** Default as shown to people. */
  readonly defaultText: string;
  /** The default itself, when a schema holds it (what `defaultText` shows). */
  readonly defaultValue?: unknown;
  readonly description: string;
  /** Value type, as shown to people. */
  readonly type: string;
  /** Help of a `--no-*` flag, when it says the opposite of `description`. */
  readonly flagHelp?: string;
}

/** The environment variable that names the config file (also `-c, --config <file>`). */
export const CONFIG_FILE_ENV = 'KSCHED_CONFIG';

// ---- coercion: env and flag values are text; the file may use text or JSON types ---------------

function toBoolean(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const v = value.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(v)) return true;
  if (['false', '0', 'no', 'off'].includes(v)) return false;
  return value;
}

function toInteger(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  return /^\s*-?\d+\s*$/.test(value) ? Number(value) : value;
}

const SIZE_UNITS: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  kb: 1000,
  mb: 1000 ** 2,
  gb: 1000 ** 3,
};

/** `268435456`, `256MiB`, `1.5GiB`, `500kB` → bytes; anything else is left for the schema to refuse. */
function toBytes(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
  const unit = match ? SIZE_UNITS[match[2]!.toLowerCase()] : undefined;
  return match && unit !== undefined ? Math.round(Number(match[1]) * unit) : value;
}

function toMilliseconds(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  return parseDuration(value) ?? value;
}

function toList(value: unknown): unknown {
  const parts = typeof value === 'string' ? [value] : Array.isArray(value) ? value : undefined;
  if (parts === undefined || !parts.every((p) => typeof p === 'string')) return value;
  return (parts as string[])
    .flatMap((p) => p.split(','))
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
}

const bool = () => z.preprocess(toBoolean, z.boolean({ error: 'needs to be true or false' }));
const integer = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.preprocess(
    toInteger,
    z
      .number({ error: `needs to be an integer ≥ ${min}` })
      .int(`needs to be an integer ≥ ${min}`)
      .min(min, `needs to be an integer ≥ ${min}`)
      .max(max, `needs to be an integer ≤ ${max}`),
  );
const duration = () =>
  z.preprocess(
    toMilliseconds,
    z
      .number({ error: 'needs to be a duration such as 15s, 5m, 1h30m or a number of milliseconds' })
      .int('needs to be a whole number of milliseconds')
      .min(0, 'must not be negative'),
  );
const size = () =>
  z.preprocess(
    toBytes,
    z
      .number({ error: 'needs to be a size such as 256MiB, 1GiB or a number of bytes' })
      .int('needs to be a whole number of bytes')
      .min(0, 'must not be negative'),
  );
const text = () => z.string({ error: 'needs to be a string' }).trim().min(1, 'must not be empty');
const topicName = () =>
  text()
    .regex(TOPIC_NAME_PATTERN, 'needs to be a Kafka topic name (letters, digits, . _ -)')
    .max(249, 'needs to be at most 249 characters');
const oneOf = <T extends readonly [string, ...string[]]>(values: T) =>
  z.preprocess(
    (v) => (typeof v === 'string' ? v.trim().toLowerCase() : v),
    z.enum(values, { error: `needs to be one of ${values.join(', ')}` }),
  );

const strictGroup = <T extends z.core.$ZodLooseShape>(shape: T) =>
  z.strictObject(shape, {
    error: (i) => (i.code === 'unrecognized_keys' ? `unknown setting(s): ${i.keys.join(', ')}` : 'needs to be an object'),
  });

/** The configuration schema (values as given; env and flag text is coerced). */
export const configSchema = strictGroup({
  adapter: oneOf(ADAPTERS).default('kafkajs'),
  brokers: z
    .preprocess(
      toList,
      z
        .array(z.string().regex(/^[^\s:,]+:\d{1,5}$/, 'each broker needs to be host:port'), { error: 'needs to be a list of host:port' })
        .min(1, 'needs at least one broker (host:port)'),
    )
    .optional(),
  clientId: text().default(schemaDefault(connectionOptionsSchema.shape.clientId) as string),
  clientLogLevel: oneOf(CLIENT_LOG_LEVELS).default(
    schemaDefault(connectionOptionsSchema.shape.logLevel) as (typeof CLIENT_LOG_LEVELS)[number],
  ),
  connectionTimeoutMs: duration().optional(),
  requestTimeoutMs: duration().optional(),
  sessionTimeoutMs: duration().optional(),
  partitionAssignmentStrategy: oneOf(['range', 'roundrobin', 'cooperative-sticky'] as const).optional(),
  groupInstanceId: text().optional(),
  ssl: strictGroup({
    enabled: bool().optional(),
    caFile: text().optional(),
    certFile: text().optional(),
    keyFile: text().optional(),
    passphrase: z.string({ error: 'needs to be a string' }).optional(),
    rejectUnauthorized: bool().optional(),
  }).default({}),
  sasl: strictGroup({
    mechanism: oneOf(SASL_MECHANISMS).optional(),
    username: text().optional(),
    password: z.string({ error: 'needs to be a string' }).optional(),
  }).default({}),
  topics: z
    .preprocess(toList, z.array(topicName(), { error: 'needs to be a list of topic names' }).min(1, 'needs at least one schedules topic'))
    .default(['scheduled_messages']),
  statesPostfix: text().default(schemaDefault(schedulerOptionsSchema.shape.statesPostfix) as string),
  groupId: text().default(schemaDefault(schedulerOptionsSchema.shape.groupId) as string),
  transactional: bool().default(schemaDefault(schedulerOptionsSchema.shape.transactional) as boolean),
  transactionalIdPrefix: text().optional(),
  transactionalFencing: oneOf(['partition', 'group'] as const).default('partition'),
  deadLetterTopic: topicName().optional(),
  intervalMs: duration().default(schemaDefault(schedulerOptionsSchema.shape.intervalMs) as number),
  flushBatchSize: integer(1).optional(),
  statesReportIntervalMs: duration().optional(),
  loadedGraceMs: duration().optional(),
  bufferHorizonMs: duration().optional(),
  bufferMaxBytes: size().optional(),
  rebalanceRetainMs: duration().optional(),
  commitOffsets: bool().optional(),
  retryBackoffMs: duration().optional(),
  undeliverableAttempts: integer(1).optional(),
  undeliverableAfterMs: duration().optional(),
  partitions: integer(1).default(DEFAULT_SCHEDULES_PARTITIONS),
  replicationFactor: integer(1).default(schemaDefault(schedulesTopicsSettingsSchema.shape.replicationFactor) as number),
  http: strictGroup({
    enabled: bool().default(true),
    host: text().default('127.0.0.1'),
    port: integer(0, 65_535).default(9464),
  }).prefault({}),
  ui: strictGroup({
    enabled: bool().default(false).describe('serve the Web UI (schedules, explorer, cancel and reschedule, live figures)'),
    host: text().default('127.0.0.1').describe('Web UI bind address (0.0.0.0 to expose it; set a credential first)'),
    port: integer(0, 65_535).default(9466).describe('Web UI port (0 picks a free one and logs it)'),
    token: z.string({ error: 'needs to be a string' }).min(8, 'needs at least 8 characters').optional(),
    username: text().optional(),
    password: z.string({ error: 'needs to be a string' }).min(8, 'needs at least 8 characters').optional(),
    readsNeedCredential: bool().default(false),
  }).prefault({}),
  log: strictGroup({
    level: oneOf(LOG_LEVELS).default('info'),
    pretty: bool().optional(),
  }).prefault({}),
  shutdownTimeoutMs: duration().default(25_000),
});

// ---- the settings table: defaults and descriptions read from the schemas that own them ---------

const core = schedulerOptionsSchema.shape;
const connection = connectionOptionsSchema.shape;
const tls = tlsOptionsSchema.shape;
const sasl = saslOptionsSchema.shape;

/** A default duration as people write it: `1h`, `2m`, `15s`, `500ms` (round units only). */
export function durationText(ms: number): string {
  if (ms > 0 && ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms > 60_000 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms > 0 && ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/** A default size as people write it: `256MiB`, `64KiB`, or bytes. */
export function sizeText(bytes: number): string {
  for (const [unit, size] of [
    ['GiB', 1024 ** 3],
    ['MiB', 1024 ** 2],
    ['KiB', 1024],
  ] as const) {
    if (bytes > 0 && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return String(bytes);
}

/** The setting's schema in {@link configSchema}, by dotted key. */
function appSchema(key: string): z.ZodType {
  const [head, tail] = key.split('.', 2) as [string, string | undefined];
  const top = (configSchema.shape as Record<string, z.ZodType>)[head]!;
  if (tail === undefined) return top;
  const inner = top._zod.def as { innerType?: z.ZodType };
  const group = (inner.innerType ?? top) as unknown as { shape: Record<string, z.ZodType> };
  return group.shape[tail]!;
}

interface SchemaFacts {
  readonly defaultText: string;
  readonly description: string;
  readonly defaultValue?: unknown;
}

/**
 * `defaultText`, `description` and `defaultValue` of a setting, from the schema that owns it
 * (core's scheduler options, the kit's connection settings, an adapter's options, or this app's
 * {@link configSchema}). `text` formats the default; `note` adds what only the service says. A
 * setting whose schema has no description (an app-only one, or a library text that does not fit
 * the service) gives its own after the spread.
 */
function fromSchema(
  schema: z.ZodType,
  options: { text?: (value: never) => string; note?: string; defaultText?: (shown: string) => string } = {},
): SchemaFacts {
  const value = schemaDefault(schema);
  const shown = value === undefined ? '' : options.text ? options.text(value as never) : String(value);
  const description = schemaDescription(schema) ?? '';
  return {
    defaultText: options.defaultText ? options.defaultText(shown) : shown,
    description: options.note ? `${description} ${options.note}` : description,
    ...(value !== undefined ? { defaultValue: value } : {}),
  };
}

/** Every setting. The README's configuration table is generated from the same facts. */
export const SETTINGS: readonly SettingSpec[] = [
  {
    key: 'adapter',
    env: 'KSCHED_ADAPTER',
    flags: ['--adapter <name>'],
    group: 'connection',
    type: 'kafkajs | rdkafka',
    ...fromSchema(appSchema('adapter')),
    description: 'Kafka client adapter',
  },
  {
    key: 'brokers',
    env: 'KSCHED_BROKERS',
    flags: ['-b, --brokers <list>'],
    group: 'connection',
    type: 'host:port list',
    defaultText: 'none',
    description: 'bootstrap brokers, comma-separated; `ksched start` without brokers starts the local development broker',
  },
  {
    key: 'clientId',
    env: 'KSCHED_CLIENT_ID',
    flags: ['--client-id <id>'],
    group: 'connection',
    type: 'string',
    ...fromSchema(connection.clientId),
  },
  {
    key: 'clientLogLevel',
    env: 'KSCHED_CLIENT_LOG_LEVEL',
    flags: ['--client-log-level <level>'],
    group: 'connection',
    type: CLIENT_LOG_LEVELS.join(' | '),
    ...fromSchema(connection.logLevel, { defaultText: (shown) => `${shown} (run), nothing (other commands)` }),
  },
  {
    key: 'connectionTimeoutMs',
    env: 'KSCHED_CONNECTION_TIMEOUT_MS',
    group: 'connection',
    type: 'duration',
    ...fromSchema(connection.connectionTimeoutMs),
    defaultText: `adapter default (kafkajs ${durationText(schemaDefault(kafkaJsConnectionOptionsSchema.shape.connectionTimeoutMs) as number)}${rdKafkaConnectionTimeoutMs !== undefined ? `, rdkafka ${durationText(rdKafkaConnectionTimeoutMs)}` : ''})`,
  },
  {
    key: 'requestTimeoutMs',
    env: 'KSCHED_REQUEST_TIMEOUT_MS',
    group: 'connection',
    type: 'duration',
    ...fromSchema(connection.requestTimeoutMs, { text: durationText }),
  },
  {
    key: 'sessionTimeoutMs',
    env: 'KSCHED_SESSION_TIMEOUT_MS',
    group: 'connection',
    type: 'duration',
    ...fromSchema(transportSettingsShape.sessionTimeoutMs, { text: durationText }),
    description: 'consumer group session timeout: how long a crashed scheduler keeps its partitions before another member takes them over',
  },
  {
    key: 'partitionAssignmentStrategy',
    env: 'KSCHED_PARTITION_ASSIGNMENT_STRATEGY',
    flags: ['--assignment-strategy <name>'],
    group: 'connection',
    type: 'range | roundrobin | cooperative-sticky (rdkafka only)',
    defaultText: "librdkafka's (range,roundrobin)",
    description: 'group assignor; cooperative-sticky revokes only the partitions that move, so the ones a member keeps never pause',
  },
  {
    key: 'groupInstanceId',
    env: 'KSCHED_GROUP_INSTANCE_ID',
    flags: ['--group-instance-id <id>'],
    group: 'connection',
    type: 'text (rdkafka only)',
    defaultText: 'none (dynamic membership)',
    description:
      'static group membership: a stable, unique name of this scheduler (e.g. the pod name); restarted with the same id it takes its partitions back at once instead of after the session timeout, but a stopped one keeps them for the session timeout',
  },
  {
    key: 'ssl.enabled',
    env: 'KSCHED_SSL',
    flags: ['--ssl'],
    group: 'connection',
    type: 'boolean',
    defaultText: 'false, or true when a ssl file is set',
    description: 'connect with TLS',
  },
  {
    key: 'ssl.caFile',
    env: 'KSCHED_SSL_CA_FILE',
    flags: ['--ssl-ca-file <path>'],
    group: 'connection',
    type: 'path',
    ...fromSchema(tls.ca, { defaultText: () => 'system CAs' }),
    description: `${schemaDescription(tls.ca)} file`,
  },
  {
    key: 'ssl.certFile',
    env: 'KSCHED_SSL_CERT_FILE',
    flags: ['--ssl-cert-file <path>'],
    group: 'connection',
    type: 'path',
    ...fromSchema(tls.cert),
    description: schemaDescription(tls.cert)!.replace('PEM', 'PEM file'),
  },
  {
    key: 'ssl.keyFile',
    env: 'KSCHED_SSL_KEY_FILE',
    flags: ['--ssl-key-file <path>'],
    group: 'connection',
    type: 'path',
    ...fromSchema(tls.key),
    description: schemaDescription(tls.key)!.replace('PEM', 'PEM file'),
  },
  {
    key: 'ssl.passphrase',
    env: 'KSCHED_SSL_PASSPHRASE',
    group: 'connection',
    type: 'string',
    ...fromSchema(tls.passphrase, { note: '(env or file only)' }),
  },
  {
    key: 'ssl.rejectUnauthorized',
    env: 'KSCHED_SSL_REJECT_UNAUTHORIZED',
    flags: ['--no-ssl-verify'],
    group: 'connection',
    type: 'boolean',
    ...fromSchema(tls.rejectUnauthorized),
    flagHelp: "do not verify the broker's certificate",
  },
  {
    key: 'sasl.mechanism',
    env: 'KSCHED_SASL_MECHANISM',
    flags: ['--sasl-mechanism <name>'],
    group: 'connection',
    type: SASL_MECHANISMS.join(' | '),
    ...fromSchema(sasl.mechanism, { defaultText: () => 'none' }),
  },
  {
    key: 'sasl.username',
    env: 'KSCHED_SASL_USERNAME',
    flags: ['--sasl-username <name>'],
    group: 'connection',
    type: 'string',
    ...fromSchema(sasl.username),
  },
  {
    key: 'sasl.password',
    env: 'KSCHED_SASL_PASSWORD',
    group: 'connection',
    type: 'string',
    ...fromSchema(sasl.password, { note: '(env or file only, so it stays out of `ps`)' }),
  },
  {
    key: 'topics',
    env: 'KSCHED_TOPICS',
    flags: ['-s, --schedules-topic <name>'],
    group: 'topics',
    type: 'topic list',
    ...fromSchema(appSchema('topics'), { text: (topics: string[]) => topics.join(',') }),
    description: 'schedules topic(s); repeat the flag or separate with commas',
  },
  {
    key: 'statesPostfix',
    env: 'KSCHED_STATES_POSTFIX',
    flags: ['--states-postfix <postfix>'],
    group: 'topics',
    type: 'string',
    ...fromSchema(core.statesPostfix),
  },
  {
    key: 'groupId',
    env: 'KSCHED_GROUP_ID',
    flags: ['-g, --group-id <id>'],
    group: 'scheduler',
    type: 'string',
    ...fromSchema(core.groupId),
  },
  {
    key: 'transactional',
    env: 'KSCHED_TRANSACTIONAL',
    flags: ['--transactional', '--no-transactional'],
    group: 'scheduler',
    type: 'boolean',
    ...fromSchema(core.transactional),
  },
  {
    key: 'transactionalFencing',
    env: 'KSCHED_TRANSACTIONAL_FENCING',
    flags: ['--transactional-fencing <how>'],
    group: 'scheduler',
    type: 'partition | group (rdkafka only)',
    ...fromSchema(core.transactionalFencing),
  },
  {
    key: 'transactionalIdPrefix',
    env: 'KSCHED_TRANSACTIONAL_ID_PREFIX',
    group: 'scheduler',
    type: 'string',
    ...fromSchema(core.transactionalIdPrefix, { defaultText: () => 'groupId' }),
  },
  {
    key: 'deadLetterTopic',
    env: 'KSCHED_DEAD_LETTER_TOPIC',
    flags: ['--dead-letter-topic <topic>'],
    group: 'scheduler',
    type: 'topic',
    ...fromSchema(core.deadLetterTopic, { defaultText: () => 'none' }),
  },
  {
    key: 'intervalMs',
    env: 'KSCHED_INTERVAL_MS',
    flags: ['--interval <duration>'],
    group: 'scheduler',
    type: 'duration ≥ 1s',
    ...fromSchema(core.intervalMs, { text: durationText }),
  },
  {
    key: 'flushBatchSize',
    env: 'KSCHED_FLUSH_BATCH_SIZE',
    flags: ['--flush-batch-size <n>'],
    group: 'scheduler',
    type: 'integer ≥ 1',
    ...fromSchema(core.flushBatchSize),
  },
  {
    key: 'statesReportIntervalMs',
    env: 'KSCHED_STATES_REPORT_INTERVAL_MS',
    group: 'scheduler',
    type: 'duration ≥ 1s',
    ...fromSchema(core.statesReportIntervalMs, { text: durationText }),
  },
  {
    key: 'loadedGraceMs',
    env: 'KSCHED_LOADED_GRACE_MS',
    group: 'scheduler',
    type: 'duration',
    ...fromSchema(core.loadedGraceMs, { text: durationText }),
  },
  {
    key: 'bufferHorizonMs',
    env: 'KSCHED_BUFFER_HORIZON',
    flags: ['--buffer-horizon <duration>'],
    group: 'scheduler',
    type: 'duration ≥ 10s',
    ...fromSchema(core.bufferHorizonMs, { text: durationText }),
  },
  {
    key: 'bufferMaxBytes',
    env: 'KSCHED_BUFFER_MAX_BYTES',
    flags: ['--buffer-max-bytes <size>'],
    group: 'scheduler',
    type: 'size ≥ 64KiB (bytes, or with KiB/MiB/GiB)',
    ...fromSchema(core.bufferMaxBytes, { text: sizeText }),
  },
  {
    key: 'rebalanceRetainMs',
    env: 'KSCHED_REBALANCE_RETAIN',
    group: 'scheduler',
    type: 'duration ≤ 15m',
    ...fromSchema(core.rebalanceRetainMs, { text: durationText }),
  },
  {
    key: 'commitOffsets',
    env: 'KSCHED_COMMIT_OFFSETS',
    group: 'scheduler',
    type: 'boolean',
    ...fromSchema(core.commitOffsets),
  },
  {
    key: 'retryBackoffMs',
    env: 'KSCHED_RETRY_BACKOFF_MS',
    group: 'scheduler',
    type: 'duration',
    ...fromSchema(core.retryBackoffMs, { text: durationText }),
  },
  {
    key: 'undeliverableAttempts',
    env: 'KSCHED_UNDELIVERABLE_ATTEMPTS',
    group: 'scheduler',
    type: 'integer ≥ 1',
    ...fromSchema(core.undeliverableAttempts),
  },
  {
    key: 'undeliverableAfterMs',
    env: 'KSCHED_UNDELIVERABLE_AFTER_MS',
    group: 'scheduler',
    type: 'duration',
    ...fromSchema(core.undeliverableAfterMs, { text: durationText }),
  },
  {
    key: 'partitions',
    env: 'KSCHED_PARTITIONS',
    flags: ['--partitions <n>'],
    group: 'migrate',
    type: 'integer ≥ 1',
    ...fromSchema(appSchema('partitions')),
    description: 'partitions of new schedules and states topics',
  },
  {
    key: 'replicationFactor',
    env: 'KSCHED_REPLICATION_FACTOR',
    flags: ['--replication-factor <n>'],
    group: 'migrate',
    type: 'integer ≥ 1',
    ...fromSchema(schedulesTopicsSettingsSchema.shape.replicationFactor),
    description: 'replication factor of new topics (use 3 in production)',
  },
  {
    key: 'http.enabled',
    env: 'KSCHED_HTTP_ENABLED',
    flags: ['--no-http'],
    group: 'service',
    type: 'boolean',
    ...fromSchema(appSchema('http.enabled')),
    description: 'serve /healthz, /readyz and /metrics',
    flagHelp: 'do not serve /healthz, /readyz and /metrics',
  },
  {
    key: 'http.host',
    env: 'KSCHED_HTTP_HOST',
    flags: ['--http-host <host>'],
    group: 'service',
    type: 'host',
    ...fromSchema(appSchema('http.host')),
    description: 'HTTP bind address (0.0.0.0 to expose it)',
  },
  {
    key: 'http.port',
    env: 'KSCHED_HTTP_PORT',
    flags: ['--http-port <port>'],
    group: 'service',
    type: 'port',
    ...fromSchema(appSchema('http.port')),
    description: 'HTTP port (0 picks a free one and logs it)',
  },
  {
    key: 'ui.enabled',
    env: 'KSCHED_UI',
    flags: ['--ui', '--no-ui'],
    group: 'ui',
    type: 'boolean',
    ...fromSchema(appSchema('ui.enabled')),
    defaultText: 'false (true for `ksched start` and `ksched ui`)',
  },
  {
    key: 'ui.host',
    env: 'KSCHED_UI_HOST',
    flags: ['--ui-host <host>'],
    group: 'ui',
    type: 'host',
    ...fromSchema(appSchema('ui.host')),
  },
  {
    key: 'ui.port',
    env: 'KSCHED_UI_PORT',
    flags: ['--ui-port <port>'],
    group: 'ui',
    type: 'port',
    ...fromSchema(appSchema('ui.port')),
  },
  {
    key: 'ui.token',
    env: 'KSCHED_UI_TOKEN',
    group: 'ui',
    type: 'string (8+ characters)',
    defaultText: '',
    description:
      'Web UI token: enables cancel and reschedule after signing in with it (env or file only, so it stays out of `ps`); without a credential the UI is read-only',
  },
  {
    key: 'ui.username',
    env: 'KSCHED_UI_USERNAME',
    flags: ['--ui-username <name>'],
    group: 'ui',
    type: 'string',
    defaultText: '',
    description: 'Web UI basic-auth user (with ui.password), instead of a token',
  },
  {
    key: 'ui.password',
    env: 'KSCHED_UI_PASSWORD',
    group: 'ui',
    type: 'string (8+ characters)',
    defaultText: '',
    description: 'Web UI basic-auth password (env or file only)',
  },
  {
    key: 'ui.readsNeedCredential',
    env: 'KSCHED_UI_READS_NEED_CREDENTIAL',
    flags: ['--ui-reads-need-credential'],
    group: 'ui',
    type: 'boolean',
    ...fromSchema(appSchema('ui.readsNeedCredential')),
    description: 'with a credential set, reading the UI needs it too (payloads can be sensitive)',
  },
  {
    key: 'log.level',
    env: 'KSCHED_LOG_LEVEL',
    flags: ['--log-level <level>'],
    group: 'service',
    type: LOG_LEVELS.join(' | '),
    ...fromSchema(appSchema('log.level')),
    description: 'log level',
  },
  {
    key: 'log.pretty',
    env: 'KSCHED_LOG_PRETTY',
    flags: ['--pretty', '--no-pretty'],
    group: 'service',
    type: 'boolean',
    defaultText: 'true when stdout is a terminal',
    description: 'human-readable logs (pino-pretty) instead of JSON lines',
  },
  {
    key: 'shutdownTimeoutMs',
    env: 'KSCHED_SHUTDOWN_TIMEOUT_MS',
    group: 'service',
    type: 'duration',
    ...fromSchema(appSchema('shutdownTimeoutMs'), { text: durationText }),
    description: 'longest a graceful shutdown may take before the process exits 1',
  },
];

type ParsedConfig = z.output<typeof configSchema>;

/** TLS settings with the PEM files read. */
export interface TlsSettings {
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly passphrase?: string;
  readonly rejectUnauthorized?: boolean;
}

/** SASL settings (complete). */
export interface SaslSettings {
  readonly mechanism: (typeof SASL_MECHANISMS)[number];
  readonly username: string;
  readonly password: string;
}

/** Connection settings common to both adapters. */
export interface ConnectionConfig {
  readonly adapter: AdapterName;
  /** Empty when none are configured (only `ksched start` accepts that: it starts a local broker). */
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly clientLogLevel: (typeof CLIENT_LOG_LEVELS)[number];
  readonly connectionTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
  /** Consumer group session timeout (transport only). */
  readonly sessionTimeoutMs?: number;
  /** Group assignor (rdkafka transport only). */
  readonly partitionAssignmentStrategy?: 'range' | 'roundrobin' | 'cooperative-sticky';
  /** Static group membership id (rdkafka transport only). */
  readonly groupInstanceId?: string;
  /** `true` (system CAs), TLS settings, or absent (plain TCP). */
  readonly ssl?: true | TlsSettings;
  readonly sasl?: SaslSettings;
}

/** Web UI settings: `auth` is absent when no credential is set (the UI is then read-only). */
export interface UiConfig {
  readonly enabled: boolean;
  readonly host: string;
  readonly port: number;
  readonly auth?: { readonly token: string } | { readonly basic: { readonly username: string; readonly password: string } };
  readonly readsNeedCredential: boolean;
}

/** The validated configuration. */
export interface AppConfig {
  readonly connection: ConnectionConfig;
  /** Scheduler settings, validated by core (defaults filled in). */
  readonly scheduler: SchedulerOptions;
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly http: { readonly enabled: boolean; readonly host: string; readonly port: number };
  /** The Web UI (`@ksched/web`): where it listens and the credential that enables its actions. */
  readonly ui: UiConfig;
  readonly log: { readonly level: (typeof LOG_LEVELS)[number]; readonly pretty?: boolean };
  readonly shutdownTimeoutMs: number;
  /** Where each setting that was given came from (`flag --x`, `env KSCHED_X`, `file path`), by key. */
  readonly sources: Readonly<Record<string, string>>;
  /** The config file read, if any. */
  readonly configFile?: string;
}

/** Inputs of {@link loadConfig}. */
export interface LoadConfigInput {
  /** Values of command-line flags that were given, by setting key (see `flagValues` in `commands/common.ts`). */
  readonly flags?: Readonly<Record<string, unknown>>;
  /** Flag spelling per setting key, for error messages. */
  readonly flagNames?: Readonly<Record<string, string>>;
  /** Environment (default `process.env`). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Config file path (`--config`); else `KSCHED_CONFIG`; else none. */
  readonly configFile?: string;
  /** Command-specific defaults, below the file (e.g. quieter logs for one-shot commands). */
  readonly defaults?: Readonly<Record<string, unknown>>;
  /** Fail unless brokers are configured (every command but `start`). */
  readonly requireBrokers?: boolean;
  /** Base directory for relative paths (default `process.cwd()`). */
  readonly cwd?: string;
  /** Reads a file (tests); default `fs.readFileSync(path, 'utf8')`. */
  readonly readFile?: (path: string) => string;
}

/** A setting value and where it came from. */
interface Sourced {
  readonly value: unknown;
  readonly source: string;
}

const GROUPS = new Set(['ssl', 'sasl', 'http', 'ui', 'log']);
const KNOWN_KEYS = new Set(SETTINGS.map((s) => s.key));

/** Flattens a parsed config file into dotted keys; `ssl: true|false` means `ssl.enabled`. */
function flattenFile(json: unknown, file: string): Map<string, Sourced> {
  const out = new Map<string, Sourced>();
  const source = `config file ${file}`;
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ConfigError([{ field: '(config file)', rule: 'type', message: `${file} needs to hold a JSON object` }]);
  }
  const unknown: Violation[] = [];
  for (const [key, value] of Object.entries(json)) {
    if (key === '$schema' || key === '//') continue;
    if (GROUPS.has(key) && typeof value === 'object' && value !== null && !Array.isArray(value)) {
      for (const [sub, subValue] of Object.entries(value)) {
        const dotted = `${key}.${sub}`;
        if (!KNOWN_KEYS.has(dotted)) unknown.push({ field: dotted, rule: 'unknown', message: `unknown setting (in ${source})` });
        else out.set(dotted, { value: subValue, source });
      }
    } else if (key === 'ssl' && typeof value === 'boolean') {
      out.set('ssl.enabled', { value, source });
    } else if (!KNOWN_KEYS.has(key) || GROUPS.has(key)) {
      unknown.push({
        field: key,
        rule: 'unknown',
        message: GROUPS.has(key) ? `needs to be an object (in ${source})` : `unknown setting (in ${source})`,
      });
    } else {
      out.set(key, { value, source });
    }
  }
  if (unknown.length > 0) throw new ConfigError(unknown);
  return out;
}

function envLayer(env: Readonly<Record<string, string | undefined>>): Map<string, Sourced> {
  const out = new Map<string, Sourced>();
  for (const spec of SETTINGS) {
    const value = env[spec.env];
    // An empty variable counts as unset, as shells and container runtimes often leave them.
    if (value !== undefined && value.trim() !== '') out.set(spec.key, { value, source: spec.env });
  }
  return out;
}

function unflatten(values: Map<string, Sourced>): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [key, { value }] of values) {
    const [head, tail] = key.split('.', 2) as [string, string | undefined];
    if (tail === undefined) root[head] = value;
    else root[head] = { ...((root[head] as Record<string, unknown> | undefined) ?? {}), [tail]: value };
  }
  return root;
}

const SECRET_KEYS = new Set(['sasl.password', 'ssl.passphrase', 'ui.token', 'ui.password']);

function describeValue(key: string, value: unknown): string {
  if (SECRET_KEYS.has(key)) return '(hidden)';
  const json = JSON.stringify(value) ?? String(value);
  return json.length > 80 ? `${json.slice(0, 77)}...` : json;
}

/**
 * Core states its limits in milliseconds and bytes ("an integer bigger or equal to 1000"); a
 * duration or size setting's limit is told the way people write the setting ("at least 1s").
 */
function inSettingUnits(violations: readonly Violation[]): Violation[] {
  return violations.map((v) => {
    const type = SETTINGS.find((s) => s.key === v.field)?.type;
    const text = type?.startsWith('duration') === true ? durationText : type?.startsWith('size') === true ? sizeText : undefined;
    if (text === undefined) return v;
    const message = v.message
      .replace(/an integer bigger or equal to (\d+)/, (_, n: string) => `at least ${text(Number(n))}`)
      .replace(/an integer smaller or equal to (\d+)/, (_, n: string) => `at most ${text(Number(n))}`);
    return { ...v, message };
  });
}

function withSource(violations: readonly Violation[], merged: Map<string, Sourced>): Violation[] {
  return violations.map((v) => {
    // Core names list items (`topics.0`): the source is the list's.
    const key = merged.has(v.field) ? v.field : v.field.split('.').slice(0, -1).join('.');
    const given = merged.get(key);
    if (given === undefined || given.source === 'default') return v;
    return { ...v, message: `${v.message} (from ${given.source}: ${describeValue(key, given.value)})` };
  });
}

function zodViolations(error: z.ZodError): Violation[] {
  return error.issues.flatMap((issue): Violation[] => {
    // A list item's issue (`topics.1`) is reported on the list: that is the setting people set.
    const path = issue.path
      .filter((p) => typeof p !== 'number')
      .map(String)
      .join('.');
    if (issue.code === 'unrecognized_keys')
      return issue.keys.map((k) => ({ field: path ? `${path}.${k}` : k, rule: 'unknown', message: 'unknown setting' }));
    return [{ field: path || '(config)', rule: issue.code, message: issue.message }];
  });
}

function readPem(path: string, field: string, cwd: string, read: (path: string) => string, merged: Map<string, Sourced>): string {
  const full = resolvePath(cwd, path);
  try {
    return read(full);
  } catch (error) {
    const reason = error instanceof Error && 'code' in error ? String((error as NodeJS.ErrnoException).code) : 'unreadable';
    throw new ConfigError(withSource([{ field, rule: 'file', message: `cannot read ${full} (${reason})` }], merged));
  }
}

/**
 * Loads and validates the configuration: defaults < config file < environment < flags.
 *
 * @throws ConfigError (`KSM_CONFIG`) naming each bad setting and where its value came from.
 *
 * @example
 * ```ts
 * const config = loadConfig({ env: process.env, flags: { brokers: '127.0.0.1:19092' } });
 * config.scheduler.topics; // ['scheduled_messages']
 * ```
 */
export function loadConfig(input: LoadConfigInput = {}): AppConfig {
  const env = input.env ?? process.env;
  const cwd = input.cwd ?? process.cwd();
  const read = input.readFile ?? ((path: string) => readFileSync(path, 'utf8'));
  const merged = new Map<string, Sourced>();
  for (const [key, value] of Object.entries(input.defaults ?? {})) merged.set(key, { value, source: 'default' });

  const fileArg = input.configFile ?? (env[CONFIG_FILE_ENV]?.trim() || undefined);
  let configFile: string | undefined;
  if (fileArg !== undefined) {
    configFile = resolvePath(cwd, fileArg);
    const origin = input.configFile !== undefined ? '--config' : CONFIG_FILE_ENV;
    let textContent: string;
    try {
      textContent = read(configFile);
    } catch (error) {
      const reason = error instanceof Error && 'code' in error ? String((error as NodeJS.ErrnoException).code) : 'unreadable';
      throw new ConfigError([
        { field: 'config', rule: 'file', message: `cannot read config file ${configFile} (${reason}; from ${origin})` },
      ]);
    }
    let json: unknown;
    try {
      json = JSON.parse(textContent);
    } catch (error) {
      throw new ConfigError([
        { field: 'config', rule: 'json', message: `config file ${configFile} is not valid JSON (${(error as Error).message})` },
      ]);
    }
    for (const [key, value] of flattenFile(json, configFile)) merged.set(key, value);
  }
  for (const [key, value] of envLayer(env)) merged.set(key, value);
  for (const [key, value] of Object.entries(input.flags ?? {})) {
    if (value !== undefined) merged.set(key, { value, source: input.flagNames?.[key] ?? `--${key}` });
  }

  const result = configSchema.safeParse(unflatten(merged));
  if (!result.success) throw new ConfigError(withSource(zodViolations(result.error), merged));
  const c: ParsedConfig = result.data;

  const problems: Violation[] = [];
  if (input.requireBrokers !== false && (c.brokers === undefined || c.brokers.length === 0)) {
    problems.push({
      field: 'brokers',
      rule: 'required',
      message: 'needs at least one broker (host:port): set KSCHED_BROKERS, --brokers or "brokers" in the config file',
    });
  }
  if (c.groupInstanceId !== undefined && c.adapter !== 'rdkafka') {
    problems.push({
      field: 'groupInstanceId',
      rule: 'adapter',
      message:
        'is a node-rdkafka setting: use it with adapter rdkafka (kafkajs has no static membership; shorten KSCHED_SESSION_TIMEOUT_MS instead)',
    });
  }
  if (c.partitionAssignmentStrategy !== undefined && c.adapter !== 'rdkafka') {
    problems.push({
      field: 'partitionAssignmentStrategy',
      rule: 'adapter',
      message:
        'is a node-rdkafka setting: use it with adapter rdkafka (kafkajs has one eager assignor; ksched resumes its partitions instead)',
    });
  }
  const saslGiven = Object.values(c.sasl).some((v) => v !== undefined);
  if (saslGiven) {
    if (c.sasl.mechanism === undefined)
      problems.push({
        field: 'sasl.mechanism',
        rule: 'required',
        message: `needs to be one of ${SASL_MECHANISMS.join(', ')} when other sasl.* settings are given`,
      });
    if (c.sasl.username === undefined) problems.push({ field: 'sasl.username', rule: 'required', message: 'is required with SASL' });
    if (c.sasl.password === undefined)
      problems.push({ field: 'sasl.password', rule: 'required', message: 'is required with SASL (KSCHED_SASL_PASSWORD)' });
  }
  if (c.ui.token !== undefined && (c.ui.username !== undefined || c.ui.password !== undefined)) {
    problems.push({ field: 'ui.token', rule: 'conflict', message: 'set a token or a user name and password for the Web UI, not both' });
  }
  if ((c.ui.username === undefined) !== (c.ui.password === undefined)) {
    const missing = c.ui.username === undefined ? 'ui.username' : 'ui.password';
    problems.push({ field: missing, rule: 'required', message: 'is required with the other half of the Web UI basic auth' });
  }
  if (problems.length > 0) throw new ConfigError(withSource(problems, merged));

  let scheduler: SchedulerOptions;
  try {
    scheduler = parseSchedulerOptions({
      topics: c.topics,
      groupId: c.groupId,
      intervalMs: c.intervalMs,
      statesPostfix: c.statesPostfix,
      transactional: c.transactional,
      transactionalFencing: c.transactionalFencing,
      // A static member's instance id is its own and stable: a restart then settles its predecessor's transaction at once.
      ...(c.transactionalFencing === 'group' && c.groupInstanceId !== undefined ? { transactionalMemberId: c.groupInstanceId } : {}),
      ...(c.flushBatchSize !== undefined ? { flushBatchSize: c.flushBatchSize } : {}),
      ...(c.statesReportIntervalMs !== undefined ? { statesReportIntervalMs: c.statesReportIntervalMs } : {}),
      ...(c.loadedGraceMs !== undefined ? { loadedGraceMs: c.loadedGraceMs } : {}),
      ...(c.bufferHorizonMs !== undefined ? { bufferHorizonMs: c.bufferHorizonMs } : {}),
      ...(c.bufferMaxBytes !== undefined ? { bufferMaxBytes: c.bufferMaxBytes } : {}),
      ...(c.rebalanceRetainMs !== undefined ? { rebalanceRetainMs: c.rebalanceRetainMs } : {}),
      ...(c.transactionalIdPrefix !== undefined ? { transactionalIdPrefix: c.transactionalIdPrefix } : {}),
      ...(c.deadLetterTopic !== undefined ? { deadLetterTopic: c.deadLetterTopic } : {}),
      ...(c.commitOffsets !== undefined ? { commitOffsets: c.commitOffsets } : {}),
      ...(c.retryBackoffMs !== undefined ? { retryBackoffMs: c.retryBackoffMs } : {}),
      ...(c.undeliverableAttempts !== undefined ? { undeliverableAttempts: c.undeliverableAttempts } : {}),
      ...(c.undeliverableAfterMs !== undefined ? { undeliverableAfterMs: c.undeliverableAfterMs } : {}),
    });
  } catch (error) {
    if (ConfigError.isInstance(error)) throw new ConfigError(withSource(inSettingUnits(error.violations), merged));
    throw error;
  }

  const tlsFiles = c.ssl.caFile ?? c.ssl.certFile ?? c.ssl.keyFile;
  let ssl: true | TlsSettings | undefined;
  if (c.ssl.enabled === true || (c.ssl.enabled !== false && tlsFiles !== undefined)) {
    const tls: TlsSettings = {
      ...(c.ssl.caFile !== undefined ? { ca: readPem(c.ssl.caFile, 'ssl.caFile', cwd, read, merged) } : {}),
      ...(c.ssl.certFile !== undefined ? { cert: readPem(c.ssl.certFile, 'ssl.certFile', cwd, read, merged) } : {}),
      ...(c.ssl.keyFile !== undefined ? { key: readPem(c.ssl.keyFile, 'ssl.keyFile', cwd, read, merged) } : {}),
      ...(c.ssl.passphrase !== undefined ? { passphrase: c.ssl.passphrase } : {}),
      ...(c.ssl.rejectUnauthorized !== undefined ? { rejectUnauthorized: c.ssl.rejectUnauthorized } : {}),
    };
    ssl = Object.keys(tls).length === 0 ? true : tls;
  }

  const sources: Record<string, string> = {};
  for (const [key, { source }] of merged) if (source !== 'default') sources[key] = source;

  return {
    connection: {
      adapter: c.adapter,
      brokers: c.brokers ?? [],
      clientId: c.clientId,
      clientLogLevel: c.clientLogLevel,
      ...(c.connectionTimeoutMs !== undefined ? { connectionTimeoutMs: c.connectionTimeoutMs } : {}),
      ...(c.requestTimeoutMs !== undefined ? { requestTimeoutMs: c.requestTimeoutMs } : {}),
      ...(c.sessionTimeoutMs !== undefined ? { sessionTimeoutMs: c.sessionTimeoutMs } : {}),
      ...(c.partitionAssignmentStrategy !== undefined ? { partitionAssignmentStrategy: c.partitionAssignmentStrategy } : {}),
      ...(c.groupInstanceId !== undefined ? { groupInstanceId: c.groupInstanceId } : {}),
      ...(ssl !== undefined ? { ssl } : {}),
      ...(saslGiven ? { sasl: c.sasl as SaslSettings } : {}),
    },
    scheduler,
    partitions: c.partitions,
    replicationFactor: c.replicationFactor,
    http: c.http,
    ui: {
      enabled: c.ui.enabled,
      host: c.ui.host,
      port: c.ui.port,
      readsNeedCredential: c.ui.readsNeedCredential,
      ...(c.ui.token !== undefined
        ? { auth: { token: c.ui.token } }
        : c.ui.username !== undefined && c.ui.password !== undefined
          ? { auth: { basic: { username: c.ui.username, password: c.ui.password } } }
          : {}),
    },
    log: { level: c.log.level, ...(c.log.pretty !== undefined ? { pretty: c.log.pretty } : {}) },
    shutdownTimeoutMs: c.shutdownTimeoutMs,
    sources,
    ...(configFile !== undefined ? { configFile } : {}),
  };
}

/** A short, one-line description of a configuration error for stderr. */
export function describeConfigError(error: ConfigError): string {
  return `invalid configuration: ${error.violations.map((v) => `${v.field}: ${v.message}`).join('; ')}`;
}
