/**
 * Reads a stream entry the producer wrote back into a record, for consumers: the field list of an
 * `XRANGE` / `XREAD` / `XREADGROUP` entry in, `{ value, key, headers }` out, the value decompressed
 * as its `encoding` field says. Exported as `redis-stream-producer/entry`.
 */
import { type Codec, codecAvailable, codecProblem, decompress, ENCODING_FIELD, isCodec } from './compression.js';
import { EntryReadError } from './errors.js';

export { EntryReadError, type EntryReadErrorCode } from './errors.js';
export type { Codec } from './compression.js';

/** An entry's fields as a client returns them: `[name, value, name, value, …]`. */
export type EntryFields = readonly (string | Buffer)[];

/** A record read back from its entry. */
export interface EntryRecord<T extends string | Buffer> {
  /** The value the producer was given, decompressed. */
  value: T;
  /** The record's key, when it had one. */
  key?: T;
  /** The headers (`h:<name>` fields), by name. */
  headers: Record<string, T>;
  /** The codec the value was stored with (the entry's `encoding` field); absent when stored as it is. */
  encoding?: Codec;
}

export interface ReadEntryOptions {
  /** `string` (default): UTF-8 text. `buffer`: the bytes, for binary values. */
  as?: 'string' | 'buffer';
  /** Largest value a compressed body may decompress to; a bigger one is `ERR_ENTRY_CORRUPT`. @default 536870912 (512 MiB, Redis's largest string) */
  maxValueBytes?: number;
}

const DEFAULT_MAX_VALUE_BYTES = 512 * 1024 * 1024;

/**
 * Turns an entry's field list into `{ value, key, headers }`. Read entries as Buffers (ioredis
 * `xrangeBuffer`, `xreadgroupBuffer`…) when values may be compressed: a client that decodes bytes as
 * UTF-8 text damages compressed bodies. Throws `EntryReadError` for an entry it cannot read.
 */
export function readEntry(fields: EntryFields, options: ReadEntryOptions & { as: 'buffer' }): EntryRecord<Buffer>;
export function readEntry(fields: EntryFields, options?: ReadEntryOptions & { as?: 'string' }): EntryRecord<string>;
export function readEntry(fields: EntryFields, options: ReadEntryOptions = {}): EntryRecord<string | Buffer> {
  const asBuffer = options.as === 'buffer';
  const out = (v: string | Buffer): string | Buffer => (asBuffer ? (typeof v === 'string' ? Buffer.from(v) : v) : typeof v === 'string' ? v : v.toString());
  let payload: string | Buffer | undefined;
  let encoding: string | undefined;
  const record: EntryRecord<string | Buffer> = { value: '', headers: {} };
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i]!.toString();
    const value = fields[i + 1]!;
    if (name === 'payload') payload = value;
    else if (name === 'key') record.key = out(value);
    else if (name === ENCODING_FIELD) encoding = value.toString();
    else if (name.startsWith('h:')) record.headers[name.slice(2)] = out(value);
  }
  if (payload === undefined) throw new EntryReadError('ERR_ENTRY_NO_PAYLOAD', 'payload', 'Unreadable entry: it has no `payload` field');
  if (encoding === undefined) {
    record.value = out(payload);
    return record;
  }
  if (!isCodec(encoding)) {
    throw new EntryReadError('ERR_ENTRY_UNKNOWN_ENCODING', ENCODING_FIELD, `Unreadable entry: expected \`encoding\` to be one of gzip, deflate, brotli, zstd, got ${JSON.stringify(encoding)}`);
  }
  if (!codecAvailable(encoding)) {
    throw new EntryReadError('ERR_ENTRY_UNKNOWN_ENCODING', ENCODING_FIELD, `Unreadable entry here: its \`encoding\` is "${encoding}", and ${codecProblem(encoding)}`);
  }
  let value: Buffer;
  try {
    value = decompress(encoding, typeof payload === 'string' ? Buffer.from(payload) : payload, options.maxValueBytes ?? DEFAULT_MAX_VALUE_BYTES);
  } catch (err) {
    const hint = typeof payload === 'string' ? ' (it was read as text: read entries as Buffers, e.g. ioredis xrangeBuffer)' : '';
    const why = err instanceof Error ? err.message : String(err);
    throw new EntryReadError('ERR_ENTRY_CORRUPT', 'payload', `Unreadable entry: expected \`payload\` to be a ${encoding} body, got bytes that do not decompress: ${why}${hint}`, err);
  }
  record.value = asBuffer ? value : value.toString();
  record.encoding = encoding;
  return record;
}
