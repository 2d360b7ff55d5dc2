/**
 * Hostile input: property-based tests with fast-check. No Redis.
 *
 * Every property runs with a fixed seed, so a run is reproducible; fast-check prints its seed, the
 * shrink path and the smallest counterexample when a property fails. Replay a failure with
 * `FC_SEED=<seed> npx vitest run test/unit/properties.test.ts`, or try other inputs with another seed.
 */
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type CompensationEntry, parseEntry, serializeEntry } from '../../src/compensation/entry.js';
import { decodeRecords, encodeRecords } from '../../src/compensation/journal.js';
import { InvalidRecordError } from '../../src/errors.js';
import { compensationKeys, compensationTopicsKey, extractShardId, hashTag, producerStateKey, streamKey, topicMetaKey } from '../../src/keys.js';
import { nameProblem, RESERVED_TOPICS } from '../../src/names.js';
import { crc32Partitioner, keyPartitioner, murmur2Partitioner } from '../../src/partitioner.js';
import { readEntry } from '../../src/entry.js';
import { encodeRecord, encodeWithSchema } from '../../src/record.js';
import { entryFields } from '../../src/batch-codec.js';

const SEED = Number(process.env.FC_SEED ?? 0x5eed_0007);

/** fast-check parameters: the fixed seed and a run count that keeps the file at a few seconds. */
const runs = (numRuns: number): fc.Parameters<unknown> => ({ seed: SEED, numRuns });

// ---------------------------------------------------------------------------------------------
// Arbitraries

/** One character, biased towards the ones that matter for key and header names. */
const hostileChar = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('{', '}', ':', ' ', '\t', '\n', '\r', '\u00a0', '\u2028', '\ufeff', '\u0000', '\u007f', 'h', '0', '9') },
  { weight: 4, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: fc.constantFrom('a', 'b', 'é', '订', '😀', '-', '_', '.') },
);

/** Any string built of well-formed code points (no lone surrogates), hostile characters included. */
const hostileString = (maxLength = 12) => fc.string({ unit: hostileChar, maxLength });

/** Namespace/topic names that `nameProblem` accepts. */
const validName = hostileString(12).filter((n) => nameProblem(n) === undefined);
const validTopic = validName.filter((t) => !RESERVED_TOPICS.has(t));

/**
 * Names from a tiny alphabet, so that different triples often share parts: a collision, if the key
 * layout allowed one, would show up.
 */
const smallName = fc.string({ unit: fc.constantFrom('a', 'b', '0', '1', 'é'), minLength: 1, maxLength: 3 });
const shardId = fc.integer({ min: 0, max: 16_383 });

/** Header names as docs/data-layout.md allows them: no `{`, `}`, whitespace (nor control characters). */
const validHeaderName = fc
  .string({ unit: hostileChar, minLength: 1, maxLength: 10 })
  // `__proto__` is left out: encodeRecord/readEntry drop that header.
  .filter((n) => !/[{}\s\p{Cc}]/u.test(n) && n !== '__proto__');

const bytes = fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a));
const stringOrBuffer = fc.oneof(fc.string({ unit: 'binary', maxLength: 32 }), bytes);

const validRecord = fc.record(
  {
    topic: validTopic,
    value: stringOrBuffer,
    key: stringOrBuffer,
    headers: fc.dictionary(validHeaderName, stringOrBuffer, { maxKeys: 8 }),
    shard: fc.nat(),
  },
  { requiredKeys: ['topic', 'value'] },
);

const byteLength = (v: string | Buffer): number => (typeof v === 'string' ? Buffer.byteLength(v) : v.length);

const bigLimits = { maxRecordBytes: 1 << 30, maxHeaders: 10_000 };

/** Runs `fn`, returning what it returned or what it threw. */
function attempt<T>(fn: () => T): { value: T; error?: undefined } | { value?: undefined; error: unknown } {
  try {
    return { value: fn() };
  } catch (error) {
    return { error };
  }
}

// ---------------------------------------------------------------------------------------------

