/**
 * Redis Cluster's key → slot function, so a topic's placement can be planned without a round trip
 * per key. The one ioredis itself routes commands with (`cluster-key-slot`): the two never disagree.
 */
import calculateSlot from 'cluster-key-slot';

/** Number of hash slots in a Redis Cluster. */
export const CLUSTER_SLOTS = 16_384;

/** The slot of `key` (UTF-8 for a string), honouring its hash tag, as `CLUSTER KEYSLOT` answers. */
export function keySlot(key: string): number {
  return calculateSlot(key);
}
