/**
 * Maps the configured adapter name to the adapter package, loaded lazily: the rdkafka adapter
 * (and its native node-rdkafka binding) is imported only when `adapter` is `rdkafka`, so the
 * service runs on kafkajs where node-rdkafka is not built.
 *
 * @module
 */
import { ConfigError } from '@ksched/core';
import type { Logger, Transport } from '@ksched/core';
import type { ScheduleClient, ScheduleClientOptions } from '@ksched/kafka-adapter-kafkajs';
import type { AdapterName, AppConfig, ConnectionConfig } from './config.js';

/** Connection settings as both adapters take them. */
export interface AdapterConnectionOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly logLevel: ConnectionConfig['clientLogLevel'];
  readonly logger: Logger;
  readonly connectionTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
  readonly ssl?: ConnectionConfig['ssl'];
  readonly sasl?: ConnectionConfig['sasl'];
}

/** Settings of the topic administration functions. */
export interface TopicsSettings {
  readonly topics: readonly string[];
  readonly partitions?: number;
  readonly replicationFactor?: number;
  readonly statesPostfix?: string;
  readonly checkConfigs?: boolean;
}

/** What the app uses from an adapter package (both export these names). */
export interface KafkaAdapter {
  readonly name: AdapterName;
  createTransport(
    options: AdapterConnectionOptions & {
      readonly sessionTimeoutMs?: number;
      readonly partitionAssignmentStrategy?: 'range' | 'roundrobin' | 'cooperative-sticky';
    },
  ): Transport;
  ensureSchedulesTopics(
    options: AdapterConnectionOptions & TopicsSettings,
  ): Promise<{ readonly created: readonly string[]; readonly existing: readonly string[] }>;
  verifySchedulesTopics(options: AdapterConnectionOptions & TopicsSettings): Promise<string[]>;
  createTopic(
    options: AdapterConnectionOptions & { readonly topic: string; readonly partitions?: number; readonly replicationFactor?: number },
  ): Promise<boolean>;
  createScheduleClient(options: ScheduleClientOptions): ScheduleClient;
}

type AnyFunction = (...args: never[]) => unknown;

// A variable specifier keeps TypeScript (and bundlers) from resolving the optional adapter statically.
const RDKAFKA_PACKAGE: string = '@ksched/kafka-adapter-rdkafka';

/**
 * Imports the adapter package for `name`.
 *
 * @throws ConfigError (`KSM_CONFIG`, field `adapter`) when the package cannot be loaded (for
 *   rdkafka: node-rdkafka not built) or lacks a function the app needs.
 */
export async function loadAdapter(name: AdapterName): Promise<KafkaAdapter> {
  if (name === 'kafkajs') {
    const m = await import('@ksched/kafka-adapter-kafkajs');
    return {
      name,
      createTransport: (options) => m.createKafkaJsTransport(options as Parameters<typeof m.createKafkaJsTransport>[0]),
      ensureSchedulesTopics: (options) => m.ensureSchedulesTopics(options as Parameters<typeof m.ensureSchedulesTopics>[0]),
      verifySchedulesTopics: (options) => m.verifySchedulesTopics(options as Parameters<typeof m.verifySchedulesTopics>[0]),
      createTopic: (options) => m.createTopic(options as Parameters<typeof m.createTopic>[0]),
      createScheduleClient: (options) => m.createScheduleClient(options),
    };
  }
  let m: Record<string, unknown>;
  try {
    m = (await import(RDKAFKA_PACKAGE)) as Record<string, unknown>;
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new ConfigError([
      {
        field: 'adapter',
        rule: 'unavailable',
        message: `the rdkafka adapter cannot be loaded (${reason}); is node-rdkafka built? Use --adapter kafkajs meanwhile`,
      },
    ]);
  }
  const wanted = ['createRdKafkaTransport', 'ensureSchedulesTopics', 'verifySchedulesTopics', 'createTopic'] as const;
  const missing = wanted.filter((n) => typeof m[n] !== 'function');
  if (missing.length > 0) {
    throw new ConfigError([
      {
        field: 'adapter',
        rule: 'unavailable',
        message: `the rdkafka adapter does not export ${missing.join(', ')} yet; use --adapter kafkajs`,
      },
    ]);
  }
  const fn = <T extends AnyFunction>(n: string) => m[n] as T;
  // The producer-side client only needs a Transport: fall back to the kafkajs package's, which
  // partitions with the same murmur2 through whatever transport it is given.
  const clientFactory =
    typeof m['createScheduleClient'] === 'function'
      ? fn<KafkaAdapter['createScheduleClient']>('createScheduleClient')
      : (await import('@ksched/kafka-adapter-kafkajs')).createScheduleClient;
  return {
    name,
    createTransport: (options) => fn<KafkaAdapter['createTransport']>('createRdKafkaTransport')(options),
    ensureSchedulesTopics: fn<KafkaAdapter['ensureSchedulesTopics']>('ensureSchedulesTopics'),
    verifySchedulesTopics: fn<KafkaAdapter['verifySchedulesTopics']>('verifySchedulesTopics'),
    createTopic: fn<KafkaAdapter['createTopic']>('createTopic'),
    createScheduleClient: (options) => clientFactory(options),
  };
}

/** The adapter connection options for a configuration. */
export function connectionOptions(config: Pick<AppConfig, 'connection'>, logger: Logger): AdapterConnectionOptions {
  const c = config.connection;
  return {
    brokers: c.brokers,
    clientId: c.clientId,
    logLevel: c.clientLogLevel,
    logger,
    ...(c.connectionTimeoutMs !== undefined ? { connectionTimeoutMs: c.connectionTimeoutMs } : {}),
    ...(c.requestTimeoutMs !== undefined ? { requestTimeoutMs: c.requestTimeoutMs } : {}),
    ...(c.ssl !== undefined ? { ssl: c.ssl } : {}),
    ...(c.sasl !== undefined ? { sasl: c.sasl } : {}),
  };
}
