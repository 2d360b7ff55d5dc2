import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../src/backoff.js';

describe('backoffDelay', () => {
  it('doubles per attempt from the base, without jitter at random = 0.5', () => {
    expect([1, 2, 3, 4].map((a) => backoffDelay(a, 100, 10_000, () => 0.5))).toEqual([100, 200, 400, 800]);
  });

  it('applies ±20% jitter', () => {
    expect(backoffDelay(1, 100, 10_000, () => 0)).toBe(80);
    expect(backoffDelay(1, 100, 10_000, () => 0.999999)).toBe(120);
  });

  it('never exceeds the maximum, even with jitter or a huge attempt count', () => {
    expect(backoffDelay(50, 100, 1_000, () => 0.999999)).toBe(1_000);
    expect(backoffDelay(1_000_000, 100, 1_000, () => 0)).toBe(800);
  });
});
