import zlib, { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { EntryReadError, readEntry } from '../../src/entry.js';
import { ProducerError } from '../../src/errors.js';
import { codecAvailable } from '../../src/compression.js';

const value = JSON.stringify({ items: Array.from({ length: 50 }, (_, i) => ({ i, name: `item ${i}` })) });

function readError(fields: (string | Buffer)[]): EntryReadError {
  try {
    readEntry(fields);
  } catch (err) {
    expect(err).toBeInstanceOf(EntryReadError);
    expect(err).toBeInstanceOf(ProducerError);
    return err as EntryReadError;
  }
  throw new Error('expected an EntryReadError');
}

describe('readEntry', () => {
  it('reads a plain entry: value, key and headers, as strings or as Buffers', () => {
    const fields = ['payload', 'v', 'key', 'k', 'h:source', 'api', 'other', 'x'];
    expect(readEntry(fields)).toEqual({ value: 'v', key: 'k', headers: { source: 'api' } });
    const bytes = readEntry(
      fields.map((f) => Buffer.from(f)),
      { as: 'buffer' },
    );
    expect(bytes).toEqual({ value: Buffer.from('v'), key: Buffer.from('k'), headers: { source: Buffer.from('api') } });
    expect(readEntry([Buffer.from('payload'), Buffer.from('é')])).toEqual({ value: 'é', headers: {} });
  });

  it('decompresses the value its encoding field names; key and headers were never compressed', () => {
    for (const [encoding, body] of [
      ['gzip', gzipSync(value)],
      ['deflate', deflateSync(value)],
      ['brotli', brotliCompressSync(value)],
    ] as const) {
      const fields = [Buffer.from('payload'), body, Buffer.from('encoding'), Buffer.from(encoding), Buffer.from('key'), Buffer.from('k'), Buffer.from('h:encoding'), Buffer.from('a header')];
      expect(readEntry(fields)).toEqual({ value, key: 'k', headers: { encoding: 'a header' }, encoding });
      expect(readEntry(fields, { as: 'buffer' }).value).toEqual(Buffer.from(value));
    }
  });

  it('keeps binary values intact with as: buffer', () => {
    const binary = Buffer.from([0, 255, 128, 10]);
    expect(readEntry(['payload', gzipSync(binary), 'encoding', 'gzip'], { as: 'buffer' }).value).toEqual(binary);
  });

  it('refuses an entry without a payload', () => {
    const err = readError(['key', 'k']);
    expect(err).toMatchObject({ code: 'ERR_ENTRY_NO_PAYLOAD', field: 'payload', retriable: false });
  });

  it('refuses an encoding it does not know, naming it', () => {
    const err = readError(['payload', 'x', 'encoding', 'lz4']);
    expect(err).toMatchObject({ code: 'ERR_ENTRY_UNKNOWN_ENCODING', field: 'encoding' });
    expect(err.message).toBe('Unreadable entry: expected `encoding` to be one of gzip, deflate, brotli, zstd, got "lz4"');
  });

  it('reads zstd where Node has it, and says this Node cannot where it does not', () => {
    if (codecAvailable('zstd')) {
      const z = zlib as unknown as { zstdCompressSync(b: Buffer): Buffer };
      expect(readEntry(['payload', z.zstdCompressSync(Buffer.from(value)), 'encoding', 'zstd'])).toMatchObject({ value, encoding: 'zstd' });
    } else {
      const err = readError(['payload', Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), 'encoding', 'zstd']);
      expect(err).toMatchObject({ code: 'ERR_ENTRY_UNKNOWN_ENCODING', field: 'encoding' });
      expect(err.message).toMatch(/^Unreadable entry here: its `encoding` is "zstd", and codec "zstd" needs a Node\.js whose zlib has zstdCompress/);
    }
  });

  it('refuses a corrupt body with the zlib error as its cause', () => {
    const body = gzipSync(value);
    body[body.length - 6]! ^= 0xff; // the CRC-32 in gzip's trailer no longer matches
    const err = readError(['payload', body, 'encoding', 'gzip']);
    expect(err).toMatchObject({ code: 'ERR_ENTRY_CORRUPT', field: 'payload' });
    expect(err.message).toMatch(/^Unreadable entry: expected `payload` to be a gzip body, got bytes that do not decompress: /);
    expect(err.cause).toBeInstanceOf(Error);
    expect(readError(['payload', Buffer.from('not gzip'), 'encoding', 'gzip']).code).toBe('ERR_ENTRY_CORRUPT');
  });

  it('says how to read a compressed entry that a client decoded as text', () => {
    const err = readError(['payload', gzipSync(value).toString(), 'encoding', 'gzip']);
    expect(err.code).toBe('ERR_ENTRY_CORRUPT');
    expect(err.message).toContain('read entries as Buffers');
  });

  it('refuses a body that inflates beyond maxValueBytes', () => {
    const fields = ['payload', gzipSync(Buffer.alloc(1 << 20)), 'encoding', 'gzip'];
    expect(() => readEntry(fields, { maxValueBytes: 1000 })).toThrow(EntryReadError);
    expect(readEntry(fields, { as: 'buffer' }).value.length).toBe(1 << 20);
  });
});
