/**
 * Compresses the values of a batch just before its first script call: `payload` becomes the
 * compressed bytes and an `encoding` field names the codec. Runs once per batch, so a retry, a
 * parked copy and its replay all carry the same bytes, never compressed twice.
 */
import type { RecordFields } from './batch-codec.js';
import { compress, ENCODING_FIELD, type CompressionSettings } from './compression.js';

/** The part of a batch compression reads and rewrites. */
export interface CompressibleBatch {
  readonly count: number;
  fieldsAt(i: number): (string | Buffer)[];
  setFieldsAt(i: number, fields: RecordFields): void;
}

/** Values compressed at once per batch: enough to keep libuv's four pool threads busy. */
const PARALLEL = 4;

/**
 * Compresses every value of at least `minBytes` whose entry gets smaller for it (the compressed
 * bytes plus the `encoding` field); the others stay as they are. Resolves with the bytes saved.
 */
export async function compressBatch(batch: CompressibleBatch, settings: CompressionSettings): Promise<number> {
  let next = 0;
  let saved = 0;
  const worker = async (): Promise<void> => {
    while (next < batch.count) {
      const i = next++;
      const fields = batch.fieldsAt(i);
      const value = fields[1]!;
      const length = typeof value === 'string' ? Buffer.byteLength(value) : value.length;
      if (fields[0] !== 'payload' || length < settings.minBytes) continue;
      // A failed compression (zlib out of memory) leaves the value as it is: still a valid entry.
      const body = await compress(settings, typeof value === 'string' ? Buffer.from(value) : value).catch(() => undefined);
      if (body === undefined) continue;
      const gain = length - body.length - ENCODING_FIELD.length - settings.codec.length;
      if (gain <= 0) continue;
      fields.splice(1, 1, body, ENCODING_FIELD, settings.codec);
      batch.setFieldsAt(i, fields);
      saved += gain;
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, batch.count) }, worker));
  return saved;
}