describe('record validation and encoding (src/record.ts)', () => {
  const garbage = fc.anything({
    withBigInt: true,
    withBoxedValues: true,
    withDate: true,
    withMap: true,
    withSet: true,
    withNullPrototype: true,
    withObjectString: true,
    withSparseArray: true,
    withTypedArray: true,
    withUnicodeString: true,
  });
  // A record whose every field is either valid or garbage, plus unknown fields now and then.
  const nearlyValid = fc
    .tuple(
      fc.record(
        {
          topic: fc.oneof(validTopic, hostileString(), fc.constant('compensation'), garbage),
          value: fc.oneof(stringOrBuffer, garbage),
          key: fc.oneof(stringOrBuffer, garbage),
          headers: fc.oneof(fc.dictionary(validHeaderName, stringOrBuffer, { maxKeys: 6 }), fc.dictionary(hostileString(6), fc.oneof(stringOrBuffer, garbage), { maxKeys: 6 }), garbage),
          shard: fc.oneof(fc.nat(), fc.double(), garbage),
        },
        { requiredKeys: [] },
      ),
      fc.dictionary(fc.string({ maxLength: 6 }), garbage, { maxKeys: 2 }),
    )
    .map(([record, extra]) => ({ ...extra, ...record }));
  const limits = fc.record({ maxRecordBytes: fc.integer({ min: 1, max: 400 }), maxHeaders: fc.integer({ min: 0, max: 8 }) });
  const FIELDS = new Set(['(record)', 'topic', 'value', 'key', 'headers', 'shard']);

  it('throws nothing but an InvalidRecordError naming a field, whatever the input', () => {
    fc.assert(
      fc.property(fc.oneof(garbage, nearlyValid), limits, (input, lim) => {
        try {
          encodeRecord(input, lim);
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidRecordError);
          const { field, message } = error as InvalidRecordError;
          expect(typeof message).toBe('string');
          // The field is the record's own (or a header's, `headers.<name>`).
          expect(FIELDS.has(field) || field.startsWith('headers.'), `field ${JSON.stringify(field)}`).toBe(true);
        }
      }),
      runs(1500),
    );
  });

  it('the hand-checked common shape gives exactly what the zod schema gives, or the same error', () => {
    // Records of the common shape (topic, value, maybe key, headers and shard) most of the time, so
    // the fast path runs: header names valid, hostile, non-enumerable or symbols; shards near the edges.
    const headerNames = fc.oneof(validHeaderName, hostileString(6), fc.constant('__proto__'));
    const oddHeaders = fc.tuple(fc.dictionary(validHeaderName, stringOrBuffer, { maxKeys: 3 }), fc.oneof(validHeaderName, fc.constant(Symbol('s'))), stringOrBuffer).map(([base, name, v]) => {
      const headers = { ...base };
      Object.defineProperty(headers, name, { value: v, enumerable: false });
      return headers;
    });
    const common = fc.record(
      {
        topic: fc.oneof(validTopic, hostileString(), fc.constant('compensation'), garbage),
        value: fc.oneof(stringOrBuffer, garbage),
        key: fc.oneof(stringOrBuffer, fc.constant(undefined), garbage),
        headers: fc.oneof(
          fc.dictionary(validHeaderName, stringOrBuffer, { maxKeys: 6 }),
          fc.dictionary(headerNames, fc.oneof(stringOrBuffer, garbage), { maxKeys: 4 }),
          oddHeaders,
          fc.constant(undefined),
          garbage,
        ),
        shard: fc.oneof(fc.nat(), fc.constantFrom(-0, -1, 0.5, 2 ** 31 - 1, 2 ** 31, 2 ** 53, Number.NaN, Number.POSITIVE_INFINITY), fc.constant(undefined), garbage),
      },
      { requiredKeys: ['topic', 'value'] },
    );
    const outcome = (run: () => unknown) => {
      try {
        return { ok: run() };
      } catch (error) {
        return { error: (error as InvalidRecordError).message };
      }
    };
    fc.assert(
      fc.property(fc.oneof(common, nearlyValid, garbage), limits, (input, lim) => {
        expect(outcome(() => encodeRecord(input, lim))).toEqual(outcome(() => encodeWithSchema(input, lim)));
      }),
      runs(3000),
    );
  });

  it('accepts a header name exactly when it has no "{", "}" or whitespace', () => {
    fc.assert(
      fc.property(validTopic, fc.string({ unit: hostileChar, minLength: 1, maxLength: 10 }), (topic, name) => {
        fc.pre(name !== '__proto__');
        const outcome = attempt(() => encodeRecord({ topic, value: 'v', headers: { [name]: 'x' } }, bigLimits));
        if (!/[{}\s\p{Cc}]/u.test(name)) {
          expect(outcome).toEqual({ value: expect.objectContaining({ fields: ['payload', 'v', `h:${name}`, 'x'] }) });
        } else {
          expect(outcome.error).toBeInstanceOf(InvalidRecordError);
          expect((outcome.error as InvalidRecordError).field).toMatch(/^headers(\.|$)/);
        }
      }),
      runs(1000),
    );
  });

  it('accepts a topic exactly when nameProblem does and it is not reserved', () => {
    fc.assert(
      fc.property(fc.oneof(hostileString(), fc.constant('compensation')), (topic) => {
        const outcome = attempt(() => encodeRecord({ topic, value: 'v' }, bigLimits));
        if (nameProblem(topic) === undefined && !RESERVED_TOPICS.has(topic)) {
          expect(outcome).toEqual({ value: expect.objectContaining({ topic }) });
        } else {
          expect(outcome.error).toBeInstanceOf(InvalidRecordError);
          expect((outcome.error as InvalidRecordError).field).toBe('topic');
        }
      }),
      runs(1000),
    );
  });

  it('always encodes a valid record: seed layout, size = sum of byte lengths', () => {
    fc.assert(
      fc.property(validRecord, (record) => {
        const r = encodeRecord(record, bigLimits);
        const expected: (string | Buffer)[] = ['payload', record.value];
        let size = byteLength(record.value);
        if (record.key !== undefined) {
          expected.push('key', record.key);
          size += byteLength(record.key);
        }
        for (const [name, value] of Object.entries(record.headers ?? {})) {
          expected.push(`h:${name}`, value);
          size += Buffer.byteLength(name) + byteLength(value);
        }
        expect(entryFields(r)).toEqual(expected);
        expect(r.size).toBe(size);
        expect(r.topic).toBe(record.topic);
        expect(r.key).toBe(record.key);
        expect(r.shard).toBe(record.shard);
      }),
      runs(500),
    );
  });

  it('enforces maxHeaders then maxRecordBytes, and nothing else, on a valid record', () => {
    fc.assert(
      fc.property(validRecord, fc.integer({ min: 0, max: 8 }), fc.integer({ min: 1, max: 300 }), (record, maxHeaders, maxRecordBytes) => {
        const { size } = encodeRecord(record, bigLimits);
        const headers = Object.keys(record.headers ?? {}).length;
        let field: string | undefined;
        try {
          encodeRecord(record, { maxHeaders, maxRecordBytes });
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidRecordError);
          field = (error as InvalidRecordError).field;
        }
        expect(field).toBe(headers > maxHeaders ? 'headers' : size > maxRecordBytes ? 'value' : undefined);
      }),
      runs(500),
    );
  });

  it('round trips string records: readEntry(encodeRecord(r).fields) gives back value, key and headers', () => {
    const stringRecord = fc.record(
      {
        topic: validTopic,
        value: fc.string({ unit: 'binary', maxLength: 32 }),
        key: fc.string({ unit: 'binary', maxLength: 16 }),
        headers: fc.dictionary(validHeaderName, fc.string({ unit: 'binary', maxLength: 16 }), { maxKeys: 8 }),
      },
      { requiredKeys: ['topic', 'value'] },
    );
    fc.assert(
      fc.property(stringRecord, (record) => {
        const fields = entryFields(encodeRecord(record, bigLimits));
        const decoded = readEntry(fields.map((f) => (typeof f === 'string' ? f : f.toString())));
        expect(decoded.value).toBe(record.value);
        expect(decoded.key).toBe(record.key);
        expect(decoded.headers).toEqual(record.headers ?? {});
      }),
      runs(500),
    );
  });
});

