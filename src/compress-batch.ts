/**
 * Compresses the values of a batch just before its first script call: `payload` becomes the
 * compressed bytes and an `encoding` field names the codec. Runs once per batch, so a retry, a
 * parked copy and its replay all carry the same bytes, never compressed twice.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { RecordFields } from './batch-codec.js';
import { compress, compressSync, ENCODING_FIELD, type CompressionSettings } from './compression.js';

/** The part of a batch compression reads and rewrites. */
export interface CompressibleBatch {
  readonly count: number;
  fieldsAt(i: number): (string | Buffer)[];
  setFieldsAt(i: number, fields: RecordFields): void;
}

/**
 * Values from this size go to zlib's thread pool; smaller ones are compressed on this thread, in
 * slices (docs/decisions.md, compression: the pool's hand-off costs more than a small value's work).
 */
export const POOL_FROM_BYTES = 64 * 1024;
/** Longest run of compression on this thread before other work gets the event loop. */
export const SLICE_MS = 1;

/** What compressing a batch did: values stored compressed, and the entry bytes that saved. */
export interface CompressionResult {
  records: number;
  savedBytes: number;
}

/**
 * Compresses every value of at least `minBytes` whose entry gets smaller for it (the compressed
 * bytes plus the `encoding` field); the others stay as they are.
 */
export async function compressBatch(batch: CompressibleBatch, settings: CompressionSettings, now: () => number = performance.now.bind(performance)): Promise<CompressionResult> {
  let saved = 0;
  let records = 0;
  const apply = (i: number, fields: (string | Buffer)[], length: number, body: Buffer): void => {
    const gain = length - body.length - ENCODING_FIELD.length - settings.codec.length;
    if (gain <= 0) return;
    fields.splice(1, 1, body, ENCODING_FIELD, settings.codec);
    batch.setFieldsAt(i, fields);
    saved += gain;
    records++;
  };
  const pooled: Promise<void>[] = [];
  let sliceStart = now();
  for (let i = 0; i < batch.count; i++) {
    const fields = batch.fieldsAt(i);
    const value = fields[1]!;
    const length = typeof value === 'string' ? Buffer.byteLength(value) : value.length;
    if (fields[0] !== 'payload' || length < settings.minBytes) continue;
    const bytes = typeof value === 'string' ? Buffer.from(value) : value;
    // A failed compression (zlib out of memory) leaves the value as it is: still a valid entry.
    if (length >= POOL_FROM_BYTES) {
      pooled.push(
        compress(settings, bytes).then(
          (body) => apply(i, fields, length, body),
          () => undefined,
        ),
      );
      continue;
    }
    let body: Buffer | undefined;
    try {
      body = compressSync(settings, bytes);
    } catch {}
    if (body !== undefined) apply(i, fields, length, body);
    if (now() - sliceStart >= SLICE_MS) {
      await nextTurn();
      sliceStart = now();
    }
  }
  await Promise.all(pooled);
  return { records, savedBytes: saved };
}

/**
 * Compresses one batch at a time for a producer: the 1 ms slices then hold for the whole event
 * loop, not per batch (batches of several shards compressing side by side would each take their
 * slice in the same turn of the loop). The work is on one thread either way, so nothing is lost.
 */
export class BatchCompressor {
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly now?: () => number) {}

  /** Compresses `batch` after the batches handed in before it. */
  compress(batch: CompressibleBatch, settings: CompressionSettings): Promise<CompressionResult> {
    const done = this.tail.then(() => compressBatch(batch, settings, this.now));
    this.tail = done.catch(() => undefined);
    return done;
  }
}
