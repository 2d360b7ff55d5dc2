/**
 * Every Redis key name the producer uses. Each key's hash tag is the part in
 * braces, so all keys of one shard share a Redis Cluster slot.
 */

/** Stream of one shard: the whole key is the hash tag, one slot per shard. */
export function streamKey(namespace: string, topic: string, shard: number): string {
  return `{${namespace}:${topic}:${shard}}`;
}

/**
 * Idempotence state of one producer on one shard (last sequence, its first id, its size). The
 * braced part is the stream key, so it shares the stream's slot and the batch script can read it.
 */
export function producerStateKey(stream: string, producerId: string): string {
  return `${stream}:p:${producerId}`;
}

/** Topic metadata hash (shard count), shared by every producer of the topic. */
export function topicMetaKey(namespace: string, topic: string): string {
  return `{${namespace}:${topic}}:meta`;
}

/**
 * The keys of one topic's compensation store, all under the `{ns:compensation:topic}` hash tag (one
 * Cluster slot); what each holds: docs/data-layout.md and src/compensation/store.ts.
 */
export interface CompensationKeys {
  /** Schedule: entry id → when it was parked. */
  zset: string;
  /** Entry id → entry JSON. */
  data: string;
  /** Dead letters: entry id → when. */
  dead: string;
  /** Replay leases: entry id → owner and lease end. */
  lease: string;
  /** Shards held after a failed replay: shard → until when. */
  hold: string;
  /** Ids replayed or found in their stream: entry id → when. */
  done: string;
}

export function compensationKeys(namespace: string, topic: string): CompensationKeys {
  const tag = `{${namespace}:compensation:${topic}}`;
  return { zset: `${tag}:zset`, data: `${tag}:data`, dead: `${tag}:dead`, lease: `${tag}:lease`, hold: `${tag}:hold`, done: `${tag}:done` };
}

/** Sequences of a producer session found in the stream after their reply was lost (`check-batch`). */
export function landedKey(stateKey: string): string {
  return `${stateKey}:landed`;
}

/** The state key a batch without idempotence passes: never read or written, but in the stream's slot. */
export function unusedStateKey(stream: string): string {
  return `${stream}:p:-`;
}

/** Set of the topics that have parked records, so a replayer finds them all. */
export function compensationTopicsKey(namespace: string): string {
  return `{${namespace}:compensation}:topics`;
}

/**
 * The shard id of a braced stream key such as `{app:orders:3}` or `{app:orders:3}:state`:
 * the number after the last ':' inside the first `{…}`.
 * Returns undefined when the key holds no shard id.
 */
export function extractShardId(key: string): number | undefined {
  const open = key.indexOf('{');
  const close = open < 0 ? -1 : key.indexOf('}', open + 1);
  if (close < 0) return undefined;
  const tag = key.slice(open + 1, close);
  const digits = tag.slice(tag.lastIndexOf(':') + 1);
  if (!/^\d{1,9}$/.test(digits)) return undefined;
  return Number(digits);
}

/**
 * Redis Cluster's hash tag of a key: the part between the first '{' and the next '}', when
 * non-empty; otherwise the whole key. Mirrors the server's rule so tests can check slot sharing.
 */
export function hashTag(key: string): string {
  const open = key.indexOf('{');
  if (open < 0) return key;
  const close = key.indexOf('}', open + 1);
  if (close < 0 || close === open + 1) return key;
  return key.slice(open + 1, close);
}

/**
 * `key` as one flat string, for a key held as long as its topic or shard is: a template literal
 * leaves a chain of cons strings, 170 bytes for a 20-character key against 49 flat (160,000 keys).
 */
export function heldKey(key: string): string {
  return Buffer.from(key, 'utf8').toString('utf8');
}
