import { build, type Histogram } from 'hdr-histogram-js';

/**
 * Latency samples of one case in an HdrHistogram: microseconds, 3 significant digits, up to 10
 * minutes, so p99.9 of a million samples costs a fixed few kB instead of a sorted array.
 */
export class LatencyRecorder {
  private readonly histogram: Histogram = build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3 });

  /** One sample of `us` microseconds, counted `count` times (e.g. once per record of a batch). */
  record(us: number, count = 1): void {
    const v = Math.max(1, Math.round(us));
    if (count === 1) this.histogram.recordValue(v);
    else this.histogram.recordValueWithCount(v, count);
  }

  /** Percentiles in µs; undefined when nothing was recorded. */
  summary(): LatencySummary | undefined {
    const h = this.histogram;
    if (h.totalCount === 0) return undefined;
    return {
      samples: h.totalCount,
      p50Us: h.getValueAtPercentile(50),
      p99Us: h.getValueAtPercentile(99),
      p999Us: h.getValueAtPercentile(99.9),
      maxUs: h.maxValue,
    };
  }
}

/** Ack latency percentiles of one run of a case, in microseconds. */
export interface LatencySummary {
  samples: number;
  p50Us: number;
  p99Us: number;
  /** NaN when the source has no p99.9 (redis-benchmark reports up to p99). */
  p999Us: number;
  maxUs: number;
}
