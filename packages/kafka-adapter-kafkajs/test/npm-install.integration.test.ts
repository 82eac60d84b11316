/**
 * The read-committed fix as an npm user gets it: the adapter and core are packed (`pnpm pack`),
 * installed with plain npm into an empty folder (which brings kafkajs 2.2.4 from the registry,
 * unpatched), and a program there reads a partition holding aborted transactions through the
 * adapter, on the real broker. The same program reads it with the user's own kafkajs consumer,
 * which shows the scenario does trip kafkajs's filter.
 *
 * Needs the packages built (`pnpm build`, which CI runs before the tests) and the npm registry.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kafkaBrokers } from '@ksched/testkit';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../../../', import.meta.url));
const brokers = kafkaBrokers();

// The program run in the npm project: three transactions of three producers begin in turn, end
// in the opposite order (the broker lists aborted transactions in the order they ended), then one
// committed record follows; it prints what the adapter's reader and kafkajs's own consumer read.
const PROGRAM = `
import { Kafka, logLevel } from 'kafkajs';
import { createKafkaJsTransport, createTopic } from '@ksched/kafka-adapter-kafkajs';

const [brokerList, topic] = process.argv.slice(2);
const brokers = brokerList.split(',');
await createTopic({ brokers, topic, partitions: 1 });
const kafka = new Kafka({ brokers, clientId: 'npm-user', logLevel: logLevel.NOTHING });
const producers = [];
for (const id of ['a', 'b', 'c']) {
  const producer = kafka.producer({ transactionalId: topic + '-' + id, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const txn = await producer.transaction();
  await txn.send({ topic, messages: [{ partition: 0, value: 'aborted-' + id }] });
  producers.push([producer, txn]);
}
for (const [producer, txn] of producers.reverse()) {
  await txn.abort();
  await producer.disconnect();
}
const plain = kafka.producer();
await plain.connect();
await plain.send({ topic, acks: -1, messages: [{ partition: 0, value: 'committed' }] });
await plain.disconnect();

const transport = createKafkaJsTransport({ brokers, clientId: 'npm-user-ksched' });
await transport.connect();
const { high } = await transport.fetchWatermarks({ topic, partition: 0 });
const reader = await transport.openReader({ topic, partition: 0 }, { fromOffset: 0 });
const viaAdapter = [];
for (let position = 0; position < high; ) {
  const batch = await reader.read();
  for (const r of batch.records) viaAdapter.push(Buffer.from(r.value).toString());
  position = batch.position;
}
await reader.close();
await transport.close();

const consumer = kafka.consumer({ groupId: topic + '-raw', readUncommitted: false });
const viaKafkaJs = [];
await consumer.connect();
await consumer.subscribe({ topic, fromBeginning: true });
await new Promise((resolve) => {
  consumer.run({
    eachMessage: async ({ message }) => {
      viaKafkaJs.push(message.value.toString());
      if (message.value.toString() === 'committed') resolve();
    },
  });
});
await consumer.disconnect();
console.log(JSON.stringify({ viaAdapter, viaKafkaJs }));
`;

describe('kafkajs adapter installed from its packed tarball with npm', () => {
  let dir = '';

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ksched-npm-user-'));
    for (const pkg of ['packages/core', 'packages/kafka-adapter-kafkajs']) {
      await run('pnpm', ['pack', '--pack-destination', dir], { cwd: join(repo, pkg) });
    }
    const tarballs = (await readdir(dir)).filter((f) => f.endsWith('.tgz')).map((f) => join(dir, f));
    expect(tarballs).toHaveLength(2);
    await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'npm-user', private: true, type: 'module' }));
    await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...tarballs], { cwd: dir });
  }, 300_000);

  afterAll(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('installs the kafkajs release as published (no patch of ours in it)', async () => {
    const filter = await readFile(join(dir, 'node_modules/kafkajs/src/consumer/filterAbortedMessages.js'), 'utf8');
    const { version } = JSON.parse(await readFile(join(dir, 'node_modules/kafkajs/package.json'), 'utf8')) as { version: string };
    expect(version).toBe('2.2.4');
    expect(filter).not.toContain('ksched');
  });

  it('reads committed records only through the adapter, where kafkajs alone lets aborted ones through', async () => {
    await writeFile(join(dir, 'program.mjs'), PROGRAM);
    const topic = `ksched-npm-user-${Date.now()}`;
    const { stdout } = await run('node', ['program.mjs', brokers.join(','), topic], { cwd: dir, timeout: 120_000 });
    const { viaAdapter, viaKafkaJs } = JSON.parse(stdout.trim().split('\n').at(-1)!) as { viaAdapter: string[]; viaKafkaJs: string[] };
    expect(viaAdapter).toEqual(['committed']);
    // The scenario trips kafkajs 2.2.4's filter: the transactions that began first slip through.
    expect(viaKafkaJs).toContain('committed');
    expect(viaKafkaJs.filter((v) => v.startsWith('aborted-')).length).toBeGreaterThan(0);
  }, 180_000);
});
