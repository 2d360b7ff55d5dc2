import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bufferedRecord, decodeReply, encodeBatch, fieldsAt, toColumns } from '../../src/batch-codec.js';

const v = (value: string) => ['payload', value];
const kv = (value: string, key: string) => ['payload', value, 'key', key];

describe('encodeBatch', () => {
  it('sends value-only records as one argument each', () => {
    expect(encodeBatch([v('a'), v('b')])).toEqual(['v', 'a', 'b']);
  });

  it('sends value+key records as value, key pairs', () => {
    const key = Buffer.from([0xff, 0x00]);
    expect(encodeBatch([kv('a', 'k1'), kv('b', key as unknown as string)])).toEqual(['kv', 'a', 'k1', 'b', key]);
  });

  it('falls back to field counts when the shapes differ or headers travel', () => {
    expect(encodeBatch([v('a'), kv('b', 'k')])).toEqual(['f', 2, 'payload', 'a', 4, 'payload', 'b', 'key', 'k']);
    expect(encodeBatch([['payload', 'a', 'h:x', '1']])).toEqual(['f', 4, 'payload', 'a', 'h:x', '1']);
    // A replayed entry whose fields come in another order keeps that order.
    expect(encodeBatch([['key', 'k', 'payload', 'a']])).toEqual(['f', 4, 'key', 'k', 'payload', 'a']);
  });

  it("is lossless: decoding any layout gives back every record's fields", () => {
    const field = fc.string({ maxLength: 5 });
    const record = fc.oneof(
      field.map((a) => v(a)),
      fc.tuple(field, field).map(([a, k]) => kv(a, k)),
      fc.tuple(field, field, field).map(([a, h, x]) => ['payload', a, `h:${h}`, x]),
    );
    fc.assert(
      fc.property(fc.array(record, { minLength: 1, maxLength: 20 }), (records) => {
        expect(decodeArgs(encodeBatch(records), records.length)).toEqual(records);
      }),
    );
  });
});

/** What publish-batch.lua does with the arguments, in TypeScript: the entries it would write. */
function decodeArgs(args: (string | Buffer | number)[], n: number): (string | Buffer)[][] {
  const [layout, ...rest] = args;
  if (layout === 'v') return rest.map((value) => ['payload', value as string]);
  if (layout === 'kv') return Array.from({ length: n }, (_, i) => ['payload', rest[2 * i] as string, 'key', rest[2 * i + 1] as string]);
  const out: (string | Buffer)[][] = [];
  for (let i = 0; i < rest.length; ) {
    const f = rest[i] as number;
    out.push(rest.slice(i + 1, i + 1 + f) as string[]);
    i += f + 1;
  }
  return out;
}

describe('decodeReply', () => {
  it('expands a one-id reply into consecutive ids of the same millisecond', () => {
    const reply = decodeReply([1, '1712345678901-7'], 3);
    expect(reply).toMatchObject({ written: true, count: 3 });
    expect(reply.ids()).toEqual(['1712345678901-7', '1712345678901-8', '1712345678901-9']);
  });

  it('counts sequence numbers beyond 2^53 without losing digits', () => {
    expect(decodeReply([1, '5-18446744073709551613'], 3).ids()).toEqual(['5-18446744073709551613', '5-18446744073709551614', '5-18446744073709551615']);
  });

  it('takes listed ids as they are (older Redis, or a duplicate read back)', () => {
    expect(decodeReply([2, '1-0', '3-5'], 2).ids()).toEqual(['1-0', '3-5']);
    const duplicate = decodeReply([0, '1-0'], 2); // trimmed since: fewer ids than records
    expect(duplicate).toMatchObject({ written: false, count: 1 });
    expect(duplicate.idAt(0)).toBe('1-0');
  });

  it('refuses replies of another shape', () => {
    expect(() => decodeReply('OK', 1)).toThrow(/not an array/);
    expect(() => decodeReply([1, 'nodash'], 1)).toThrow(/not \{ 1, <first id> \}/);
    expect(() => decodeReply([2, '1-0'], 2)).toThrow(/1 ids for 2 records/);
    expect(() => decodeReply([7], 1)).toThrow(/unknown status 7/);
  });
});

describe('bufferedRecord', () => {
  it('keeps only value and key for the common shapes, the whole list otherwise', () => {
    expect(bufferedRecord(['payload', 'a'])).toEqual({ value: 'a', key: undefined, fields: undefined });
    expect(bufferedRecord(['payload', 'a', 'key', 'k'])).toEqual({ value: 'a', key: 'k', fields: undefined });
    const withHeader = ['payload', 'a', 'h:x', '1'];
    expect(bufferedRecord(withHeader)).toEqual({ value: undefined, key: undefined, fields: withHeader });
  });

  it("columns give back each record's fields, whatever the mix", () => {
    const records = [
      ['payload', 'a'],
      ['payload', 'b', 'key', 'k'],
      ['payload', 'c', 'h:x', '1'],
    ];
    const columns = toColumns(records);
    expect(columns.keyed).toBe(1);
    expect(records.map((_, i) => fieldsAt(columns, i))).toEqual(records);
  });
});
