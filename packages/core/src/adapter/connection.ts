/**
 * The connection settings every Kafka adapter takes, said once: one zod schema with the rules,
 * the defaults and a one-line description of each setting (`.describe()`), which the adapters
 * extend with their own settings and the service reads to document its flags and variables.
 * Units are in the names.
 *
 * @module
 */
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import type { Violation } from '../errors.js';
import { noopLogger } from '../ports/logger.js';
import type { Logger } from '../ports/logger.js';

/** Log levels of a Kafka client's own logs, from quietest to most verbose. */
export const CLIENT_LOG_LEVELS = ['nothing', 'error', 'warn', 'info', 'debug'] as const;

/** SASL mechanisms every adapter supports with `{ mechanism, username, password }`. */
export const SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;

/** An integer setting of at least `min`, with the message every adapter gives. */
export const integerAtLeast = (min: number) =>
  z
    .number({ error: `needs to be an integer ≥ ${min}` })
    .int(`needs to be an integer ≥ ${min}`)
    .min(min, `needs to be an integer ≥ ${min}`);

/** A plain object (not null, not an array). */
export const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The message of a strict settings object: unknown keys listed, else `needs to be <what>`. */
export const unknownSettings =
  (what = 'an object') =>
  (issue: { code: string; keys?: string[] }): string =>
    issue.code === 'unrecognized_keys' ? `unknown setting(s): ${(issue.keys ?? []).join(', ')}` : `needs to be ${what}`;

/** A ksched {@link Logger}: an object with debug, info, warn and error methods. */
export const loggerSchema = z.custom<Logger>(
  (value) => isPlainObject(value) && ['debug', 'info', 'warn', 'error'].every((m) => typeof value[m] === 'function'),
  { error: 'needs to be a logger with debug, info, warn and error methods' },
);

/** Bootstrap brokers: a list of `host:port`, or one comma-separated string (trimmed, empties dropped). */
export const brokersSchema = z
  .union([z.string(), z.array(z.string({ error: 'needs to be host:port strings' }))], {
    error: 'needs to be a list of host:port strings (or one comma-separated string)',
  })
  .transform((value) => (typeof value === 'string' ? value.split(',') : value).map((b) => b.trim()).filter((b) => b.length > 0))
  .pipe(z.array(z.string().regex(/^[^\s:,]+:\d+$/, 'each broker needs to be host:port')).min(1, 'needs at least one broker (host:port)'));

const pem = z.string({ error: 'needs to be a PEM string' }).min(1, 'must not be empty');

/** TLS settings: certificates as PEM text, and whether to verify the broker's certificate. */
export const tlsOptionsSchema = z.strictObject(
  {
    ca: z
      .union([pem, z.array(pem)])
      .optional()
      .describe('CA certificate(s), PEM'),
    cert: pem.optional().describe('client certificate, PEM (mutual TLS)'),
    key: pem.optional().describe('client private key, PEM (mutual TLS)'),
    passphrase: z.string({ error: 'needs to be a string' }).optional().describe('password of the client key'),
    rejectUnauthorized: z.boolean({ error: 'needs to be a boolean' }).default(true).describe("verify the broker's certificate"),
  },
  {
    error: (i) =>
      i.code === 'unrecognized_keys' ? `unknown TLS setting(s): ${i.keys.join(', ')}` : 'needs to be a boolean or a TLS settings object',
  },
);

/** SASL authentication with a user name and password (PLAIN or SCRAM). */
export const saslOptionsSchema = z.strictObject(
  {
    mechanism: z.enum(SASL_MECHANISMS, { error: 'needs to be plain, scram-sha-256 or scram-sha-512' }).describe('SASL mechanism'),
    username: z.string({ error: 'needs to be a string' }).min(1, 'must not be empty').describe('SASL user name'),
    password: z.string({ error: 'needs to be a string' }).describe('SASL password'),
  },
  {
    error: (i) =>
      i.code === 'unrecognized_keys'
        ? `unknown SASL setting(s): ${i.keys.join(', ')} (other mechanisms: see the adapter's own settings)`
        : 'needs to be { mechanism, username, password }',
  },
);

/**
 * Connection settings shared by every adapter's transport, topic administration and schedule
 * client. An adapter extends it with its own settings (and may widen `ssl` / `sasl` to what its
 * client accepts, or give `connectionTimeoutMs` its default); the descriptions are one line each,
 * as the service shows them.
 */
