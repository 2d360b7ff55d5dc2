import { gunzipSync, inflateSync, brotliDecompressSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { toColumns, encodeColumns } from '../../src/batch-codec.js';
import { Batch } from '../../src/accumulator.js';
import { BatchCompressor, compressBatch, POOL_FROM_BYTES } from '../../src/compress-batch.js';
import { codecAvailable, codecProblem, compress, decompress, LEVELS, type Codec, type CompressionSettings } from '../../src/compression.js';
import { resolveConfig } from '../../src/config.js';
import { compressionFor } from '../../src/topics.js';
import { configError } from '../support/config-error.js';

const json = (bytes: number): string => {
  const rows: string[] = [];
  for (let i = 0; rows.join(',').length < bytes; i++) rows.push(JSON.stringify({ id: i, name: `user-${i}`, email: `u${i}@example.com`, active: i % 2 === 0 }));
  return `[${rows.join(',')}]`;
};
const settings = (codec: Codec, minBytes = 0): CompressionSettings => ({ codec, minBytes, level: LEVELS[codec].default });
/** What a reader with nothing but Node's zlib does with each codec's body. */
const stock: Record<Exclude<Codec, 'zstd'>, (b: Buffer) => Buffer> = { gzip: gunzipSync, deflate: inflateSync, brotli: brotliDecompressSync };

function batchOf(records: (string | Buffer)[][]): Batch<unknown> {
  const batch = new Batch<unknown>(0, 1);
  const columns = toColumns(records);
  for (let i = 0; i < records.length; i++) {
    batch.add({ value: columns.values[i], key: columns.keys[i], fields: columns.extras?.[i] }, 100, undefined);
  }
  return batch;
}

describe('codecs', () => {
  for (const codec of ['gzip', 'deflate', 'brotli'] as const) {
    it(`${codec}: compresses to a body Node's own zlib reads, and decompress() reads it back`, async () => {
      const value = Buffer.from(json(4096));
      const body = await compress(settings(codec), value);
      expect(body.length).toBeLessThan(value.length / 2);
      expect(stock[codec](body)).toEqual(value);
      expect(decompress(codec, body, 1 << 20)).toEqual(value);
    });
  }

  it('zstd: used where the running Node has zlib.zstdCompress, refused with a ConfigError where it does not', async () => {
    if (codecAvailable('zstd')) {
      const value = Buffer.from(json(4096));
      expect(decompress('zstd', await compress(settings('zstd'), value), 1 << 20)).toEqual(value);
      expect(resolveConfig({ compression: { codec: 'zstd' } }).compression.codec).toBe('zstd');
    } else {
      const err = configError({ compression: { codec: 'zstd' } });
      expect(err.issues).toEqual([expect.stringMatching(/^`compression\.codec`: codec "zstd" needs a Node\.js whose zlib has zstdCompress .*got "zstd"/)]);
    }
    // Either way, the answer follows what the zlib module has.
    expect(codecProblem('zstd', {})).toMatch(/zstdCompress/);
    expect(codecProblem('zstd', { zstdCompress: () => undefined })).toBeUndefined();
    expect(codecProblem('gzip', {})).toBeUndefined();
  });

  it('decompress() refuses a body that inflates beyond maxBytes', async () => {
    const body = await compress(settings('gzip'), Buffer.alloc(100_000));
    expect(() => decompress('gzip', body, 50_000)).toThrow(RangeError);
  });
});

describe('compression config', () => {
  it('is off by default, resolves per topic, and fills the codec default level', () => {
    const config = resolveConfig({ compression: { codec: 'gzip', minBytes: 10 }, topics: { raw: { compression: { codec: 'none' } }, small: { compression: { codec: 'brotli', level: 9 } } } });
    expect(compressionFor(resolveConfig({}), 't')).toBeUndefined();
    expect(compressionFor(config, 't')).toEqual({ codec: 'gzip', minBytes: 10, level: 6 });
    expect(compressionFor(config, 'raw')).toBeUndefined();
    // A topic's setting replaces the producer-wide one as a whole: minBytes is its own default.
    expect(compressionFor(config, 'small')).toEqual({ codec: 'brotli', minBytes: 1024, level: 9 });
  });

  it('names the field and what was expected for a bad codec, level or minBytes', () => {
    expect(configError({ compression: { codec: 'lz4' } }).issues).toEqual([expect.stringMatching(/^`compression\.codec`: .*"gzip".*got "lz4" \(string\)$/)]);
    expect(configError({ compression: { codec: 'gzip', level: 12 } }).issues).toEqual(['`compression.level`: expected an integer from 1 to 9 for codec "gzip", got 12 (number)']);
    expect(configError({ compression: { codec: 'deflate', level: 0 } }).issues).toEqual(['`compression.level`: expected an integer from 1 to 9 for codec "deflate", got 0 (number)']);
    expect(configError({ topics: { t: { compression: { codec: 'brotli', level: 12 } } } }).issues).toEqual([
      '`topics.t.compression.level`: expected an integer from 0 to 11 for codec "brotli", got 12 (number)',
    ]);
    expect(configError({ compression: { codec: 'gzip', level: 2.5 } }).issues).toEqual([expect.stringMatching(/^`compression\.level`: .*integer.*got 2\.5 \(number\)$/)]);
    expect(configError({ compression: { minBytes: -1 } }).issues).toEqual([expect.stringMatching(/^`compression\.minBytes`: .*>=0.*got -1 \(number\)$/)]);
    expect(configError({ compression: { codec: 'gzip', threshold: 5 } }).issues).toEqual(['unknown option in `compression`: `threshold`']);
  });
});

describe('compressBatch', () => {
  it('compresses values of at least minBytes in place: payload, its encoding, then the other fields in their order', async () => {
    const big = json(2048);
    const batch = batchOf([
      ['payload', big],
      ['payload', 'short'],
      ['payload', big, 'key', 'k1'],
      ['payload', Buffer.from(big), 'key', 'k2', 'h:source', 'api'],
    ]);
    const result = await compressBatch(batch, settings('gzip', 1024));
    expect(result.records).toBe(3);
    // Each compressed value saves its bytes less the compressed bytes and the `encoding` field.
    const entryGain = (i: number) => Buffer.byteLength(big) - (batch.fieldsAt(i)[1] as Buffer).length - 'encoding'.length - 'gzip'.length;
    expect(result.savedBytes).toBe(entryGain(0) + entryGain(2) + entryGain(3));
    const [a, b, c, d] = [0, 1, 2, 3].map((i) => batch.fieldsAt(i));
    expect(a!.slice(2)).toEqual(['encoding', 'gzip']);
    expect(gunzipSync(a![1] as Buffer).toString()).toBe(big);
    expect(b).toEqual(['payload', 'short']);
    expect(c!.filter((_, i) => i !== 1)).toEqual(['payload', 'encoding', 'gzip', 'key', 'k1']);
    expect(d!.filter((_, i) => i !== 1)).toEqual(['payload', 'encoding', 'gzip', 'key', 'k2', 'h:source', 'api']);
    expect(gunzipSync(d![1] as Buffer).toString()).toBe(big);
    // The script arguments follow: they carry the compressed bytes and the `encoding` field.
    expect(batch.encoded()).toContain(d![1]);
    expect(batch.encoded()).toContain('encoding');
    expect(batch.bytes).toBe(400); // what was reserved stays reserved until the batch settles
  });

  it('gives the event loop a turn between slices of work on this thread, and sends large values to the pool', async () => {
    const values = Array.from({ length: 6 }, (_, i) => json(2000 + i));
    const large = json(POOL_FROM_BYTES);
    const batch = batchOf([...values.map((v) => ['payload', v]), ['payload', large]]);
    let clock = 0;
    // Every reading of the clock is 5 ms later: each value fills a slice, so a turn follows each.
    const immediates: number[] = [];
    const watch = () => {
      immediates.push(clock);
      if (immediates.length < 100) setImmediate(watch);
    };
    setImmediate(watch);
    await compressBatch(batch, settings('gzip', 1024), () => (clock += 5));
    // Other work ran in between values, not only after the batch.
    expect(new Set(immediates.filter((t) => t > 0 && t < clock)).size).toBeGreaterThanOrEqual(values.length - 1);
    for (let i = 0; i < values.length; i++) expect(gunzipSync(batch.fieldsAt(i)[1] as Buffer).toString()).toBe(values[i]);
    expect(gunzipSync(batch.fieldsAt(values.length)[1] as Buffer).toString()).toBe(large);
  });

  it("a producer's compressor takes one batch at a time, so one slice per turn of the loop holds across shards", async () => {
    const read: string[] = [];
    const tracked = (name: string) => {
      const batch = batchOf(Array.from({ length: 3 }, (_, i) => ['payload', json(1500 + i)]));
      const fieldsAt = batch.fieldsAt.bind(batch);
      batch.fieldsAt = (i) => {
        read.push(`${name}${i}`);
        return fieldsAt(i);
      };
      return batch;
    };
    let clock = 0;
    const compressor = new BatchCompressor(() => (clock += 5)); // every value fills a slice
    const saved = await Promise.all([compressor.compress(tracked('a'), settings('gzip', 1024)), compressor.compress(tracked('b'), settings('gzip', 1024))]);
    expect(read).toEqual(['a0', 'a1', 'a2', 'b0', 'b1', 'b2']);
    expect(saved.map((r) => r.records)).toEqual([3, 3]);
    expect(saved.every((r) => r.savedBytes > 2000)).toBe(true);
  });

  it('leaves a value that would not shrink as it is, without an encoding field', async () => {
    const random = Buffer.from(Array.from({ length: 2048 }, (_, i) => (i * 7919 + ((i * i) % 251)) & 0xff));
    const incompressible = (await compress(settings('gzip'), random)).subarray(0, 2000); // compressed bytes barely compress again
    const batch = batchOf([['payload', incompressible, 'key', 'k']]);
    expect(await compressBatch(batch, settings('gzip'))).toEqual({ records: 0, savedBytes: 0 });
    expect(batch.fieldsAt(0)).toEqual(['payload', incompressible, 'key', 'k']);
    expect(encodeColumns(batch.columns)).not.toContain('encoding');
  });
});
