import { z } from 'zod';
import { formatIssues } from './config.js';
import { InvalidRecordError } from './errors.js';
import { HEADER_NAME, HEADER_NAME_RULE, nameProblem, RESERVED_TOPICS } from './names.js';

/** What callers pass to `send()` / `produce()`. */
export interface ProducerRecord {
  /** Topic name: no `{`, `}`, `:` or whitespace; `compensation` is reserved. */
  topic: string;
  /** The payload, stored in the entry's `payload` field. */
  value: string | Buffer;
  /** Decides the shard (same key → same shard → per-key order); stored in the entry's `key` field. */
  key?: string | Buffer;
  /** Stored as `h:<name>` fields. Names: no `{`, `}` or whitespace. */
  headers?: Record<string, string | Buffer>;
  /** Explicit shard, overriding the key hash; must be below the topic's shard count. */
  shard?: number;
}

// Header names become field names `h:<name>`; braces and whitespace are refused so a name can
// never look like a key or break a line-oriented consumer.

const bytes = z.union([z.string(), z.instanceof(Buffer)], { error: 'expected a string or a Buffer' });

const recordSchema = z.strictObject({
  topic: z.string().refine((t) => nameProblem(t) === undefined && !RESERVED_TOPICS.has(t), {
    error: (issue) => {
      const t = issue.input as string;
      return RESERVED_TOPICS.has(t) ? `topic name "${t}" is reserved` : `topic name ${nameProblem(t)}`;
    },
  }),
  value: bytes,
  key: bytes.optional(),
  headers: z.record(z.string().regex(HEADER_NAME, `header name must be ${HEADER_NAME_RULE}`), bytes).optional(),
  shard: z.number().int('expected an integer shard').min(0).optional(),
});

/**
 * A validated record, ready for a batch. Its entry is `payload` = value [+ `key` = key] unless
 * `fields` is set, which then holds the whole XADD field/value list (a record with headers).
 */
export interface EncodedRecord {
  topic: string;
  /** The record's key, when it has one (the partitioner hashes its UTF-8 bytes). */
  key: string | Buffer | undefined;
  shard: number | undefined;
  value: string | Buffer;
  /** `payload`, value[, `key`, key][, `h:<name>`, value]…, only for a record with headers. */
  fields: (string | Buffer)[] | undefined;
  /** Bytes counted against `maxRecordBytes` and `bufferMaxBytes`. */
  size: number;
}

const byteLength = (v: string | Buffer): number => (typeof v === 'string' ? Buffer.byteLength(v) : v.length);

/**
 * Validates a record and encodes it into the entry layout of docs/data-layout.md: `payload` holds the
 * value, `key` the key (when given), each header `h:<name>` its value.
 * Throws `InvalidRecordError` naming the first bad field.
 */
export function encodeRecord(input: unknown, limits: { maxRecordBytes: number; maxHeaders: number }): EncodedRecord {
  return encodeCommonShape(input, limits) ?? encodeWithSchema(input, limits);
}

let lastTopic = '';

/** Each header name seen valid: its field `h:<name>` (one string per name, reused by every record) and its bytes. */
const headerFields = new Map<string, { field: string; bytes: number }>();
/** Names remembered at most: a producer whose header names never repeat still stays bounded. */
const MAX_REMEMBERED_HEADER_NAMES = 1024;

/** The field of header `name` and the name's bytes, or undefined when the name is not valid. */
function headerField(name: string): { field: string; bytes: number } | undefined {
  const known = headerFields.get(name);
  if (known !== undefined) return known;
  if (name === '__proto__' || !HEADER_NAME.test(name)) return undefined;
  const header = { field: `h:${name}`, bytes: Buffer.byteLength(name) };
  if (headerFields.size < MAX_REMEMBERED_HEADER_NAMES) headerFields.set(name, header);
  return header;
}

/** Largest shard number the common shape takes as it is (the schema decides beyond). */
const MAX_COMMON_SHARD = 0x7fffffff;

/**
 * The shape nearly every record has — a plain object with `topic`, `value` and maybe `key`,
 * `headers` (a plain object of strings and Buffers) and `shard`, all valid — checked by hand,
 * without the allocations of a zod parse (a firehose validates 300k records a second). Returns
 * undefined for anything else, and the zod schema decides and explains. It accepts only what the
 * schema accepts, with the same result (a property test checks both).
 */
