import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { DAY_MS, Day, InvalidArgumentError, utcDateString } from '@ksched/core';

// 2026-01-01T13:45:30.250Z
const NOW = 1_767_275_130_250;
const MIDNIGHT_S = 1_767_225_600;

// Reference §11, unit level: Day.
describe('Day (reference cases)', () => {
  it('created_at is now, in whole seconds', () => {
    expect(Day.containing(NOW).createdAt).toBe(Math.floor(NOW / 1000));
  });

  it('starts at UTC midnight and ends at midnight + 86,399 s', () => {
    const day = Day.containing(NOW);
    expect(day.startsAt).toBe(MIDNIGHT_S);
    expect(day.endsAt).toBe(MIDNIGHT_S + 86_399);
    expect(day.startMs).toBe(MIDNIGHT_S * 1000);
    expect(day.nextStartMs).toBe(MIDNIGHT_S * 1000 + DAY_MS);
    expect(day.date).toBe('2026-01-01');
    expect(String(day)).toBe('2026-01-01');
  });

  it('has not ended at ends_at − 1 s', () => {
    const day = Day.containing(NOW);
    expect(day.ended((day.endsAt - 1) * 1000)).toBe(false);
  });

  it('has ended at ends_at + 1 s', () => {
    const day = Day.containing(NOW);
    expect(day.ended((day.endsAt + 1) * 1000)).toBe(true);
  });
});

describe('Day (ksched additions)', () => {
  it('is always the UTC day, at both edges', () => {
    expect(Day.containing(MIDNIGHT_S * 1000).date).toBe('2026-01-01');
    expect(Day.containing(MIDNIGHT_S * 1000 - 1).date).toBe('2025-12-31');
    expect(Day.containing(MIDNIGHT_S * 1000 + DAY_MS - 1).date).toBe('2026-01-01');
  });

  it('ends exactly at the next midnight in milliseconds (23:59:59.999 is still today)', () => {
    const day = Day.containing(NOW);
    expect(day.ended(day.nextStartMs - 1)).toBe(false);
    expect(day.ended(day.nextStartMs)).toBe(true);
  });

  it('contains() and isBefore() split time into today and later days', () => {
    const day = Day.containing(NOW);
    expect(day.contains(day.startMs)).toBe(true);
    expect(day.contains(day.nextStartMs - 1)).toBe(true);
    expect(day.contains(day.startMs - 1)).toBe(false);
    expect(day.contains(day.nextStartMs)).toBe(false);
    expect(day.isBefore(day.nextStartMs)).toBe(true);
    expect(day.isBefore(day.nextStartMs - 1)).toBe(false);
    expect(day.isBefore(day.startMs - 1)).toBe(false);
  });

  it('rejects a non-finite time with InvalidArgumentError', () => {
    expect(() => Day.containing(Number.NaN)).toThrow(InvalidArgumentError);
    expect(() => Day.containing(Number.POSITIVE_INFINITY)).toThrow(InvalidArgumentError);
  });

  it('works before 1970 too', () => {
    const day = Day.containing(-1);
    expect(day.date).toBe('1969-12-31');
    expect(day.startsAt).toBe(-86_400);
  });
});

describe('utcDateString', () => {
  it.each([
    [0, '1970-01-01'],
    [MIDNIGHT_S * 1000, '2026-01-01'],
    [Date.UTC(2024, 1, 29, 23, 59, 59, 999), '2024-02-29'],
    [Date.UTC(2000, 1, 29), '2000-02-29'],
    [Date.UTC(2100, 2, 1), '2100-03-01'],
    [Date.UTC(1900, 0, 1), '1900-01-01'],
    [-1, '1969-12-31'],
  ])('%d → %s', (ms, date) => {
    expect(utcDateString(ms)).toBe(date);
  });

  it('agrees with Date#toISOString over years 1000–9999', () => {
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(1000, 0, 1), max: Date.UTC(9999, 11, 31, 23, 59, 59, 999) }), (ms) => {
        expect(utcDateString(ms)).toBe(new Date(ms).toISOString().slice(0, 10));
      }),
      { numRuns: 2000 },
    );
  });
});
