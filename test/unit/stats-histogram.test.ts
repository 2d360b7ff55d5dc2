/**
 * The log-bucketed histogram behind the `stats` percentiles, against exact nearest-rank
 * percentiles of known data. No Redis.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LogHistogram } from '../../src/stats/histogram.js';

/** The stated bound: a bucket is 2^(1/8) wide and reports its geometric middle. */
const BOUND = 2 ** (1 / 16) - 1; // ≈ 4.43%
const SLACK = 1e-9; // floating point at bucket edges

/** Exact nearest-rank percentile: the value at rank ⌈p/100 · n⌉ (1-based) of the sorted data. */
function exactPercentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil((p / 100) * sorted.length)) - 1]!;
}

function fill(values: readonly number[], lowest = 0.001, highest = 3_600_000): LogHistogram {
  const h = new LogHistogram(lowest, highest);
  for (const v of values) h.record(v);
  return h;
}

describe('LogHistogram', () => {
  it('reports 1..1000 within the bound: p50 ≈ 500, p99 ≈ 990, exact mean and max', () => {
    const values = Array.from({ length: 1000 }, (_, i) => i + 1);
    const h = fill(values, 1, 100_000);
    expect(h.count).toBe(1000);
    expect(h.mean()).toBe(500.5);
    expect(h.maximum()).toBe(1000);
    for (const p of [1, 10, 50, 90, 99, 99.9, 100]) {
      const exact = exactPercentile(values, p);
      expect(Math.abs(h.percentile(p) - exact) / exact, `p${p}: got ${h.percentile(p)}, exact ${exact}`).toBeLessThanOrEqual(BOUND + SLACK);
    }
    expect(h.percentile(100)).toBe(1000); // clamped to the exact max
  });

  it('is exact for a single repeated value (clamped to min and max)', () => {
    const h = fill(Array.from({ length: 50 }, () => 0.731));
    expect(h.percentile(50)).toBe(0.731);
    expect(h.percentile(99)).toBe(0.731);
  });

  it('separates a slow tail: 990 fast calls and 10 slow ones', () => {
    const values = [...Array.from({ length: 990 }, () => 0.2), ...Array.from({ length: 10 }, () => 40)];
    const h = fill(values);
    const near = (got: number, exact: number) => Math.abs(got - exact) / exact <= BOUND + SLACK;
    expect(near(h.percentile(50), 0.2)).toBe(true);
    expect(near(h.percentile(99), 0.2)).toBe(true); // rank 990 is still fast
    expect(near(h.percentile(99.1), 40)).toBe(true); // rank 991 is slow
    expect(h.maximum()).toBe(40);
  });

  it('stays within the bound for arbitrary data (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0.001, max: 1_000_000, noNaN: true }), { minLength: 1, maxLength: 300 }), fc.constantFrom(1, 25, 50, 75, 90, 99, 99.9, 100), (values, p) => {
        const h = fill(values);
        const exact = exactPercentile(values, p);
        return Math.abs(h.percentile(p) - exact) / exact <= BOUND + SLACK;
      }),
      { seed: 0x5eed_0006, numRuns: 300 },
    );
  });

  it('below `lowest` is off by at most `lowest` (absolute), and negatives count as 0', () => {
    const h = fill([0, 0.0002, 0.0009, -5]);
    expect(h.count).toBe(4);
    expect(h.percentile(100)).toBe(0.0009);
    expect(Math.abs(h.percentile(50) - 0.0002)).toBeLessThanOrEqual(0.001);
    expect(h.percentile(1)).toBe(0); // clamped to the exact min
  });

  it('clamps values above `highest` into the top bucket but keeps the exact max', () => {
    const h = fill([1, 2, 1e12], 1, 1000);
    expect(h.maximum()).toBe(1e12);
    expect(h.percentile(100)).toBe(1e12);
    expect(h.percentile(50)).toBeCloseTo(2, 0);
  });

  it('is all zeros when empty, and reset() empties it', () => {
    const h = fill([]);
    expect([h.count, h.mean(), h.maximum(), h.percentile(50), h.percentile(99)]).toEqual([0, 0, 0, 0, 0]);
    h.record(5);
    h.record(7);
    h.reset();
    expect([h.count, h.sum, h.mean(), h.maximum(), h.percentile(99)]).toEqual([0, 0, 0, 0, 0]);
    h.record(3);
    expect(h.percentile(50)).toBe(3);
  });
});
