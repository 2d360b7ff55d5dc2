/**
 * Formatting of the benchmark's results: Markdown tables and the values in their cells.
 * Pure functions, so the numbers on stdout are the numbers in the JSON.
 */
import type { LatencySummary } from './latency.js';
import type { CaseCosts, CaseResult } from './run-case.js';
import { fmtInt, median } from './workload.js';

export const fmtRatio = (n: number): string => (Number.isFinite(n) ? `${n.toFixed(2)}×` : 'n/a');
export const fmtFixed = (n: number | undefined, digits: number): string => (n !== undefined && Number.isFinite(n) ? n.toFixed(digits) : 'n/a');

/** A latency in µs, in the unit that keeps it readable: `85 µs`, `1.24 ms`, `312 ms`. */
export function fmtLatency(us: number | undefined): string {
  if (us === undefined || !Number.isFinite(us)) return 'n/a';
  if (us < 1000) return `${Math.round(us)} µs`;
  if (us < 100_000) return `${(us / 1000).toFixed(2)} ms`;
  return `${Math.round(us / 1000)} ms`;
}

/** The median over repetitions of one number of a case (NaN and null values left out). */
export function medianOf(reps: CaseResult[], f: (r: CaseResult) => number | undefined | null): number {
  const xs = reps.map(f).filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  return xs.length > 0 ? median(xs) : NaN;
}

/** Median latency percentiles over repetitions. */
export function medianLatency(reps: CaseResult[]): LatencySummary | undefined {
  if (reps.every((r) => r.latency === undefined)) return undefined;
  const f = (k: keyof LatencySummary) => medianOf(reps, (r) => r.latency?.[k]);
  return { samples: f('samples'), p50Us: f('p50Us'), p99Us: f('p99Us'), p999Us: f('p999Us'), maxUs: f('maxUs') };
}

/** One row of the throughput table: a case's medians over its repetitions. */
export interface ThroughputRow extends CaseCosts {
  id: string;
  name: string;
  records: number;
  /** Shown in the records column, e.g. "fewer: slow case". */
  recordsNote?: string;
  latencyOf: string;
  medianRecordsPerSec: number;
  ratioToPipeline: number;
  /** Records/s ÷ the bare Lua loop's. */
  ratioToBareLoop: number;
  /** Server CPU per record ÷ the bare Lua loop's (the same fields written). */
  serverCpuToBareLoop: number;
  /** Records per script call (EVALSHA), NaN for the peers without scripts. */
  recordsPerScriptCall: number;
}

export function throughputTable(rows: ThroughputRow[], pipelineName: string, bareLoopName: string): string[] {
  const lines = [
    `| case | records | records/s | vs ${pipelineName} | vs ${bareLoopName} | latency of | p50 | p99 | p99.9 | client CPU µs/rec | server CPU µs/rec | server CPU vs bare loop | bytes in/rec | bytes out/rec | records/script call | peak RSS MiB |`,
    '|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    const l = r.latency;
    lines.push(
      `| ${r.name} | ${fmtInt(r.records)}${r.recordsNote ? ` (${r.recordsNote})` : ''} | ${fmtInt(r.medianRecordsPerSec)} | ${fmtRatio(r.ratioToPipeline)} | ${fmtRatio(r.ratioToBareLoop)} | ` +
        `${r.latencyOf} | ${fmtLatency(l?.p50Us)} | ${fmtLatency(l?.p99Us)} | ${fmtLatency(l?.p999Us)} | ` +
        `${fmtFixed(r.clientCpuUsPerRecord, 2)} | ${fmtFixed(r.serverCpuUsPerRecord, 2)} | ${fmtRatio(r.serverCpuToBareLoop)} | ${fmtFixed(r.serverInBytesPerRecord, 0)} | ${fmtFixed(r.serverOutBytesPerRecord, 1)} | ` +
        `${fmtFixed(r.recordsPerScriptCall, 0)} | ${fmtFixed(r.peakRssMiB, 0)} |`,
    );
  }
  return lines;
}

/** What paired rounds say (`bench/ab.ts`): medians of each side, and of B ÷ A per round. */
export interface PairedSummary {
  rounds: number;
  medianA: number;
  medianB: number;
  /** Median over rounds of B ÷ A. */
  medianRatio: number;
  /** Rounds in which B ÷ A > 1. */
  bAbove: number;
}

/** Summarises paired measurements: `a[i]` and `b[i]` come from the same round. */
export function summarisePairs(a: readonly number[], b: readonly number[]): PairedSummary {
  if (a.length !== b.length || a.length === 0) throw new Error(`paired samples need equal, non-zero lengths (got ${a.length} and ${b.length})`);
  const ratios = a.map((x, i) => b[i]! / x);
  return { rounds: a.length, medianA: median([...a]), medianB: median([...b]), medianRatio: median(ratios), bAbove: ratios.filter((r) => r > 1).length };
}
