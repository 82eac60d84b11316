// The broker harness of the main entry under node:test: useResources() cleans up through the
// node:test hooks it is given (run by runners.test.ts, with vitest unresolvable).
import assert from 'node:assert/strict';
import process from 'node:process';
import { after, afterEach, test } from 'node:test';
import { createBrokerHarness, FakeBroker } from '@ksched/testkit';

const broker = new FakeBroker();
const calls = [];
const opened = [];
const harness = createBrokerHarness(
  {
    name: 'fake',
    namePrefix: 'ksched-node',
    createTransport: (clientId) => {
      const t = broker.createTransport({ clientId });
      opened.push(t);
      return t;
    },
    createAdmin: async () => ({
      createTopic: async ({ topic, partitions = 1 }) => void broker.createTopic(topic, { partitions }),
      deleteTopics: async (topics) => void calls.push(`delete ${topics.join(',')}`),
      close: async () => void calls.push('close'),
    }),
  },
  { afterEach, afterAll: after },
);
const r = harness.useResources();
let topic = '';

// Registered after useResources: node:test runs after-hooks in the order they were registered.
after(() => {
  assert.deepEqual(calls, [`delete ${topic}`, 'close']);
  process.stdout.write('# broker harness cleaned up after the file\n');
});

test('a member owns the partitions of a new topic', async () => {
  topic = await r.topic('t', 2);
  const { recorder } = await r.consume([topic]);
  assert.equal(recorder.owned.size, 2);
});

test('the transports of the previous test were closed after it', async () => {
  assert.equal(opened.length, 1);
  await assert.rejects(opened[0].produce([{ topic, key: 'k', value: 'v' }]));
  assert.deepEqual(calls, []);
});
