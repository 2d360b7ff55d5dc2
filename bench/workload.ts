import os from 'node:os';
import { crc32 } from 'node:zlib';
import type { Producer, ProducerRecord } from '../src/index.js';

/**
 * What the benchmarks share: the workload (the same keys and values for every case, from a seeded
 * generator) and the statistics helpers.
 */

export const SHARDS = 16;
export const TOPIC = 't';
export const VALUE_BYTES = 100;
export const KEY_SPACE = 100_000;

/** A small seeded PRNG, so every case and every run sees the same workload. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Records per batch of the peers that batch (pipeline, bare EVALSHA) and of keyless stickiness. */
export const PEER_BATCH = 1000;

/** `random`: a random key per record; `keyless`: none (sticky shards); `explicit`: none, `shard: i % shards`. */
export type KeyMode = 'random' | 'keyless' | 'explicit';

/** The headers a record carries, in this order, as many as `WorkloadOptions.headers` asks for (at most 4). */
export const HEADER_NAMES = ['trace-id', 'content-type', 'origin', 'tenant'] as const;

export interface Workload {
  /** One key per record (`keys[i]` is record i's); empty when `keyless`. */
  keys: string[];
  values: string[];
  /** Bytes per value. */
  valueBytes: number;
  /** Shards (streams) of the topic. */
  shards: number;
  /** Records carry no key: the producer's sticky partitioner picks shards; see `peerShardOf`. */
  keyless: boolean;
  /** Records carry no key and name their shard (`i % shards`). */
  explicit: boolean;
  /** Header values per record, in `HEADER_NAMES` order (256 sets used round-robin); empty: no headers. */
  headerSets: string[][];
}

export interface WorkloadOptions {
  /** Bytes per value (ASCII, so bytes = characters); default VALUE_BYTES. */
  valueBytes?: number;
  /** `random` (default): key `user-<0…KEY_SPACE>` per record; `keyless`: no keys. */
  keys?: KeyMode;
  /** Shards of the topic; default SHARDS. */
  shards?: number;
  /** Headers per record, 0–4 (default 0): a trace id, a content type, an origin, a tenant. */
  headers?: number;
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/**
 * `n` random keys `user-<0…KEY_SPACE>` (none when keyless) and 256 distinct ASCII values of
 * `valueBytes` bytes, used round-robin. The same seed gives the same workload in every process.
 */
export function makeWorkload(n: number, seed: number, options: WorkloadOptions = {}): Workload {
  const valueBytes = options.valueBytes ?? VALUE_BYTES;
  const keyless = options.keys === 'keyless';
  const rnd = mulberry32(seed);
  const values = Array.from({ length: 256 }, () => {
    const chars = new Array<string>(valueBytes);
    for (let i = 0; i < valueBytes; i++) chars[i] = ALPHABET[Math.floor(rnd() * ALPHABET.length)]!;
    return chars.join('');
  });
  const keys = keyless || options.keys === 'explicit' ? [] : Array.from({ length: n }, () => `user-${Math.floor(rnd() * KEY_SPACE)}`);
  const headers = Math.min(Math.max(options.headers ?? 0, 0), HEADER_NAMES.length);
  const hex = () =>
    Math.floor(rnd() * 2 ** 32)
      .toString(16)
      .padStart(8, '0');
  const headerSets = headers === 0 ? [] : Array.from({ length: 256 }, (_, i) => [`${hex()}${hex()}${hex()}${hex()}`, 'application/json', `svc-${i % 8}`, `t-${i % 32}`].slice(0, headers));
  return { keys, values, valueBytes, keyless: keyless || options.keys === 'explicit', explicit: options.keys === 'explicit', headerSets, shards: options.shards ?? SHARDS };
}

/** Record i's headers as the producer takes them, or undefined when the workload has none. */
export const headersAt = (w: Workload, i: number): Record<string, string> | undefined =>
  w.headerSets.length === 0 ? undefined : Object.fromEntries(w.headerSets[i & 255]!.map((value, h) => [HEADER_NAMES[h]!, value]));

export const valueAt = (w: Workload, i: number): string => w.values[i & 255]!;

/** Record i as the producer gets it: topic, value, and a key (random), a shard (explicit) or neither (keyless); its headers. */
export const recordAt = (w: Workload, i: number): ProducerRecord => {
  const record: ProducerRecord = w.explicit
    ? { topic: TOPIC, value: valueAt(w, i), shard: i % w.shards }
    : w.keyless
      ? { topic: TOPIC, value: valueAt(w, i) }
      : { topic: TOPIC, key: w.keys[i]!, value: valueAt(w, i) };
  const headers = headersAt(w, i);
  if (headers !== undefined) record.headers = headers;
  return record;
};

/** Record i's stream entry fields as the peers write them: the producer's layout (`payload`, `key`, then `h:<name>` per header). */
export const fieldsAt = (w: Workload, i: number): string[] => {
  const fields = w.keyless ? ['payload', valueAt(w, i)] : ['payload', valueAt(w, i), 'key', w.keys[i]!];
  const set = w.headerSets[i & 255];
  if (set !== undefined) for (let h = 0; h < set.length; h++) fields.push(`h:${HEADER_NAMES[h]}`, set[h]!);
  return fields;
};

/**
 * The shard a peer writes record i to: the producer's default partitioner (CRC-32 of the key mod
 * the shard count) for keyed records; for keyless ones a stand-in for its sticky partitioner, which
 * keeps a shard until its batch is full: PEER_BATCH consecutive records per shard, round-robin.
 */
export const peerShardOf = (w: Workload, i: number): number => (w.explicit ? i % w.shards : w.keyless ? Math.floor(i / PEER_BATCH) % w.shards : crc32(w.keys[i]!) % w.shards);

/** Stream key of a shard of the benchmark topic: `{ns:t:shard}`, as the producer names it. */
export const streamKey = (ns: string, shard: number): string => `{${ns}:${TOPIC}:${shard}}`;

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

export const percentile = (sorted: number[], p: number): number => sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;

export const fmtInt = (n: number): string => Math.round(n).toLocaleString('en-US');

/**
 * Fire-and-forget: produce() the first `n` records, waiting for room when the buffer is full, then
 * flush. `onAccepted(i)` runs right after record i was accepted (the latency clock starts there).
 */
export async function produceAll(producer: Producer, w: Workload, n: number, onAccepted?: (i: number) => void): Promise<void> {
  for (let i = 0; i < n; i++) {
    const record = recordAt(w, i);
    for (;;) {
      try {
        producer.produce(record);
        onAccepted?.(i);
        break;
      } catch (err) {
        // By code, not class: bench/ab.ts runs this with other builds of the producer.
        if ((err as { code?: unknown }).code !== 'ERR_BUFFER_FULL') throw err;
        await producer.waitForRoom();
      }
    }
  }
  await producer.flush();
}

/** The machine a run's numbers belong to, for the results file. */
export function describeMachine(redisVersion: string) {
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memoryMiB: Math.round(os.totalmem() / 2 ** 20),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    node: process.version,
    redis: redisVersion,
  };
}
