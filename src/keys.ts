/**
 * Every Redis key name the producer uses. Each key's hash tag is the part in
 * braces, so all keys of one shard share a Redis Cluster slot.
 */

/** Longest namespace or topic name accepted: keeps keys short and bounded. */
export const MAX_NAME_LENGTH = 128;

// No braces (would change the hash tag), no ':' (would let `ns=a:b, topic=c` collide with
// `ns=a, topic=b:c`), no whitespace or control characters, no lone surrogates (UTF-8 turns each
// into U+FFFD, so two different names would become the same key).
const NAME_PATTERN = /^[^{}:\s\p{Cc}\p{Cs}]+$/u;

/** Topic names that collide with the producer's own key families. */
export const RESERVED_TOPICS: ReadonlySet<string> = new Set(['compensation']);

/** Returns why `name` is not a valid namespace/topic name, or undefined when it is valid. */
export function nameProblem(name: string): string | undefined {
  if (name.length === 0) return 'must not be empty';
  if (name.length > MAX_NAME_LENGTH) return `must be at most ${MAX_NAME_LENGTH} characters, got ${name.length}`;
  if (!NAME_PATTERN.test(name)) return 'must not contain "{", "}", ":", whitespace, control characters or lone surrogates';
  return undefined;
}

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

/** Compensation schedule and payload keys of a topic; both share the `{ns:compensation:topic}` tag. */
export function compensationKeys(namespace: string, topic: string): { zset: string; data: string } {
  const tag = `{${namespace}:compensation:${topic}}`;
  return { zset: `${tag}:zset`, data: `${tag}:data` };
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
