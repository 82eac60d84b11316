import { deflateSync, inflateSync } from 'node:zlib';
import { describe, it, expect } from 'vitest';
import {
  DAY_MS,
  STATES_SCHEMA_VERSION,
  SerializationError,
  Tracker,
  decodeStates,
  encodeStates,
  statesJson,
  statesRecord,
  statesTopic,
} from '@ksched/core';
import { text } from '../helpers.js';

// 2026-01-01T10:00:00Z
const STARTED = 1_767_261_600_000;
const TODAY = '2026-01-01';
const DISPATCHED = STARTED + 5_250;

function inflateJson(payload: Uint8Array): unknown {
  return JSON.parse(inflateSync(payload).toString('utf8'));
}

// Reference §11, unit level: Serializer (states).
describe('encodeStates (serializer)', () => {
  it('is the zlib deflate of the JSON report', () => {
    const snapshot = new Tracker(STARTED).snapshot();
    const payload = encodeStates(snapshot, DISPATCHED);
    // zlib-wrapped (RFC 1950): CMF byte 0x78.
    expect(payload[0]).toBe(0x78);
    expect(inflateSync(payload).toString('utf8')).toBe(statesJson(snapshot, DISPATCHED));
    expect(Buffer.from(payload)).toEqual(deflateSync(Buffer.from(statesJson(snapshot, DISPATCHED), 'utf8')));
  });

  it('writes the keys in the v1.0.0 order', () => {
    const json = statesJson(new Tracker(STARTED).snapshot(), DISPATCHED);
    expect(Object.keys(JSON.parse(json) as object)).toEqual([
      'schema_version',
      'dispatched_at',
      'state',
      'offsets',
      'daily',
      'started_at',
      'reloads',
    ]);
  });

  it('a fresh tracker decodes to state fresh, offsets −1/−1, daily {}, started_at, reloads 0', () => {
    const decoded = decodeStates(encodeStates(new Tracker(STARTED).snapshot(), DISPATCHED));
    expect(decoded).toEqual({
      schema_version: STATES_SCHEMA_VERSION,
      dispatched_at: DISPATCHED / 1000,
      state: 'fresh',
      offsets: { low: -1, high: -1 },
      daily: {},
      started_at: STARTED / 1000,
      reloads: 0,
    });
    expect(STATES_SCHEMA_VERSION).toBe('1.0.0');
  });

  it('dispatched_at is float seconds with the milliseconds kept', () => {
    const decoded = inflateJson(encodeStates(new Tracker(STARTED).snapshot(), 1_767_225_600_123)) as { dispatched_at: number };
    expect(decoded.dispatched_at).toBe(1_767_225_600.123);
  });

  it('a configured tracker keeps its values (today 10 + 1 future today = 11)', () => {
    const tracker = new Tracker(STARTED);
    tracker.setToday(10);
    tracker.future(STARTED + 60_000);
    tracker.offset(3);
    tracker.offset(8);
    tracker.state = 'loaded';
    tracker.reloads = 4;
    expect(decodeStates(encodeStates(tracker.snapshot(), DISPATCHED))).toEqual({
      schema_version: '1.0.0',
      dispatched_at: DISPATCHED / 1000,
      state: 'loaded',
      offsets: { low: 3, high: 8 },
      daily: { [TODAY]: 11 },
      started_at: STARTED / 1000,
      reloads: 4,
    });
  });

  it('tracks several days', () => {
    const tracker = new Tracker(STARTED);
    tracker.future(STARTED);
    tracker.future(STARTED + DAY_MS);
    tracker.future(STARTED + DAY_MS);
    tracker.future(STARTED + 3 * DAY_MS);
    expect(decodeStates(encodeStates(tracker.snapshot(), DISPATCHED)).daily).toEqual({
      [TODAY]: 1,
      '2026-01-02': 2,
      '2026-01-04': 1,
    });
  });
});

describe('statesRecord / statesTopic (dispatcher `state`)', () => {
  it('goes to <topic>_states, same partition, key <state>_state, header zlib=true', () => {
    const tracker = new Tracker(STARTED);
    tracker.state = 'loading';
    const record = statesRecord('scheduled_messages', 3, tracker.snapshot(), DISPATCHED);
    expect(record.topic).toBe('scheduled_messages_states');
    expect(record.partition).toBe(3);
    expect(text(record.key)).toBe('loading_state');
    expect(record.headers).toEqual({ zlib: 'true' });
    expect(decodeStates(record.value as Uint8Array).state).toBe('loading');
  });

  it('uses a custom postfix with no separator added', () => {
    expect(statesTopic('sm')).toBe('sm_states');
    expect(statesTopic('sm', '.state')).toBe('sm.state');
    const tracker = new Tracker(STARTED);
    tracker.state = 'stopped';
    const record = statesRecord('sm', 0, tracker.snapshot(), DISPATCHED, '-st');
    expect(record.topic).toBe('sm-st');
    expect(text(record.key)).toBe('stopped_state');
  });
});

// Reference §11, unit level: payload deserializer.
describe('decodeStates (payload deserializer)', () => {
  it('inflates and parses any zlib stream of a states report, unknown fields kept', () => {
    const json = { schema_version: '1.0.0', dispatched_at: 1.5, state: 'loaded', daily: { '2024-09-02': 0 }, extra: 'kept' };
    const payload = deflateSync(Buffer.from(JSON.stringify(json)), { level: 9 });
    expect(decodeStates(payload)).toEqual(json);
  });

  it('decodes the early v1.0.0 report without offsets, started_at and reloads (Web UI fixture)', () => {
    const json = '{"schema_version":"1.0.0","dispatched_at":1725267740.6774364,"state":"loaded","daily":{"2024-09-02":0}}';
    const decoded = decodeStates(deflateSync(Buffer.from(json)));
    expect(decoded).toEqual({ schema_version: '1.0.0', dispatched_at: 1725267740.6774364, state: 'loaded', daily: { '2024-09-02': 0 } });
    expect(decoded.offsets).toBeUndefined();
  });

  it('throws SerializationError on invalid JSON', () => {
    const payload = deflateSync(Buffer.from('{"schema_version":'));
    expect(() => decodeStates(payload)).toThrow(SerializationError);
    expect(() => decodeStates(payload)).toThrow(/not valid JSON/);
  });

  it('throws SerializationError on uncompressed input', () => {
    const payload = Buffer.from('{"schema_version":"1.0.0","dispatched_at":1,"state":"loaded","daily":{}}');
    let caught: unknown;
    try {
      decodeStates(payload);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(SerializationError);
    expect((caught as SerializationError).code).toBe('KSM_SERIALIZATION');
    expect((caught as SerializationError).cause).toBeInstanceOf(Error);
  });

  it('throws SerializationError when the JSON is not a states report', () => {
    expect(() => decodeStates(deflateSync(Buffer.from('[1,2]')))).toThrow(SerializationError);
    expect(() => decodeStates(deflateSync(Buffer.from('{"schema_version":"1.0.0","state":"loaded","daily":{}}')))).toThrow(/dispatched_at/);
    expect(() =>
      decodeStates(deflateSync(Buffer.from('{"schema_version":"1.0.0","dispatched_at":1,"state":"loaded","daily":{"d":1.5}}'))),
    ).toThrow(SerializationError);
  });
});