function encodeCommonShape(input: unknown, limits: { maxRecordBytes: number; maxHeaders: number }): EncodedRecord | undefined {
  if (typeof input !== 'object' || input === null || Object.getPrototypeOf(input) !== Object.prototype) return undefined;
  for (const name in input) if (name !== 'topic' && name !== 'value' && name !== 'key' && name !== 'headers' && name !== 'shard') return undefined;
  const { topic, value, key, headers, shard } = input as { topic?: unknown; value?: unknown; key?: unknown; headers?: unknown; shard?: unknown };
  if (typeof topic !== 'string') return undefined;
  if (topic !== lastTopic) {
    if (nameProblem(topic) !== undefined || RESERVED_TOPICS.has(topic)) return undefined;
    lastTopic = topic;
  }
  if (typeof value !== 'string' && !Buffer.isBuffer(value)) return undefined;
  let size = byteLength(value);
  if (key !== undefined) {
    if (typeof key !== 'string' && !Buffer.isBuffer(key)) return undefined;
    size += byteLength(key);
  }
  if (shard !== undefined && !(typeof shard === 'number' && Number.isInteger(shard) && shard >= 0 && shard <= MAX_COMMON_SHARD)) return undefined;
  let fields: (string | Buffer)[] | undefined;
  if (headers !== undefined) {
    if (typeof headers !== 'object' || headers === null || Object.getPrototypeOf(headers) !== Object.prototype) return undefined;
    // The own enumerable names, as the schema reads them; a symbol name is left to the schema.
    if (Object.getOwnPropertySymbols(headers).length > 0) return undefined;
    let count = 0;
    for (const name in headers) {
      const header = headerField(name);
      const v = (headers as Record<string, unknown>)[name];
      if (header === undefined || (typeof v !== 'string' && !Buffer.isBuffer(v))) return undefined;
      fields ??= key === undefined ? ['payload', value] : ['payload', value, 'key', key];
      fields.push(header.field, v);
      size += header.bytes + byteLength(v);
      count++;
    }
    if (count > limits.maxHeaders) return undefined;
  }
  if (size > limits.maxRecordBytes) return undefined;
  return { topic, key, shard: shard as number | undefined, value, fields, size };
}

/** Validates a record with the zod schema; every record the common shape does not cover comes here. */
export function encodeWithSchema(input: unknown, limits: { maxRecordBytes: number; maxHeaders: number }): EncodedRecord {
  // zod drops an own `__proto__` key of a record silently; refuse it instead of losing the header.
  const headers = (input as { headers?: unknown } | null)?.headers;
  if (typeof headers === 'object' && headers !== null && Object.hasOwn(headers, '__proto__')) {
    throw new InvalidRecordError('headers.__proto__', 'Invalid record: `headers.__proto__`: a header may not be named __proto__');
  }
  const parsed = recordSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.length > 0 ? issue.path.map(String).join('.') : '(record)';
    throw new InvalidRecordError(field, `Invalid record: ${formatIssues(parsed.error.issues, input, 'field').join('; ')}`);
  }
  const record = parsed.data;
  let size = byteLength(record.value);
  const key = record.key;
  if (key !== undefined) size += byteLength(key);
  let fields: (string | Buffer)[] | undefined;
  if (record.headers !== undefined) {
    const names = Object.keys(record.headers);
    if (names.length > limits.maxHeaders) {
      throw new InvalidRecordError('headers', `Invalid record: \`headers\` has ${names.length} entries, more than maxHeaders (${limits.maxHeaders})`);
    }
    if (names.length > 0) {
      fields = key === undefined ? ['payload', record.value] : ['payload', record.value, 'key', key];
      for (const name of names) {
        const value = record.headers[name]!;
        fields.push(`h:${name}`, value);
        size += Buffer.byteLength(name) + byteLength(value);
      }
    }
  }
  if (size > limits.maxRecordBytes) {
    throw new InvalidRecordError('value', `Invalid record: it is ${size} bytes (value + key + headers), more than maxRecordBytes (${limits.maxRecordBytes})`);
  }
  return { topic: record.topic, key, shard: record.shard, value: record.value, fields, size };
}
