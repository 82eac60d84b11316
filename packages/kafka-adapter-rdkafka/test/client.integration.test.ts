/**
 * The rdkafka adapter's schedule client from connection options (core's client over a transport
 * it is given is in the Transport conformance suite).
 */
import { describe, expect, it } from 'vitest';
import { ContractViolationError, partitionForKey } from '@ksched/core';
import { createScheduleClient } from '../src/index.js';
import { brokers, useResources } from './helpers.js';

const r = useResources();

describe('rdkafka schedule client', () => {
  it('creates its own transport from rdkafka options and closes it; a schedule in the past is refused', async () => {
    const [schedulesTopic] = await r.schedulesTopics(5, 'client');
    const client = createScheduleClient({ brokers, clientId: 'ksched-rdkafka-client-test', schedulesTopic: schedulesTopic! });
    try {
      const ref = await client.schedule({ message: { topic: 'orders', payload: 'x' }, envelope: { key: 'k-1' }, delayMs: 60_000 });
      expect(ref).toMatchObject({ partition: partitionForKey('k-1', 5), offset: 0 });
      await expect(client.schedule({ message: { topic: 'orders', payload: 'x' }, epoch: 1 })).rejects.toSatisfy(
        ContractViolationError.isInstance,
      );
    } finally {
      await client.close();
    }
  });
});