export const connectionOptionsSchema = z.strictObject(
  {
    brokers: brokersSchema.describe('bootstrap brokers, host:port (a list, or one comma-separated string)'),
    clientId: z
      .string({ error: 'needs to be a string' })
      .min(1, 'must not be empty')
      .default('ksched')
      .describe('client id sent to the brokers'),
    ssl: z
      .union([z.boolean(), tlsOptionsSchema], { error: 'needs to be a boolean or a TLS settings object' })
      .optional()
      .describe('connect with TLS: true (system CAs), or TLS settings'),
    sasl: saslOptionsSchema.optional().describe('SASL authentication'),
    connectionTimeoutMs: integerAtLeast(1).optional().describe('TCP connect timeout'),
    requestTimeoutMs: integerAtLeast(1).default(30_000).describe('timeout of one Kafka request'),
    logLevel: z
      .enum(CLIENT_LOG_LEVELS, { error: 'needs to be nothing, error, warn, info or debug' })
      .default('warn')
      .describe('most verbose Kafka client log level forwarded to the logger'),
    logger: loggerSchema.default(() => noopLogger).describe("receives the Kafka client logs (and the adapter's own); default: drops them"),
  },
  { error: unknownSettings() },
);

/**
 * Transport settings every adapter takes besides the connection (group membership, fetching,
 * redelivery), with the same meaning, default and description everywhere. An adapter spreads this
 * shape into its transport schema (`...transportSettingsShape`) and adds its own tuning; its
 * module comment says which client property each one sets.
 */
export const transportSettingsShape = {
  /** Consumer group session timeout, ms: a member silent this long is removed from the group. */
  sessionTimeoutMs: integerAtLeast(1)
    .default(30_000)
    .describe('consumer group session timeout: a member silent this long is removed from the group'),
  /** How long the group waits for members to rejoin during a rebalance, ms; also bounds how long `onRevoked` may take. */
  rebalanceTimeoutMs: integerAtLeast(1).default(60_000).describe('how long the group waits for members to rejoin during a rebalance'),
  /** Heartbeat interval, ms (also while a long `onBatch` runs). */
  heartbeatIntervalMs: integerAtLeast(1).default(3000).describe('consumer group heartbeat interval'),
  /**
   * Longest a fetch waits on the broker for new records, ms. Also bounds how late a paused
   * partition (after an assignment or a seek) resumes, so keep it short.
   */
  maxWaitTimeMs: integerAtLeast(0).default(500).describe('longest a fetch waits on the broker for new records'),
  /** Fetch size hint per partition, bytes: the upper bound of one batch. */
  fetchMaxBytesPerPartition: integerAtLeast(1).default(1_048_576).describe('fetch size hint per partition, bytes'),
  /**
   * How many times in a row a batch whose `onBatch` rejected is delivered again (after a
   * backoff) before the partition stops until its next seek.
   */
  maxBatchRetries: integerAtLeast(0)
    .default(3)
    .describe('redeliveries of a batch whose onBatch rejected before the partition stops until its next seek'),
};

/** Connection settings as given. */
export type ConnectionOptions = z.input<typeof connectionOptionsSchema>;
/** Connection settings with defaults applied. */
export type ResolvedConnectionOptions = z.output<typeof connectionOptionsSchema>;
/** TLS settings as given. */
export type TlsOptions = z.input<typeof tlsOptionsSchema>;
/** SASL settings. */
export type SaslOptions = z.output<typeof saslOptionsSchema>;

/** zod issues as violations: the dotted path of the setting (`(options)` for the whole object), the zod code and the message. */
export function optionViolations(error: z.ZodError): Violation[] {
  return error.issues.map((issue) => ({
    field: issue.path.length > 0 ? issue.path.map(String).join('.') : '(options)',
    rule: issue.code,
    message: issue.message,
  }));
}

/**
 * Parses adapter settings with `schema`.
 *
 * @throws ConfigError (`KSM_CONFIG`) naming each bad setting, e.g. `brokers: needs at least one broker (host:port)`.
 */
export function parseOptions<T>(schema: z.ZodType<T>, input: unknown): T {
  const result = schema.safeParse(input);
  if (!result.success) throw new ConfigError(optionViolations(result.error));
  return result.data;
}

