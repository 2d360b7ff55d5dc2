import { BufferFullError, type Producer } from '../src/index.js';

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

export interface Workload {
  keys: string[];
  values: string[];
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** `n` random keys `user-<0…KEY_SPACE>` and 256 distinct VALUE_BYTES-byte ASCII values, used round-robin. */
export function makeWorkload(n: number, seed: number): Workload {
  const rnd = mulberry32(seed);
  const values = Array.from({ length: 256 }, () => {
    let s = '';
    for (let i = 0; i < VALUE_BYTES; i++) s += ALPHABET[Math.floor(rnd() * ALPHABET.length)];
    return s;
  });
  const keys = Array.from({ length: n }, () => `user-${Math.floor(rnd() * KEY_SPACE)}`);
  return { keys, values };
}

export const valueAt = (w: Workload, i: number): string => w.values[i & 255]!;

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

export const percentile = (sorted: number[], p: number): number => sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;

export const fmtInt = (n: number): string => Math.round(n).toLocaleString('en-US');

/** Fire-and-forget: produce() the first `n` records, waiting for room when the buffer is full, then flush. */
export async function produceAll(producer: Producer, w: Workload, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const record = { topic: TOPIC, key: w.keys[i]!, value: valueAt(w, i) };
    for (;;) {
      try {
        producer.produce(record);
        break;
      } catch (err) {
        if (!(err instanceof BufferFullError)) throw err;
        await producer.waitForRoom();
      }
    }
  }
  await producer.flush();
}
