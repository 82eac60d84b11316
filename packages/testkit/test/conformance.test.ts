import { FakeBroker } from '../src/index.js';
import type { FakeTransport } from '../src/index.js';
import { describeTransportConformance } from '../src/vitest.js';
import type { ConformanceHarness, OpenTransaction } from '../src/vitest.js';
import type { ProduceRecord } from '@ksched/core';

/** The FakeBroker harness: every optional hook, backed by the broker's test helpers and faults. */
async function fakeBrokerHarness(): Promise<ConformanceHarness> {
  const broker = new FakeBroker();
  let admin: FakeTransport | undefined;
  const adminTransport = async (): Promise<FakeTransport> => {
    if (admin === undefined) {
      admin = broker.createTransport({ clientId: 'conformance-admin' });
      await admin.connect();
    }
    return admin;
  };
  return {
    createTransport: async () => broker.createTransport(),
    createTopic: async (name, partitions, options = {}) => {
      broker.createTopic(name, { partitions, compacted: options.compacted ?? false });
    },
    compact: async (topic) => {
      broker.compact(topic, { tombstoneRetentionMs: 0 });
    },
    deleteRecords: async (tp, beforeOffset) => {
      broker.deleteRecords(tp, beforeOffset);
    },
    openTransaction: async (transactionalId: string, records: readonly ProduceRecord[]): Promise<OpenTransaction> => {
      const producer = await (await adminTransport()).createTransactionalProducer(transactionalId);
      await producer.init();
      const pause = broker.faults.pauseTransactionBeforeCommit(transactionalId);
      const sending = producer.sendInTransaction(records);
      sending.catch(() => {});
      await Promise.race([pause.reached, sending]);
      return {
        commit: async () => {
          pause.release();
          await sending;
          await producer.close();
        },
        abort: async () => {
          broker.faults.failTransactionCommit({ transactionalId });
          pause.release();
          await sending.then(
            () => {
              throw new Error('the transaction committed instead of aborting');
            },
            () => undefined,
          );
          await producer.close();
        },
      };
    },
    cleanup: async () => {
      await admin?.close();
      broker.faults.clear();
    },
    timeoutMs: 2_000,
  };
}

describeTransportConformance('FakeBroker', fakeBrokerHarness);

// The same suite with only the required hooks: optional cases skip, the fallbacks run.
describeTransportConformance('FakeBroker (minimal harness)', async () => {
  const broker = new FakeBroker({ assignor: 'round-robin', maxBatchSize: 2 });
  return {
    createTransport: async () => broker.createTransport(),
    createTopic: async (name, partitions, options = {}) => {
      broker.createTopic(name, { partitions, compacted: options.compacted ?? false });
    },
    cleanup: async () => {},
  };
});
