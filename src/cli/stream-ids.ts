/**
 * Redis stream ids (`<ms>-<seq>`) compared as numbers, so entries of several shards can be merged
 * in id order. Ids of different shards are independent: two shards can hold the same id.
 */

/** Negative when `a` comes before `b`, positive after, 0 when equal. */
export function compareIds(a: string, b: string): number {
  const [am, as] = split(a);
  const [bm, bs] = split(b);
  if (am !== bm) return am < bm ? -1 : 1;
  if (as !== bs) return as < bs ? -1 : 1;
  return 0;
}

function split(id: string): [bigint, bigint] {
  const dash = id.indexOf('-');
  return dash < 0 ? [BigInt(id), 0n] : [BigInt(id.slice(0, dash)), BigInt(id.slice(dash + 1))];
}

/** An entry read from one shard. */
export interface ShardEntry {
  shard: number;
  id: string;
  /** Field names and values as read (`entry-view.ts` decodes them). */
  fields: (string | Buffer)[];
}

/** Sorts entries of many shards by id; equal ids by shard number, so the order is deterministic. */
export function sortEntries<T extends ShardEntry>(entries: T[]): T[] {
  return entries.sort((a, b) => compareIds(a.id, b.id) || a.shard - b.shard);
}

/** The `count` newest entries across shards, oldest first. */
export function newest<T extends ShardEntry>(entries: T[], count: number): T[] {
  const sorted = sortEntries(entries);
  return count === 0 ? [] : sorted.slice(-count);
}
