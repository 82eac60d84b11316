import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration, parseTime, requireDuration } from '../../src/contracts/durations.js';

describe('parseDuration', () => {
  it.each([
    ['90s', 90_000],
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['1h', 3_600_000],
    ['2d', 172_800_000],
    ['250ms', 250],
    ['1m30s', 90_000],
    ['2s500ms', 2500],
    ['1.5s', 1500],
    ['1500', 1500],
    ['0', 0],
    [' 15S ', 15_000],
  ])('%s is %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', 'soon', '5x', '-5s', '5 s', '1h30', 's', '1.s', '5m ago', '1e3'])('%j is not a duration', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });

  it('requireDuration throws a RangeError that quotes the text', () => {
    expect(() => requireDuration('later')).toThrow(/"later" is not a duration/);
    expect(requireDuration('1h30m')).toBe(5_400_000);
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0ms'],
    [850, '850ms'],
    [1234, '1.23s'],
    [12_345, '12.3s'],
    [245_000, '4m05s'],
    [7_380_000, '2h03m'],
    [-20, '-20ms'],
  ])('%d ms → %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe('parseTime', () => {
  it('keeps whole epoch seconds as seconds', () => {
    expect(parseTime('1893456000')).toEqual({ epoch: 1_893_456_000 });
  });
  it('reads 12+ digits as epoch milliseconds', () => {
    expect(parseTime('1893456000123')).toEqual({ atMs: 1_893_456_000_123 });
  });
  it('reads fractional seconds as milliseconds', () => {
    expect(parseTime('1893456000.5')).toEqual({ atMs: 1_893_456_000_500 });
  });
  it('reads ISO 8601 with a zone', () => {
    expect(parseTime('2030-01-01T00:00:00Z')).toEqual({ atMs: Date.UTC(2030, 0, 1) });
    expect(parseTime('2030-01-01T02:00:00+02:00')).toEqual({ atMs: Date.UTC(2030, 0, 1) });
    expect(parseTime('2030-01-01T00:00:00.250Z')).toEqual({ atMs: Date.UTC(2030, 0, 1) + 250 });
  });
  it.each(['tomorrow', '5s', '2030-13-45T00:00:00Z', '2030/01/01', ''])('%j is not a time', (text) => {
    expect(parseTime(text)).toBeUndefined();
  });
});
