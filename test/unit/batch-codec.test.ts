import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bufferedRecord, decodeReply, encodeBatch, fieldsAt, toColumns } from '../../src/batch-codec.js';

const v = (value: string) => ['payload', value];
const kv = (value: string, key: string) => ['payload', value, 'key', key];

describe('encodeBatch', () => {
  it('sends a batch of value-only records as one run: the name once, then one argument per record', () => {
    expect(encodeBatch([v('a'), v('b')])).toEqual(['r', 2, 1, 'payload', 'a', 'b']);
  });

  it('sends value+key records as one run of value, key pairs', () => {
    const key = Buffer.from([0xff, 0x00]);
    expect(encodeBatch([kv('a', 'k1'), kv('b', key as unknown as string)])).toEqual(['r', 2, 2, 'payload', 'key', 'a', 'k1', 'b', key]);
  });

  it('records with headers of the same names share a run; a new shape starts a new run', () => {
    expect(encodeBatch([['payload', 'a', 'h:x', '1'], ['payload', 'b', 'h:x', '2'], v('c'), kv('d', 'k'), kv('e', 'k2')])).toEqual([
      'r',
      2,
      2,
      'payload',
      'h:x',
      'a',
      '1',
      'b',
      '2',
      1,
      1,
      'payload',
      'c',
      2,
      2,
      'payload',
      'key',
      'd',
      'k',
      'e',
      'k2',
    ]);
    // A replayed entry whose fields come in another order keeps that order.
    expect(encodeBatch([['key', 'k', 'payload', 'a']])).toEqual(['r', 1, 2, 'key', 'payload', 'k', 'a']);
    // The same names in another order are another shape.
    expect(
      encodeBatch([
        ['payload', 'a', 'h:x', '1', 'h:y', '2'],
        ['payload', 'b', 'h:y', '2', 'h:x', '1'],
      ]),
    ).toEqual(['r', 1, 3, 'payload', 'h:x', 'h:y', 'a', '1', '2', 1, 3, 'payload', 'h:y', 'h:x', 'b', '2', '1']);
  });

  it("is lossless: decoding the runs gives back every record's fields", () => {
    const field = fc.string({ maxLength: 5 });
    const name = fc.constantFrom('h:x', 'h:y', 'h:z');
    const record = fc.oneof(
      field.map((a) => v(a)),
      fc.tuple(field, field).map(([a, k]) => kv(a, k)),
      fc.tuple(field, name, field).map(([a, h, x]) => ['payload', a, h, x]),
      fc.tuple(field, field, name, field).map(([a, k, h, x]) => ['payload', a, 'key', k, h, x]),
      fc.array(fc.tuple(fc.string({ maxLength: 3 }), field), { minLength: 1, maxLength: 8 }).map((pairs) => pairs.flat()),
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
  expect(layout).toBe('r');
  const out: (string | Buffer)[][] = [];
  for (let i = 0; i < rest.length; ) {
    const m = rest[i] as number;
    const f = rest[i + 1] as number;
    const names = rest.slice(i + 2, i + 2 + f) as string[];
    for (let r = 0; r < m; r++) {
      const values = rest.slice(i + 2 + f + r * f, i + 2 + f + (r + 1) * f) as string[];
      out.push(names.flatMap((nm, k) => [nm, values[k]!]));
    }
    i += 2 + f + m * f;
  }
  expect(out).toHaveLength(n);
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
