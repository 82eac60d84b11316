/**
 * The adapter's read-committed filter and the private kafkajs copy that uses it (finding 9 of
 * docs/reliability.md: kafkajs 2.2.4's own filter lets records of aborted transactions through).
 * The end-to-end proof on the real broker, from an npm install of the packed adapter, is
 * npm-install.integration.test.ts.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { filterAbortedRecords } from '../src/internal/read-committed.js';
import type { FetchedRecord } from '../src/internal/read-committed.js';
import { kafkajs, loadKafkaJs } from '../src/internal/kafkajs.js';

const record = (offset: number, producerId: string, inTransaction = true): FetchedRecord => ({
  offset: String(offset),
  key: Buffer.from(`k${offset}`),
  batchContext: { producerId, inTransaction },
});
const abortMarker = (offset: number, producerId: string): FetchedRecord => ({
  offset: String(offset),
  key: Buffer.from([0, 0, 0, 0]),
  batchContext: { producerId, inTransaction: true },
});
const dataOffsets = (records: readonly FetchedRecord[]): string[] =>
  records.filter((r) => !Buffer.from(r.key!).equals(Buffer.from([0, 0, 0, 0]))).map((r) => r.offset);

describe('filterAbortedRecords', () => {
  it('drops the records of every aborted transaction that began before the first fetched record', () => {
    // Three producers' transactions began at offsets 0, 1 and 2 and were aborted; the fetch starts at 3.
    const messages = [
      record(3, 'p3'),
      record(4, 'p2'),
      record(5, 'p1'),
      record(6, 'p9', false),
      abortMarker(7, 'p1'),
      abortMarker(8, 'p2'),
    ];
    const abortedTransactions = [
      { producerId: 'p1', firstOffset: '0' },
      { producerId: 'p2', firstOffset: '1' },
      { producerId: 'p3', firstOffset: '2' },
    ];
    expect(dataOffsets(filterAbortedRecords({ messages, abortedTransactions }))).toEqual(['6']);
  });

  it('takes the transactions in first-offset order, not in the order they ended (the broker lists them so)', () => {
    const messages = [record(10, 'a'), record(11, 'b'), abortMarker(12, 'b'), record(13, 'c', false), abortMarker(14, 'a')];
    const abortedTransactions = [
      { producerId: 'b', firstOffset: '11' },
      { producerId: 'a', firstOffset: '10' },
    ];
    expect(dataOffsets(filterAbortedRecords({ messages, abortedTransactions }))).toEqual(['13']);
  });

  it("keeps a producer's committed records after its aborted transaction ended, and keeps the markers", () => {
    const messages = [record(0, 'a'), abortMarker(1, 'a'), record(2, 'a'), record(3, 'a')];
    expect(filterAbortedRecords({ messages, abortedTransactions: [{ producerId: 'a', firstOffset: '0' }] }).map((r) => r.offset)).toEqual([
      '1',
      '2',
      '3',
    ]);
  });

  it('keeps everything without aborted transactions, and non-transactional records of an aborting producer id', () => {
    const messages = [record(0, 'a'), record(1, 'b', false)];
    expect(filterAbortedRecords({ messages, abortedTransactions: null })).toEqual(messages);
    expect(filterAbortedRecords({ messages, abortedTransactions: [{ producerId: 'b', firstOffset: '0' }] })).toEqual(messages);
  });

  it('compares offsets as 64-bit numbers, not as text', () => {
    const messages = [record(9, 'a'), record(10, 'a'), abortMarker(11, 'a')];
    expect(dataOffsets(filterAbortedRecords({ messages, abortedTransactions: [{ producerId: 'a', firstOffset: '10' }] }))).toEqual(['9']);
  });
});

describe("the adapter's kafkajs copy", () => {
  const require = createRequire(import.meta.url);

  it('is a working kafkajs of its own; the kafkajs other code requires stays the one it had', () => {
    const before = require('kafkajs') as typeof kafkajs;
    const cachedBefore = Object.keys(require.cache)
      .filter((p) => p.includes('/kafkajs/'))
      .sort();
    const copy = loadKafkaJs().kafkajs;
    expect(copy.Kafka).not.toBe(before.Kafka);
    expect(kafkajs.Kafka).not.toBe(before.Kafka);
    expect(new copy.Kafka({ brokers: ['127.0.0.1:1'], logLevel: copy.logLevel.NOTHING }).producer()).toHaveProperty('send');
    expect(require('kafkajs')).toBe(before);
    expect(
      Object.keys(require.cache)
        .filter((p) => p.includes('/kafkajs/'))
        .sort(),
    ).toEqual(cachedBefore);
  });

  it("filters its consumer's fetched batches with the adapter's filter (or the one it is given)", () => {
    const partitionData = {
      partition: 0,
      highWatermark: '10',
      messages: [record(3, 'p3'), record(4, 'p2'), record(5, 'p1'), record(6, 'p9', false), abortMarker(7, 'p1')],
      abortedTransactions: [
        { producerId: 'p1', firstOffset: '0' },
        { producerId: 'p2', firstOffset: '1' },
        { producerId: 'p3', firstOffset: '2' },
      ],
    };
    const { Batch } = loadKafkaJs();
    expect(dataOffsets(new Batch('t', '3', partitionData).messages as FetchedRecord[])).toEqual(['6']);
    const seen: unknown[] = [];
    const { Batch: Spied } = loadKafkaJs((input: never) => (seen.push(input), []));
    expect(new Spied('t', '3', partitionData).messages).toEqual([]);
    expect(seen).toHaveLength(1);
  });
});