// ---------------------------------------------------------------------------------------------

describe('compensation entry encoding (src/compensation/entry.ts)', () => {
  // Strings may hold lone surrogates: JSON.stringify escapes them, so they survive as UTF-8 too.
  const anyString = fc.string({
    unit: fc.oneof(
      fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
      fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)),
    ),
    maxLength: 24,
  });
  const entry: fc.Arbitrary<CompensationEntry> = fc.record(
    {
      id: anyString,
      topic: anyString,
      shard: fc.integer({ min: 0, max: 16_383 }),
      fields: fc.array(
        fc.oneof(
          anyString,
          fc.uint8Array({ maxLength: 48 }).map((a) => Buffer.from(a)),
        ),
        { maxLength: 10 },
      ),
      producerId: anyString,
      seq: fc.maxSafeNat(),
      persisted: fc.constantFrom('not' as const, 'possibly' as const),
      attempts: fc.integer({ min: 0, max: 1000 }),
      lastError: anyString,
      parkedAt: fc.maxSafeNat(),
    },
    { noNullPrototype: true },
  );

  it('parseEntry(serializeEntry(e)) is e, from the string and from its UTF-8 bytes, Buffers with any bytes included', () => {
    fc.assert(
      fc.property(entry, (e) => {
        const raw = serializeEntry(e);
        expect(parseEntry(raw)).toStrictEqual(e);
        // What Redis hands back is bytes.
        expect(parseEntry(Buffer.from(raw, 'utf8'))).toStrictEqual(e);
      }),
      runs(500),
    );
  });
});

