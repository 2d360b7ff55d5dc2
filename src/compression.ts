/**
 * The payload codecs: which exist, their levels, and compressing / decompressing one value with
 * Node's own zlib, so any reader with a zlib can decode an entry (docs/data-layout.md).
 */
import zlib from 'node:zlib';

/** The entry field that names the codec of a compressed `payload`; absent when it is stored as it is. */
export const ENCODING_FIELD = 'encoding';

/** Codecs a value can be compressed with; each name is also what the `encoding` field holds. */
export const CODECS = ['gzip', 'deflate', 'brotli', 'zstd'] as const;
export type Codec = (typeof CODECS)[number];

/** Level range and default per codec (zlib levels; brotli quality; zstd level). */
export const LEVELS: Readonly<Record<Codec, { min: number; max: number; default: number }>> = {
  gzip: { min: 1, max: 9, default: 6 },
  deflate: { min: 1, max: 9, default: 6 },
  // Node's own default quality (11) costs about 100× quality 4 for a few percent less.
  brotli: { min: 0, max: 11, default: 4 },
  zstd: { min: 1, max: 22, default: 3 },
};

/** What a value is compressed with, after the config resolved it. */
export interface CompressionSettings {
  codec: Codec;
  /** Values shorter than this are stored as they are. */
  minBytes: number;
  level: number;
}

export const isCodec = (name: string): name is Codec => (CODECS as readonly string[]).includes(name);

// zstd arrived in Node 22.15 / 23.8; the types of Node 20 do not know it, so it is looked up by name.
type Callback = (error: Error | null, result: Buffer) => void;
interface ZstdApi {
  zstdCompress(buf: Buffer, options: object, callback: Callback): void;
  zstdDecompressSync(buf: Buffer, options: object): Buffer;
}

/** Whether the running Node can use `codec` (zstd needs `zlib.zstdCompress`). */
export function codecAvailable(codec: Codec, lib: object = zlib): boolean {
  return codec !== 'zstd' || typeof (lib as Partial<ZstdApi>).zstdCompress === 'function';
}

/** Why `codec` cannot be used here, for a `ConfigError`; undefined when it can. */
export function codecProblem(codec: Codec, lib: object = zlib): string | undefined {
  if (codecAvailable(codec, lib)) return undefined;
  return `codec "zstd" needs a Node.js whose zlib has zstdCompress (22.15 or later); this is ${process.version}`;
}

const zstd = zlib as unknown as ZstdApi;

/** zlib options of `settings` (brotli: its quality, and the size as a hint). */
function optionsOf(settings: CompressionSettings, length: number): object {
  const { codec, level } = settings;
  if (codec === 'gzip' || codec === 'deflate') return { level };
  if (codec === 'brotli') return { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: level, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: length } };
  const constants = zlib.constants as unknown as Record<string, number>;
  return { params: { [constants.ZSTD_c_compressionLevel!]: level } };
}

/** Compresses `value` on this thread: for values small enough that the pool's hand-off costs more. */
export function compressSync(settings: CompressionSettings, value: Buffer): Buffer {
  const options = optionsOf(settings, value.length);
  const { codec } = settings;
  if (codec === 'gzip') return zlib.gzipSync(value, options);
  if (codec === 'deflate') return zlib.deflateSync(value, options);
  if (codec === 'brotli') return zlib.brotliCompressSync(value, options);
  return (zlib as unknown as { zstdCompressSync(v: Buffer, o: object): Buffer }).zstdCompressSync(value, options);
}

/**
 * Compresses `value` on libuv's thread pool (zlib's async API), so a large value never holds the
 * event loop. Resolves with the compressed bytes.
 */
export function compress(settings: CompressionSettings, value: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const done: Callback = (error, result) => (error ? reject(error) : resolve(result));
    const options = optionsOf(settings, value.length);
    const { codec } = settings;
    if (codec === 'gzip') zlib.gzip(value, options, done);
    else if (codec === 'deflate') zlib.deflate(value, options, done);
    else if (codec === 'brotli') zlib.brotliCompress(value, options, done);
    else zstd.zstdCompress(value, options, done);
  });
}

/**
 * Decompresses one value; `maxBytes` bounds the output, so a small corrupt or hostile body cannot
 * inflate into all the memory there is. Throws zlib's error (the caller names the entry).
 */
export function decompress(codec: Codec, body: Buffer, maxBytes: number): Buffer {
  const options = { maxOutputLength: maxBytes };
  if (codec === 'gzip') return zlib.gunzipSync(body, options);
  if (codec === 'deflate') return zlib.inflateSync(body, options);
  if (codec === 'brotli') return zlib.brotliDecompressSync(body, options);
  if (!codecAvailable('zstd')) throw new Error(codecProblem('zstd'));
  return zstd.zstdDecompressSync(body, options);
}