/**
 * The parse function of an adapter's settings schema: validates settings and fills in defaults.
 *
 * @throws ConfigError (`KSM_CONFIG`) naming each bad setting, e.g. `brokers: needs at least one broker (host:port)`.
 */
export function optionsParser<S extends z.ZodType>(schema: S): (input: z.input<S>) => z.output<S> {
  return (input) => parseOptions(schema, input) as z.output<S>;
}

/** An adapter's option schemas and their parse functions (see {@link adapterOptionSchemas}). */
export interface AdapterOptionSchemas<Connection extends z.ZodType, Transport extends z.ZodType> {
  /** Connection settings shared by the transport, the topic administration and the schedule client. */
  readonly connection: Connection;
  /** Settings of the transport: the connection plus the consumer and producer tuning. */
  readonly transport: Transport;
  /**
   * Validates connection settings and fills in defaults.
   *
   * @throws ConfigError (`KSM_CONFIG`) naming each bad setting.
   */
  readonly parseConnection: (input: z.input<Connection>) => z.output<Connection>;
  /**
   * Validates transport settings and fills in defaults.
   *
   * @throws ConfigError (`KSM_CONFIG`) naming each bad setting.
   */
  readonly parseTransport: (input: z.input<Transport>) => z.output<Transport>;
}

/**
 * An adapter's option schemas from its own settings alone: the connection schema is
 * {@link connectionOptionsSchema} extended with `connection` (settings the adapter adds, or kit
 * settings it widens or gives a default), the transport schema that plus
 * {@link transportSettingsShape} and `transport` (the adapter's tuning); with their parse
 * functions, which throw a `ConfigError` naming each bad setting.
 *
 * @example
 * ```ts
 * export const { connection: myConnectionOptionsSchema, transport: myTransportOptionsSchema, parseTransport } =
 *   adapterOptionSchemas({
 *     connection: { connectionTimeoutMs: integerAtLeast(1).default(3000) },
 *     transport: { fetchMaxBytes: integerAtLeast(1).default(10_485_760) },
 *   });
 * ```
 */
export function adapterOptionSchemas<C extends z.core.$ZodLooseShape, T extends z.core.$ZodLooseShape>(own: {
  readonly connection: C;
  readonly transport: T;
}) {
  const connection = connectionOptionsSchema.extend(own.connection);
  const transport = connection.extend({ ...transportSettingsShape, ...own.transport });
  const schemas: AdapterOptionSchemas<typeof connection, typeof transport> = {
    connection,
    transport,
    parseConnection: optionsParser(connection),
    parseTransport: optionsParser(transport),
  };
  return schemas;
}

/**
 * Validates connection settings and fills in defaults.
 *
 * @throws ConfigError (`KSM_CONFIG`) naming each bad setting.
 */
export function parseConnectionOptions(input: ConnectionOptions): ResolvedConnectionOptions {
  return parseOptions(connectionOptionsSchema, input);
}

/** The schema inside optional / default / pipe wrappers (the part that names the value's type). */
function unwrap(schema: z.ZodType): z.ZodType {
  let current: z.ZodType = schema;
  for (;;) {
    const def = current._zod.def as { type: string; innerType?: z.ZodType; out?: z.ZodType };
    if ((def.type === 'optional' || def.type === 'default' || def.type === 'nullable') && def.innerType) current = def.innerType;
    else if (def.type === 'pipe' && def.out) current = def.out;
    else return current;
  }
}

/**
 * The default of a setting's schema (`undefined` when it has none), reading through `optional`
 * and `pipe` (preprocess) wrappers.
 */
export function schemaDefault(schema: z.ZodType): unknown {
  let current: z.ZodType | undefined = schema;
  while (current !== undefined) {
    const def = current._zod.def as { type: string; defaultValue?: unknown; innerType?: z.ZodType; out?: z.ZodType };
    if (def.type === 'default') return def.defaultValue;
    current = def.type === 'optional' || def.type === 'nullable' ? def.innerType : def.type === 'pipe' ? def.out : undefined;
  }
  return undefined;
}

/** The `.describe()` text of a setting's schema, looking inside wrappers when the outer one has none. */
export function schemaDescription(schema: z.ZodType): string | undefined {
  return schema.description ?? unwrap(schema).description;
}
