import type { Cluster, Redis } from 'ioredis';
import { withDeadline } from '../connection.js';
import { streamKey } from '../keys.js';
import type { ShardEntry } from './stream-ids.js';

const TIMEOUT_MS = 5_000;

type RawEntries = [id: Buffer, fields: Buffer[]][];

/** Entries read as bytes, so a compressed value or one that is not UTF-8 keeps every byte. */
const toEntries = (raw: RawEntries, shard: number): ShardEntry[] => raw.map(([id, fields]) => ({ shard, id: id.toString(), fields }));

/** Reads a topic's shard streams; every call has a deadline. On a cluster each read goes to its shard's master. */
export class ShardReader {
  readonly streams: string[];

  constructor(
    private readonly client: Redis | Cluster,
    namespace: string,
    topic: string,
    shards: number,
  ) {
    this.streams = Array.from({ length: shards }, (_, shard) => streamKey(namespace, topic, shard));
  }

  /** The `count` newest entries of every shard (newest first per shard). */
  async newestPerShard(count: number): Promise<ShardEntry[][]> {
    return Promise.all(
      this.streams.map(async (stream, shard) => {
        return toEntries((await withDeadline(this.client.xrevrangeBuffer(stream, '+', '-', 'COUNT', Math.max(count, 1)), TIMEOUT_MS, `XREVRANGE ${stream}`)) as RawEntries, shard);
      }),
    );
  }

  /** Entries after `after[shard]` (exclusive) in every shard, at most `count` per shard. */
  async since(after: readonly string[], count: number): Promise<ShardEntry[]> {
    const perShard = await Promise.all(
      this.streams.map(async (stream, shard) => {
        return toEntries((await withDeadline(this.client.xrangeBuffer(stream, `(${after[shard]}`, '+', 'COUNT', count), TIMEOUT_MS, `XRANGE ${stream}`)) as RawEntries, shard);
      }),
    );
    return perShard.flat();
  }
}
