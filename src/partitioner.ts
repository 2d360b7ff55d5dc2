import { crc32 as zlibCrc32 } from 'node:zlib';

/**
 * Maps a record key to a shard. Pure functions: the same key and shard count always give the
 * same shard, in every producer process.
 */
export type PartitionerFn = (key: Buffer, shards: number) => number;

/**
 * The seed's default: CRC-32 (IEEE, as zlib's `crc32` and Rust's `crc32fast` compute it),
 * unsigned, over the key's bytes, modulo the shard count.
 */
export function crc32Partitioner(key: Buffer | string, shards: number): number {
  // zlib's crc32 hashes a string's UTF-8 bytes itself: no Buffer per record on the hot path.
  return zlibCrc32(key) % shards;
}

/** Kafka's Java client `Utils.murmur2`: seed 0x9747b28c, m = 0x5bd1e995, r = 24, signed 32-bit result. */
export function murmur2(data: Buffer): number {
  const m = 0x5bd1e995;
  const length = data.length;
  let h = (0x9747b28c ^ length) | 0;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = data.readInt32LE(i);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  // Fold in the last 1–3 bytes, as Java's switch with fall-through does.
  const rest = length & 3;
  if (rest === 3) h ^= (data[whole + 2]! & 0xff) << 16;
  if (rest >= 2) h ^= (data[whole + 1]! & 0xff) << 8;
  if (rest >= 1) {
    h ^= data[whole]! & 0xff;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** Kafka's default keyed partitioner: `toPositive(murmur2(key)) % shards`. */
export function murmur2Partitioner(key: Buffer, shards: number): number {
  return (murmur2(key) & 0x7fffffff) % shards;
}

export type PartitionerName = 'crc32' | 'murmur2';

/** The shard of a record key, whatever partitioner is configured; strings are hashed as UTF-8. */
export function keyPartitioner(partitioner: PartitionerName | PartitionerFn): (key: string | Buffer, shards: number) => number {
  if (partitioner === 'crc32') return crc32Partitioner;
  const fn = partitioner === 'murmur2' ? murmur2Partitioner : partitioner;
  return (key, shards) => fn(typeof key === 'string' ? Buffer.from(key) : key, shards);
}

/**
 * Keyless records stick to one shard until that shard's batch is closed (Kafka KIP-480), so keyless
 * traffic still forms full batches. `random` is passed in so tests can make the choice deterministic.
 */
export class StickyShardChooser {
  private readonly current = new Map<string, number>();

  constructor(private readonly random: () => number = Math.random) {}

  shardFor(topic: string, shards: number): number {
    let shard = this.current.get(topic);
    if (shard === undefined || shard >= shards) {
      shard = Math.floor(this.random() * shards);
      this.current.set(topic, shard);
    }
    return shard;
  }

  /** Forgets a topic's current shard (the topic went idle). */
  forget(topic: string): void {
    this.current.delete(topic);
  }

  /** Called when a shard's batch closes: keyless traffic of that topic moves to another shard. */
  batchClosed(topic: string, shard: number, shards: number): void {
    if (this.current.get(topic) !== shard || shards === 1) return;
    // Pick among the other shards, uniformly.
    const next = Math.floor(this.random() * (shards - 1));
    this.current.set(topic, next >= shard ? next + 1 : next);
  }
}
