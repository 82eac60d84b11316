/**
 * Each adapter's transport options carry the kit's transport settings (`transportSettingsShape`,
 * tested once in core's `transport-settings.test.ts`) with the kit's defaults, whatever each adapter adds.
 */
import { describe, expect, it } from 'vitest';
import { schemaDefault, transportSettingsShape } from '@ksched/core/adapter';
import { parseKafkaJsTransportOptions } from '@ksched/kafka-adapter-kafkajs';
import { parseRdKafkaTransportOptions } from '@ksched/kafka-adapter-rdkafka';

const kitDefaults = Object.fromEntries(Object.entries(transportSettingsShape).map(([name, schema]) => [name, schemaDefault(schema)]));

describe.each([
  ['kafkajs', parseKafkaJsTransportOptions],
  ['rdkafka', parseRdKafkaTransportOptions],
] as const)('the %s transport options', (_name, parse) => {
  it("take the kit's transport settings with the kit's defaults", () => {
    expect(Object.keys(kitDefaults)).toHaveLength(6);
    expect(parse({ brokers: ['127.0.0.1:19092'] })).toMatchObject(kitDefaults);
  });

  it("take the kit's transport settings as given", () => {
    const given = { sessionTimeoutMs: 6000, heartbeatIntervalMs: 1000, maxWaitTimeMs: 100, maxBatchRetries: 0 };
    expect(parse({ brokers: ['127.0.0.1:19092'], ...given })).toMatchObject(given);
  });
});
