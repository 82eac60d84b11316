/**
 * The kafkajs adapter's schedule client from connection options (core's client over a transport
 * it is given is in the Transport conformance suite).
 */
import { describe, expect, it } from 'vitest';
import { ContractViolationError, partitionForKey } from '@ksched/core';
import { createScheduleClient } from '../src/index.js';
import { brokers, useResources } from './helpers.js';

const r = useResources();

describe('kafkajs schedule client', () => {
  it('creates and closes its own transport from kafkajs options; the builders validate the envelope topic', async () => {
    const [topic] = await r.schedulesTopics(5, 'client');
    const client = createScheduleClient({ brokers, clientId: 'ksched-client-test', schedulesTopic: topic! });
    try {
      const ref = await client.schedule({ message: { topic: 'orders', payload: 'x' }, envelope: { key: 'k-1' }, delayMs: 60_000 });
      expect(ref.partition).toBe(partitionForKey('k-1', 5));
      expect(ref.offset).toBe(0);
      const past = await client.schedule({ message: { topic: 'orders', payload: 'x' }, epoch: 1 }).catch((e: unknown) => e);
      expect(ContractViolationError.isInstance(past)).toBe(true);
    } finally {
      await client.close();
    }
  });
});
