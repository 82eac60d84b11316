/**
 * One schedule client factory for every adapter: core's `createScheduleClient`, with the transport
 * either given (the client does not close it) or created from the adapter's transport options
 * (then connected on first use and closed by the client's `close()`).
 *
 * @module
 */
import { createScheduleClient as createCoreScheduleClient } from '../client/schedule-client.js';
import type { ScheduleClient } from '../client/schedule-client.js';
import type { Clock } from '../ports/clock.js';
import type { Transport } from '../ports/transport.js';

/** Client settings other than the connection. */
export interface ScheduleClientSettings {
  /** The schedules topic every record goes to (also the only one the builders accept). */
  readonly schedulesTopic: string;
  /** "Now" for relative delays and the past/future limits. Default: the system clock. */
  readonly clock?: Pick<Clock, 'now'>;
  /** UUID v4 source for generated envelope keys. Default: `crypto.randomUUID`. */
  readonly uuid?: () => string;
}

/**
 * Options of an adapter's `createScheduleClient`: a `transport` (the client does not close it),
 * or the adapter's transport options `T` (the client creates its transport and closes it).
 */
export type AdapterScheduleClientOptions<T> = ScheduleClientSettings & ({ readonly transport: Transport } | T);

const SETTING_KEYS = new Set(['schedulesTopic', 'clock', 'uuid', 'transport']);

/**
 * An adapter's `createScheduleClient`, bound to its transport factory.
 *
 * @example
 * ```ts
 * export const createScheduleClient = scheduleClientFactory(createMyTransport);
 * const client = createScheduleClient({ brokers: ['127.0.0.1:19092'], schedulesTopic: 'scheduled_messages' });
 * ```
 */
export function scheduleClientFactory<T>(
  createTransport: (options: T) => Transport,
): (options: AdapterScheduleClientOptions<T>) => ScheduleClient {
  return (options) => {
    const settings = {
      schedulesTopic: options.schedulesTopic,
      ...(options.clock !== undefined ? { clock: options.clock } : {}),
      ...(options.uuid !== undefined ? { uuid: options.uuid } : {}),
    };
    if ('transport' in options && options.transport !== undefined)
      return createCoreScheduleClient({ ...settings, transport: options.transport });
    const transportOptions: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(options)) if (!SETTING_KEYS.has(k)) transportOptions[k] = v;
    // Creating the transport validates the options (a ConfigError naming each bad setting).
    const transport = createTransport(transportOptions as T);
    return createCoreScheduleClient({ ...settings, transport, ownsTransport: true });
  };
}
