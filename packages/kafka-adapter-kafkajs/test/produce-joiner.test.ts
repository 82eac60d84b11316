import { describe, expect, it } from 'vitest';
import { TransportError, type ProduceRecord, type RecordMetadata } from '@ksched/core';
import { approximateBytes, ProduceJoiner } from '../src/internal/produce-joiner.js';

/** A stand-in for one produce request: records each request, answers when told to. */
function fakeSend() {
  const requests: { records: readonly ProduceRecord[]; answer: (error?: unknown) => void }[] = [];
  let offset = 0;
  const send = (records: readonly ProduceRecord[]) =>
    new Promise<RecordMetadata[]>((resolve, reject) => {
      requests.push({
        records,
        answer: (error) =>
          error === undefined ? resolve(records.map((r) => ({ topic: r.topic, partition: 0, offset: offset++ }))) : reject(error),
      });
    });
  return { send, requests };
}

const record = (topic: string, value: string): ProduceRecord => ({ topic, key: value, value });
const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('ProduceJoiner', () => {
  it('sends the calls made while a request is in flight together in the next one, each getting its own records back in order', async () => {
    const { send, requests } = fakeSend();
    const joiner = new ProduceJoiner(send);
    const first = joiner.produce([record('a', 'a1')]);
    const second = joiner.produce([record('b', 'b1'), record('b', 'b2')]);
    const third = joiner.produce([record('c', 'c1')]);
    await tick();
    expect(requests.map((r) => r.records.map((x) => x.value))).toEqual([['a1']]);
    requests[0]!.answer();
    await tick();
    expect(requests.map((r) => r.records.map((x) => x.value))).toEqual([['a1'], ['b1', 'b2', 'c1']]);
    requests[1]!.answer();
    expect((await first).map((m) => m.offset)).toEqual([0]);
    expect((await second).map((m) => [m.topic, m.offset])).toEqual([
      ['b', 1],
      ['b', 2],
    ]);
    expect((await third).map((m) => [m.topic, m.offset])).toEqual([['c', 3]]);
  });

  it('a failed joined request rejects every call in it; a call made alone is never joined and fails or succeeds on its own', async () => {
    const { send, requests } = fakeSend();
    const joiner = new ProduceJoiner(send);
    const busy = joiner.produce([record('x', 'x1')]);
    const joinedA = joiner.produce([record('a', 'a1')]).catch((e: unknown) => e);
    const joinedB = joiner.produce([record('b', 'b1')]).catch((e: unknown) => e);
    const alone = joiner.produce([record('c', 'c1')], { alone: true });
    const after = joiner.produce([record('d', 'd1')]);
    requests[0]!.answer();
    await busy;
    await tick();
    expect(requests[1]!.records.map((r) => r.value)).toEqual(['a1', 'b1']);
    const failure = new TransportError('the record is too large', { retriable: false });
    requests[1]!.answer(failure);
    expect(await joinedA).toBe(failure);
    expect(await joinedB).toBe(failure);
    await tick();
    expect(requests[2]!.records.map((r) => r.value)).toEqual(['c1']);
    requests[2]!.answer();
    expect(await alone).toHaveLength(1);
    await tick();
    expect(requests[3]!.records.map((r) => r.value)).toEqual(['d1']);
    requests[3]!.answer();
    expect(await after).toHaveLength(1);
  });

  it('joins no more than its limits of records and bytes; a bigger call still goes, alone', async () => {
    const { send, requests } = fakeSend();
    const joiner = new ProduceJoiner(send, { maxRecords: 3, maxBytes: 1_000 });
    const calls = [
      joiner.produce([record('t', 'busy')]),
      joiner.produce([record('t', 'p1'), record('t', 'p2')]),
      joiner.produce([record('t', 'p3')]),
      joiner.produce([record('t', 'p4')]), // 4 records with the two before: next request
      joiner.produce([record('t', 'x'.repeat(2_000))]), // over the byte limit: alone
      joiner.produce([record('t', 'p5')]),
    ];
    for (let i = 0; i < 5; i++) {
      await tick();
      requests[i]?.answer();
    }
    await Promise.all(calls);
    expect(requests.map((r) => r.records.map((x) => String(x.value).slice(0, 2)))).toEqual([
      ['bu'],
      ['p1', 'p2', 'p3'],
      ['p4'],
      ['xx'],
      ['p5'],
    ]);
    expect(approximateBytes([record('t', 'x'.repeat(2_000))])).toBeGreaterThan(1_000);
  });
});
