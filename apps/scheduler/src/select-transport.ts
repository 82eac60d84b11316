/**
 * Maps the configured adapter name to the adapter package, loaded lazily: the rdkafka adapter
 * (and its native node-rdkafka binding) is imported only when `adapter` is `rdkafka`, so the
 * service runs on kafkajs where node-rdkafka is not built.
 *
 * @module
 */
import { ConfigError } from '@ksched/core';
import type { Logger } from '@ksched/core';
import type { KafkaAdapter as AdapterKit, VerifySchedulesTopicsSettings } from '@ksched/core/adapter';
import type { AdapterName, AppConfig, ConnectionConfig } from './config.js';

/** Connection settings as both adapters take them. */
export interface AdapterConnectionOptions {
  readonly brokers: string[];
  readonly clientId: string;
  readonly logLevel: ConnectionConfig['clientLogLevel'];
  readonly logger: Logger;
  readonly connectionTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
  readonly ssl?: ConnectionConfig['ssl'];
  readonly sasl?: ConnectionConfig['sasl'];
}

/** Settings of the topic administration functions (the kit's, besides the connection). */
export type TopicsSettings = VerifySchedulesTopicsSettings;

/** Transport options the app gives an adapter. */
export type AdapterTransportOptions = AdapterConnectionOptions & {
  readonly sessionTimeoutMs?: number;
  readonly partitionAssignmentStrategy?: 'range' | 'roundrobin' | 'cooperative-sticky';
  readonly groupInstanceId?: string;
};

/**
 * What the app uses from an adapter package: its `adapter` export (built by the kit's
 * `defineAdapter`), seen through the app's option types.
 */
export type KafkaAdapter = AdapterKit<AdapterTransportOptions, AdapterConnectionOptions>;

// A variable specifier keeps TypeScript (and bundlers) from resolving the optional adapter statically.
const RDKAFKA_PACKAGE: string = '@ksched/kafka-adapter-rdkafka';

function unavailable(message: string): ConfigError {
  return new ConfigError([{ field: 'adapter', rule: 'unavailable', message }]);
}

/**
 * Imports the adapter package for `name`.
 *
 * @throws ConfigError (`KSM_CONFIG`, field `adapter`) when the package cannot be loaded (for
 *   rdkafka: node-rdkafka not built) or does not export an `adapter`.
 */
export async function loadAdapter(name: AdapterName): Promise<KafkaAdapter> {
  if (name === 'kafkajs') return (await import('@ksched/kafka-adapter-kafkajs')).adapter;
  let m: { readonly adapter?: KafkaAdapter };
  try {
    m = await import(RDKAFKA_PACKAGE);
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw unavailable(
      `the rdkafka adapter cannot be loaded (${reason}): install it next to ksched (npm install @ksched/kafka-adapter-rdkafka node-rdkafka@~3.6.1; node-rdkafka builds librdkafka, which needs python3, make and a C++ compiler), or use --adapter kafkajs`,
    );
  }
  if (m.adapter === undefined) throw unavailable('the rdkafka adapter does not export an adapter; use --adapter kafkajs');
  return m.adapter;
}

/** The adapter connection options for a configuration. */
export function connectionOptions(config: Pick<AppConfig, 'connection'>, logger: Logger): AdapterConnectionOptions {
  const c = config.connection;
  return {
    brokers: [...c.brokers],
    clientId: c.clientId,
    logLevel: c.clientLogLevel,
    logger,
    ...(c.connectionTimeoutMs !== undefined ? { connectionTimeoutMs: c.connectionTimeoutMs } : {}),
    ...(c.requestTimeoutMs !== undefined ? { requestTimeoutMs: c.requestTimeoutMs } : {}),
    ...(c.ssl !== undefined ? { ssl: c.ssl } : {}),
    ...(c.sasl !== undefined ? { sasl: c.sasl } : {}),
  };
}
