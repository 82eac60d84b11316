/**
 * The producer-side client over this adapter: core's `createScheduleClient`, with the transport
 * either given or created from kafkajs options (then connected on first use and closed by
 * `close()`).
 *
 * @module
 */
import { createScheduleClient as createCoreScheduleClient } from '@ksched/core';
import type { Clock, ScheduleClient, Transport } from '@ksched/core';
import { createKafkaJsTransport } from './kafkajs-transport.js';
import type { KafkaJsTransportOptions } from './options.js';

/** Client settings other than the connection. */
interface ScheduleClientSettings {
  /** The schedules topic every record goes to (also the only one the builders accept). */
  readonly schedulesTopic: string;
  /** "Now" for relative delays and the past/future limits. Default: the system clock. */
  readonly clock?: Pick<Clock, 'now'>;
  /** UUID v4 source for generated envelope keys. Default: `crypto.randomUUID`. */
  readonly uuid?: () => string;
}

/**
 * Options of {@link createScheduleClient}: a `transport` (the client does not close it), or kafkajs
 * transport options (the client creates its transport and closes it).
 */
export type ScheduleClientOptions = ScheduleClientSettings & ({ readonly transport: Transport } | KafkaJsTransportOptions);

const SETTING_KEYS = new Set(['schedulesTopic', 'clock', 'uuid', 'transport']);

/**
 * Creates a schedule client (see core's `createScheduleClient`).
 *
 * @throws ConfigError (`KSM_CONFIG`) for invalid kafkajs options.
 *
 * @example
 * ```ts
 * const client = createScheduleClient({ brokers: ['127.0.0.1:19092'], schedulesTopic: 'scheduled_messages' });
 * const ref = await client.schedule({ message: { topic: 'orders', key: 'order-42', payload: 'remind' }, delayMs: 60_000 });
 * await client.cancel(ref); // same key, same partition
 * await client.close();
 * ```
 */
export function createScheduleClient(options: ScheduleClientOptions): ScheduleClient {
  const settings = {
    schedulesTopic: options.schedulesTopic,
    ...(options.clock !== undefined ? { clock: options.clock } : {}),
    ...(options.uuid !== undefined ? { uuid: options.uuid } : {}),
  };
  if ('transport' in options && options.transport !== undefined)
    return createCoreScheduleClient({ ...settings, transport: options.transport });
  const transportOptions: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(options)) if (!SETTING_KEYS.has(k)) transportOptions[k] = v;
  const transport = createKafkaJsTransport(transportOptions as KafkaJsTransportOptions);
  return createCoreScheduleClient({ ...settings, transport, ownsTransport: true });
}
