import { describe, expect, it } from 'vitest';
import { InvalidRecordError } from '../../src/errors.js';
import { readEntry } from '../../src/entry.js';
import { encodeRecord } from '../../src/record.js';
import { entryFields } from '../../src/batch-codec.js';

const limits = { maxRecordBytes: 1000, maxHeaders: 4 };

function invalid(record: unknown, lim = limits): InvalidRecordError {
  try {
    encodeRecord(record, lim);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidRecordError);
    return err as InvalidRecordError;
  }
  throw new Error('expected an InvalidRecordError');
}

describe('encodeRecord', () => {
  it('encodes the documented entry layout: payload, key, h:<name>', () => {
    const r = encodeRecord({ topic: 'orders', value: '{"total":12}', key: 'user-42', headers: { source: 'api', trace: Buffer.from('ab') } }, limits);
    expect(entryFields(r)).toEqual(['payload', '{"total":12}', 'key', 'user-42', 'h:source', 'api', 'h:trace', Buffer.from('ab')]);
    expect(r.key).toBe('user-42');
    expect(r.size).toBe(12 + 7 + 'source'.length + 3 + 'trace'.length + 2);
    expect(readEntry(['payload', 'v', 'key', 'k', 'h:a', 'b'])).toEqual({ value: 'v', key: 'k', headers: { a: 'b' } });
  });

  it('counts bytes, not characters', () => {
    expect(encodeRecord({ topic: 't', value: 'é€' }, limits).size).toBe(5);
  });

  it('keeps an explicit shard and a keyless record has no key', () => {
    const r = encodeRecord({ topic: 't', value: Buffer.alloc(3), shard: 2 }, limits);
    expect(r).toMatchObject({ shard: 2, key: undefined });
    expect(entryFields(r)).toEqual(['payload', Buffer.alloc(3)]);
  });

  it.each([
    [{ topic: 't' }, 'value'],
    [{ topic: 't', value: 12 }, 'value'],
    [{ topic: 't', value: 'v', key: {} }, 'key'],
    [{ value: 'v' }, 'topic'],
    [{ topic: 'a:b', value: 'v' }, 'topic'],
    [{ topic: '{x}', value: 'v' }, 'topic'],
    [{ topic: 'compensation', value: 'v' }, 'topic'],
    [{ topic: 't', value: 'v', headers: { 'a b': 'x' } }, 'headers.a b'],
    [{ topic: 't', value: 'v', headers: { '{x}': 'x' } }, 'headers.{x}'],
    [{ topic: 't', value: 'v', headers: { a: 1 } }, 'headers.a'],
    [{ topic: 't', value: 'v', headers: JSON.parse('{"__proto__":"x"}') as Record<string, string> }, 'headers.__proto__'],
    [{ topic: 't', value: 'v', headers: { 'h\uD800': 'x' } }, 'headers.h\uD800'],
    [{ topic: 'a\uD800', value: 'v' }, 'topic'],
    [{ topic: 't', value: 'v', shard: -1 }, 'shard'],
    [{ topic: 't', value: 'v', shard: 1.5 }, 'shard'],
    [{ topic: 't', value: 'v', partition: 1 }, '(record)'],
    [null, '(record)'],
  ])('refuses %j naming `%s`', (record, field) => {
    const err = invalid(record);
    expect(err.field).toBe(field);
    expect(err.code).toBe('ERR_INVALID_RECORD');
    expect(err.message).toContain(field === '(record)' ? 'Invalid record' : `\`${field}\``);
  });

  it('bounds record size and header count', () => {
    expect(invalid({ topic: 't', value: 'x'.repeat(1001) }).message).toMatch(/1001 bytes.*maxRecordBytes \(1000\)/);
    expect(invalid({ topic: 't', value: 'x'.repeat(990), key: 'k'.repeat(20) }).field).toBe('value');
    const headers = Object.fromEntries(['a', 'b', 'c', 'd', 'e'].map((h) => [h, 'v']));
    expect(invalid({ topic: 't', value: 'v', headers }).message).toMatch(/5 entries, more than maxHeaders \(4\)/);
  });
});