// ---------------------------------------------------------------------------------------------

describe('partitioners (src/partitioner.ts)', () => {
  const shards = fc.integer({ min: 1, max: 16_384 });
  const keyBytes = fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a));
  // Unicode strings, lone surrogates included (hashed as their UTF-8 bytes, i.e. U+FFFD).
  const keyString = fc.string({
    unit: fc.oneof(
      hostileChar,
      fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)),
    ),
    maxLength: 24,
  });
  const inRange = (shard: number, n: number) => Number.isInteger(shard) && shard >= 0 && shard < n;

  it('crc32, murmur2 and keyPartitioner give an integer in [0, shards) for any byte key', () => {
    const byName = { crc32: keyPartitioner('crc32'), murmur2: keyPartitioner('murmur2') };
    fc.assert(
      fc.property(keyBytes, shards, (key, n) => {
        const crc = crc32Partitioner(key, n);
        const murmur = murmur2Partitioner(key, n);
        expect(inRange(crc, n), `crc32 → ${crc}`).toBe(true);
        expect(inRange(murmur, n), `murmur2 → ${murmur}`).toBe(true);
        expect(byName.crc32(key, n)).toBe(crc);
        expect(byName.murmur2(key, n)).toBe(murmur);
        expect(crc).toBe(crc32(key) % n);
      }),
      runs(1000),
    );
  });

  it('a string key and its UTF-8 bytes go to the same shard, in range', () => {
    const seen: Buffer[] = [];
    const custom = keyPartitioner((key: Buffer, n: number) => {
      seen.push(key);
      return crc32Partitioner(key, n);
    });
    const byName = { crc32: keyPartitioner('crc32'), murmur2: keyPartitioner('murmur2') };
    fc.assert(
      fc.property(keyString, shards, (key, n) => {
        const utf8 = Buffer.from(key, 'utf8');
        for (const p of Object.values(byName)) {
          const shard = p(key, n);
          expect(inRange(shard, n)).toBe(true);
          expect(p(utf8, n)).toBe(shard);
        }
        expect(crc32Partitioner(key, n)).toBe(crc32Partitioner(utf8, n));
        expect(byName.murmur2(key, n)).toBe(murmur2Partitioner(utf8, n));
        // A custom partitioner is handed the UTF-8 bytes of a string key.
        seen.length = 0;
        expect(custom(key, n)).toBe(byName.crc32(key, n));
        expect(seen).toHaveLength(1);
        expect(seen[0]!.equals(utf8)).toBe(true);
      }),
      runs(1000),
    );
  });
});

// ---------------------------------------------------------------------------------------------

