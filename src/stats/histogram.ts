/**
 * A log-bucketed histogram for percentiles without keeping samples (runtime dependencies are
 * restricted, so no HdrHistogram). Buckets grow by 2^(1/8): bucket `i ≥ 1` holds values in
 * `(lowest · 2^((i-1)/8), lowest · 2^(i/8)]`, bucket 0 holds everything ≤ `lowest`.
 *
 * Error bound: a percentile is reported as its bucket's geometric midpoint, clamped to the exact
 * min and max seen, so for values ≥ `lowest` it is within 2^(1/16) − 1 ≈ 4.4% (relative) of the
 * exact nearest-rank percentile; below `lowest` within `lowest` (absolute). The lowest and highest
 * ranks are exact (min and max are kept). Values above `highest` share the top bucket, so only the
 * max stays exact for them.
 */

/** Sub-buckets per power of two: 8 → ≈ 9% bucket width, ≤ 4.4% error at the midpoint. */
const SUB_BUCKETS = 8;

export class LogHistogram {
  private readonly counts: Uint32Array;
  private readonly scale: number;
  private samples = 0;
  private total = 0;
  private min = Number.POSITIVE_INFINITY;
  private max = Number.NEGATIVE_INFINITY;

  /**
   * @param lowest values up to this land in bucket 0 (e.g. 0.001 ms = 1 µs).
   * @param highest the top of the range; larger values are counted in the top bucket.
   */
  constructor(
    private readonly lowest: number,
    highest: number,
  ) {
    this.scale = SUB_BUCKETS;
    this.counts = new Uint32Array(this.indexOf(highest) + 1);
  }

  /** Counts one value (negative values count as 0). */
  record(value: number): void {
    // biome-ignore lint/complexity/useMathMinMax: Math.max would keep a NaN; this counts it as 0
    const v = value > 0 ? value : 0;
    const i = Math.min(this.indexOf(v), this.counts.length - 1);
    this.counts[i]!++;
    this.samples++;
    this.total += v;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
  }

  get count(): number {
    return this.samples;
  }

  /** Sum of the recorded values (exact). */
  get sum(): number {
    return this.total;
  }

  /** Exact mean, 0 when empty. */
  mean(): number {
    return this.samples === 0 ? 0 : this.total / this.samples;
  }

  /** Exact largest value, 0 when empty. */
  maximum(): number {
    return this.samples === 0 ? 0 : this.max;
  }

  /**
   * The nearest-rank `p`-th percentile (0 < p ≤ 100): the value at rank ⌈p/100 · n⌉ of the sorted
   * samples, within the bound above. 0 when empty.
   */
  percentile(p: number): number {
    if (this.samples === 0) return 0;
    const rank = Math.max(1, Math.ceil((p / 100) * this.samples));
    if (rank === 1) return this.min; // the extremes are known exactly
    if (rank >= this.samples) return this.max;
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(this.max, Math.max(this.min, this.midpoint(i)));
    }
    return this.max;
  }

  /** Empties the histogram (a new stats window). */
  reset(): void {
    this.counts.fill(0);
    this.samples = 0;
    this.total = 0;
    this.min = Number.POSITIVE_INFINITY;
    this.max = Number.NEGATIVE_INFINITY;
  }

  private indexOf(v: number): number {
    return v <= this.lowest ? 0 : Math.ceil(Math.log2(v / this.lowest) * this.scale);
  }

  /** Geometric middle of bucket i (bucket 0: `lowest`, clamped to the min seen by the caller). */
  private midpoint(i: number): number {
    return i === 0 ? this.lowest : this.lowest * 2 ** ((i - 0.5) / this.scale);
  }
}
