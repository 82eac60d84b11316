/**
 * kafkajs 2.2.4 is patched (patches/kafkajs@2.2.4.patch) so its read-committed filter drops every
 * record of an aborted transaction. Upstream enters only one aborted transaction per record, so
 * when a fetch starts after several aborted transactions (of different producers) have begun,
 * some of their records were delivered as if committed: the chaos harness saw them as duplicate
 * dispatches, and librdkafka (read_committed) confirmed they were aborted.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
type Message = { offset: string; key: Buffer | null; batchContext: { producerId: string; inTransaction: boolean } };
type Filter = (input: { messages: Message[]; abortedTransactions: { producerId: string; firstOffset: string }[] }) => Message[];
const filterAbortedMessages = require('kafkajs/src/consumer/filterAbortedMessages.js') as Filter;

const record = (offset: number, producerId: string, inTransaction = true): Message => ({
  offset: String(offset),
  key: Buffer.from(`k${offset}`),
  batchContext: { producerId, inTransaction },
});
const abortMarker = (offset: number, producerId: string): Message => ({
  offset: String(offset),
  key: Buffer.from([0, 0, 0, 0]),
  batchContext: { producerId, inTransaction: true },
});

describe('kafkajs read-committed filter (patched)', () => {
  it('drops the records of every aborted transaction that began before the fetched records', () => {
    // Three producers' transactions began at offsets 0, 1 and 2 and were all aborted; the fetch
    // starts at offset 3, so every one of them is already open at the first fetched record.
    const messages = [
      record(3, 'p3'),
      record(4, 'p2'),
      record(5, 'p1'),
      record(6, 'p9', false),
      abortMarker(7, 'p1'),
      abortMarker(8, 'p2'),
    ];
    const kept = filterAbortedMessages({
      messages,
      abortedTransactions: [
        { producerId: 'p1', firstOffset: '0' },
        { producerId: 'p2', firstOffset: '1' },
        { producerId: 'p3', firstOffset: '2' },
      ],
    });
    expect(kept.filter((m) => !m.key!.equals(Buffer.from([0, 0, 0, 0]))).map((m) => m.offset)).toEqual(['6']);
  });

  it('takes the aborted transactions in first-offset order whatever order the broker lists them in', () => {
    const messages = [record(10, 'a'), record(11, 'b'), abortMarker(12, 'b'), record(13, 'c', false), abortMarker(14, 'a')];
    const kept = filterAbortedMessages({
      messages,
      abortedTransactions: [
        { producerId: 'b', firstOffset: '11' },
        { producerId: 'a', firstOffset: '10' },
      ],
    });
    expect(kept.filter((m) => !m.key!.equals(Buffer.from([0, 0, 0, 0]))).map((m) => m.offset)).toEqual(['13']);
  });

  it('still delivers committed records of a producer once its aborted transaction ended', () => {
    const messages = [record(0, 'a'), abortMarker(1, 'a'), record(2, 'a'), record(3, 'a')];
    const kept = filterAbortedMessages({ messages, abortedTransactions: [{ producerId: 'a', firstOffset: '0' }] });
    expect(kept.map((m) => m.offset)).toEqual(['1', '2', '3']);
  });
});
