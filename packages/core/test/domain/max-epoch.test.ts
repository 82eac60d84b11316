import { describe, it, expect } from 'vitest';
import { MAX_EPOCH_GRACE_SECONDS, MaxEpoch } from '@ksched/core';

// Reference §11, unit level: MaxEpoch.
describe('MaxEpoch', () => {
  it('has a one-hour grace', () => {
    expect(MAX_EPOCH_GRACE_SECONDS).toBe(3600);
  });

  it('starts at −1', () => {
    const max = new MaxEpoch();
    expect(max.value).toBe(-1);
    expect(max.max).toBe(-1);
  });

  it('update(10) moves it to 10 − 3600', () => {
    const max = new MaxEpoch();
    max.update(10);
    expect(max.max).toBe(10);
    expect(max.value).toBe(10 - 3600);
  });

  it('ignores a smaller or equal update', () => {
    const max = new MaxEpoch();
    max.update(1_767_225_600);
    max.update(1_767_225_600);
    max.update(1_767_225_599);
    max.update(0);
    expect(max.max).toBe(1_767_225_600);
    expect(max.value).toBe(1_767_225_600 - 3600);
  });

  it('moves with successive larger updates', () => {
    const max = new MaxEpoch();
    max.update(100);
    expect(max.value).toBe(100 - 3600);
    max.update(200);
    expect(max.value).toBe(200 - 3600);
    max.update(5000);
    expect(max.value).toBe(1400);
    expect(max.max).toBe(5000);
  });

  it('ignores non-finite values', () => {
    const max = new MaxEpoch();
    max.update(100);
    max.update(Number.NaN);
    max.update(Number.POSITIVE_INFINITY);
    expect(max.max).toBe(100);
    expect(max.value).toBe(100 - 3600);
  });
});
