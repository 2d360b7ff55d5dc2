/**
 * Where a topic's shards land on a cluster's masters: pure arithmetic on the stream key names
 * `{namespace:topic:shard}` (CRC16 of the hash tag) and the master of each slot, so the same names
 * spread the same way on any machine. Used by `--balance` (`balance.ts`).
 */
import { keySlot } from '../src/admin/key-slot.js';
import { median, mulberry32, percentile, streamKey } from './workload.js';

/** The shard counts of the spread table. */
export const SPREAD_SHARDS = [16, 32, 64, 128];

/** max ÷ min of counts; Infinity when one is 0. */
export const ratioOf = (counts: number[]): number => (Math.min(...counts) === 0 ? Infinity : Math.max(...counts) / Math.min(...counts));

/** Shards of `ns` per master (in `masters` order), given the master of each slot. */
export function shardsPerMaster(ns: string, shards: number, masters: string[], ownerOfSlot: ArrayLike<string>): number[] {
  const counts = masters.map(() => 0);
  for (let s = 0; s < shards; s++) counts[masters.indexOf(ownerOfSlot[keySlot(streamKey(ns, s))]!)]!++;
  return counts;
}

/** One row of the spread table: how `names` spread `shards` shards over the masters. */
export interface SpreadRow {
  shards: number;
  bestRatio: number;
  medianRatio: number;
  p90Ratio: number;
  shareRatioAtMost1_5: number;
  /** Share of the shards (hence of the records, with uniform keys) on the busiest master. */
  medianBusiestShare: number;
  p90BusiestShare: number;
  /** Names for which some master got no shard at all. */
  namesWithEmptyMaster: number;
}

export function spreadTable(names: string[], masters: string[], ownerOfSlot: ArrayLike<string>): SpreadRow[] {
  return SPREAD_SHARDS.map((shards) => {
    const counts = names.map((ns) => shardsPerMaster(ns, shards, masters, ownerOfSlot));
    const ratios = counts.map(ratioOf).sort((a, b) => a - b);
    const busiest = counts.map((c) => Math.max(...c) / shards).sort((a, b) => a - b);
    return {
      shards,
      bestRatio: Math.ceil(shards / masters.length) / Math.floor(shards / masters.length),
      medianRatio: median(ratios),
      p90Ratio: percentile(ratios, 90),
      shareRatioAtMost1_5: ratios.filter((r) => r <= 1.5).length / ratios.length,
      medianBusiestShare: median(busiest),
      p90BusiestShare: percentile(busiest, 90),
      namesWithEmptyMaster: ratios.filter((r) => !Number.isFinite(r)).length,
    };
  });
}

/** `n` distinct random 8-character namespace names. */
export function randomNames(n: number, seed: number): string[] {
  const rnd = mulberry32(seed);
  const chars = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const names = new Set<string>();
  while (names.size < n) names.add(Array.from({ length: 8 }, () => chars[Math.floor(rnd() * chars.length)]).join(''));
  return [...names];
}