describe('key building (src/keys.ts)', () => {
  it('every key of (ns, topic, shard) carries exactly its hash tag, and the shard id reads back', () => {
    fc.assert(
      fc.property(validName, validTopic, shardId, hostileString(), (ns, topic, shard, producerId) => {
        const stream = streamKey(ns, topic, shard);
        expect(hashTag(stream)).toBe(`${ns}:${topic}:${shard}`);
        expect(stream).toBe(`{${ns}:${topic}:${shard}}`); // the whole key is the tag
        // Whatever the producer id (even with braces), the state key stays in the stream's slot.
        const state = producerStateKey(stream, producerId);
        expect(hashTag(state)).toBe(hashTag(stream));
        expect(extractShardId(stream)).toBe(shard);
        expect(extractShardId(state)).toBe(shard);
        expect(hashTag(topicMetaKey(ns, topic))).toBe(`${ns}:${topic}`);
        const { zset, data } = compensationKeys(ns, topic);
        expect(hashTag(zset)).toBe(`${ns}:compensation:${topic}`);
        expect(hashTag(data)).toBe(`${ns}:compensation:${topic}`);
        expect(zset).not.toBe(data);
        expect(hashTag(compensationTopicsKey(ns))).toBe(`${ns}:compensation`);
      }),
      runs(1000),
    );
  });

  it('different (ns, topic, shard) never share a key or a hash tag, compared as the bytes Redis sees', () => {
    const triple = fc.record({ ns: smallName, topic: smallName.filter((t) => !RESERVED_TOPICS.has(t)), shard: fc.integer({ min: 0, max: 12 }) });
    fc.assert(
      fc.property(fc.array(triple, { minLength: 2, maxLength: 12 }), (triples) => {
        // key bytes → who owns it; tag bytes → who owns it. An owner is a key family plus its inputs.
        const keys = new Map<string, string>();
        const tags = new Map<string, string>();
        const claim = (map: Map<string, string>, what: string, owner: string) => {
          const hex = Buffer.from(what, 'utf8').toString('hex');
          const previous = map.get(hex);
          expect(previous === undefined || previous === owner, `${JSON.stringify(what)} is both ${previous} and ${owner}`).toBe(true);
          map.set(hex, owner);
        };
        for (const { ns, topic, shard } of triples) {
          const id = JSON.stringify([ns, topic, shard]);
          const stream = streamKey(ns, topic, shard);
          claim(keys, stream, `stream ${id}`);
          claim(tags, hashTag(stream), `shard ${id}`);
          claim(keys, producerStateKey(stream, 'p1'), `state ${id}`);
          const meta = topicMetaKey(ns, topic);
          claim(keys, meta, `meta ${JSON.stringify([ns, topic])}`);
          claim(tags, hashTag(meta), `topic ${JSON.stringify([ns, topic])}`);
          const { zset, data } = compensationKeys(ns, topic);
          claim(keys, zset, `zset ${JSON.stringify([ns, topic])}`);
          claim(keys, data, `data ${JSON.stringify([ns, topic])}`);
          claim(tags, hashTag(zset), `compensation ${JSON.stringify([ns, topic])}`);
          claim(keys, compensationTopicsKey(ns), `topics ${JSON.stringify(ns)}`);
          claim(tags, hashTag(compensationTopicsKey(ns)), `compensation-topics ${JSON.stringify(ns)}`);
        }
      }),
      runs(1000),
    );
  });

  it('a name that breaks the tag or lets two triples share a key is one nameProblem rejects', () => {
    fc.assert(
      fc.property(hostileString(), hostileString(), hostileString(), shardId, (a, b, c, shard) => {
        // Broken tag ⇒ rejected name.
        if (hashTag(streamKey(a, b, shard)) !== `${a}:${b}:${shard}` || hashTag(topicMetaKey(a, b)) !== `${a}:${b}`) {
          expect(nameProblem(a) !== undefined || nameProblem(b) !== undefined).toBe(true);
        }
        if (hashTag(compensationKeys(a, b).zset) !== `${a}:compensation:${b}`) {
          expect(nameProblem(a) !== undefined || nameProblem(b) !== undefined).toBe(true);
        }
        // `ns=a:b, topic=c` and `ns=a, topic=b:c` share every key: one of the two must be refused.
        expect(streamKey(`${a}:${b}`, c, shard)).toBe(streamKey(a, `${b}:${c}`, shard));
        expect(nameProblem(`${a}:${b}`)).toBeDefined();
        expect(nameProblem(`${b}:${c}`)).toBeDefined();
      }),
      runs(1000),
    );
  });

  it('the reserved topic "compensation" is what keeps shard streams out of compensation slots', () => {
    // Without the reservation, topic "compensation" shard 5 would share the tag of topic "5"'s store.
    expect(hashTag(streamKey('app', 'compensation', 5))).toBe(hashTag(compensationKeys('app', '5').zset));
    expect(hashTag(topicMetaKey('app', 'compensation'))).toBe(hashTag(compensationTopicsKey('app')));
    expect(RESERVED_TOPICS.has('compensation')).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------

describe('journal reader on truncated and corrupted files (src/compensation/journal.ts)', () => {
  const HEADER = 11;
  const entries = fc.array(
    fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)),
    { maxLength: 8 },
  );

  /** Offsets at which each record starts, plus the file length at the end. */
  function boundaries(list: readonly Buffer[]): number[] {
    const at = [0];
    for (const e of list) at.push(at[at.length - 1]! + HEADER + e.length);
    return at;
  }

  const samePayloads = (got: readonly Buffer[], want: readonly Buffer[]) => {
    expect(got.map((b) => b.toString('hex'))).toEqual(want.map((b) => b.toString('hex')));
  };

  it('a file cut at any offset: never throws, gives the whole records before the cut, tornTail iff cut inside one', () => {
    fc.assert(
      fc.property(entries, (list) => {
        const data = encodeRecords(list);
        const at = boundaries(list);
        for (let cut = 0; cut <= data.length; cut++) {
          const result = decodeRecords(data.subarray(0, cut));
          const whole = at.filter((end, i) => i > 0 && end <= cut).length;
          samePayloads(result.records, list.slice(0, whole));
          expect(result.tornTail).toBe(!at.includes(cut));
          expect(result.corruptAt).toBeUndefined();
        }
      }),
      runs(300),
    );
  });

  /*
   * One byte flipped at `pos`, inside record i (which starts at `at[i]`). Exactly what is asserted:
   * - never throws, and records 0..i-1 come back intact;
   * - magic/version byte (offset 0–2 in the record), CRC field (7–10) or payload: `corruptAt` is
   *   `at[i]`, no torn tail, exactly i records. CRC-32 detects every error burst of ≤ 32 bits, so
   *   this holds for every single-byte flip, not just with high probability;
   * - length field (3–6): the header has no checksum of its own, so
   *   · a length pointing past the end of the file: if record i is the last one it reads as a torn
   *     tail (i records, no `corruptAt`); if intact records follow it, that cannot be a crash, so
   *     it is `corruptAt` = `at[i]` and `complete()` keeps the file;
   *   · otherwise the CRC is checked over the wrong bytes: `corruptAt` = `at[i]` with i records,
   *     unless those bytes happen to have the stored CRC (probability ≈ 2⁻³²): then only the intact
   *     prefix and "no throw" are guaranteed. The test computes which case applies.
   */
  it('one flipped byte: never throws, keeps the intact prefix, reports corruptAt or tornTail as stated above', () => {
    const stats = { header: 0, payloadOrCrc: 0, lengthTorn: 0, lengthCorrupt: 0 };
    fc.assert(
      fc.property(
        entries.filter((l) => l.length > 0),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (list, where, mask) => {
          const good = encodeRecords(list);
          const at = boundaries(list);
          const pos = where % good.length;
          const data = Buffer.from(good);
          data[pos]! ^= mask;
          const i = at.findIndex((start, k) => start <= pos && pos < at[k + 1]!);
          const rel = pos - at[i]!;

          const result = decodeRecords(data);
          samePayloads(result.records.slice(0, i), list.slice(0, i));

          if (rel < 3 || rel >= 7) {
            stats[rel < 3 ? 'header' : 'payloadOrCrc']++;
            expect(result).toEqual({ records: list.slice(0, i), tornTail: false, corruptAt: at[i] });
            return;
          }
          const length = data.readUInt32BE(at[i]! + 3);
          const start = at[i]! + HEADER;
          if (length > data.length - start) {
            stats.lengthTorn++;
            const last = i === list.length - 1;
            expect(result).toEqual(last ? { records: list.slice(0, i), tornTail: true } : { records: list.slice(0, i), tornTail: false, corruptAt: at[i] });
          } else if (crc32(data.subarray(start, start + length)) !== data.readUInt32BE(at[i]! + 7)) {
            stats.lengthCorrupt++;
            expect(result).toEqual({ records: list.slice(0, i), tornTail: false, corruptAt: at[i] });
          }
          // else: a CRC collision on the misframed bytes; the prefix check above is all that holds.
        },
      ),
      runs(2000),
    );
    // Each branch of the property was exercised.
    expect(
      Object.values(stats).every((n) => n > 0),
      JSON.stringify(stats),
    ).toBe(true);
  });

  it('arbitrary bytes, alone or after valid records: never throws, valid records first, a consistent result', () => {
    const junk = fc.oneof(
      fc.uint8Array({ maxLength: 80 }),
      // Junk that starts like a record header, so the reader gets past the magic check.
      fc.uint8Array({ maxLength: 80 }).map((a) => Uint8Array.from([0x52, 0x4a, 0x01, ...a])),
    );
    fc.assert(
      fc.property(entries, junk, (list, tail) => {
        const data = Buffer.concat([encodeRecords(list), Buffer.from(tail)]);
        const result = decodeRecords(data);
        samePayloads(result.records.slice(0, list.length), list);
        if (tail.length > 0) expect(result.tornTail || result.corruptAt !== undefined || result.records.length > list.length).toBe(true);
        if (result.corruptAt !== undefined) {
          expect(result.tornTail).toBe(false);
          expect(result.corruptAt).toBeGreaterThanOrEqual(0);
          expect(result.corruptAt).toBeLessThan(data.length);
        }
      }),
      runs(1000),
    );
  });
});
