/**
 * Compressed payloads end to end, on a standalone server and on a cluster: every codec through
 * send, produce, the compensation store, the journal and replay, read back with `readEntry` and
 * with nothing but `redis-cli` and Node's own zlib.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { codecAvailable, type Codec } from '../../src/compression.js';
import { readEntry } from '../../src/entry.js';
import { compensationKeys } from '../../src/keys.js';
import type { Producer, SendAck } from '../../src/index.js';
import { type AdminClient, connects, eventually, redisTarget, Resources, unreachableRedis } from '../support/helpers.js';
import { configError } from '../support/config-error.js';
import { CLI_BIN, freePort, startRedisServer } from '../support/redis-server.js';

const res = new Resources();
afterEach(() => res.closeAll());
const run = promisify(execFile);

const nsOf = (p: Producer) => (p as unknown as { config: { namespace: string } }).config.namespace;

/** A JSON document of about `bytes` bytes, different for each `seed`. */
function jsonValue(bytes: number, seed: number): string {
  const rows: string[] = [];
  for (let i = 0; rows.join(',').length < bytes; i++) rows.push(JSON.stringify({ id: seed * 1000 + i, name: `user-${seed}-${i}`, active: i % 3 === 0, tags: ['a', 'b'] }));
  return `[${rows.join(',')}]`;
}

/** Every entry of a stream as Buffers: compressed bodies are bytes, not text. */
async function rawEntries(admin: AdminClient, stream: string): Promise<Buffer[][]> {
  return ((await admin.xrangeBuffer(stream, '-', '+')) as [Buffer, Buffer[]][]).map(([, fields]) => fields);
}

const fieldOf = (fields: Buffer[], name: string): Buffer | undefined => {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i]!.toString() === name) return fields[i + 1];
  return undefined;
};

/** `redis-cli --no-raw` quotes a field C-style (`\xHH`, `\n`, `\"` …); this undoes it. */
function unquote(text: string): Buffer {
  const bytes: number[] = [];
  const escapes: Record<string, number> = { n: 10, r: 13, t: 9, a: 7, b: 8, '\\': 92, '"': 34 };
  const raw = Buffer.from(text, 'utf8');
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] !== 92) {
      bytes.push(raw[i]!);
      continue;
    }
    const next = String.fromCharCode(raw[++i]!);
    if (next === 'x') {
      bytes.push(Number.parseInt(raw.subarray(i + 1, i + 3).toString(), 16));
      i += 2;
    } else bytes.push(escapes[next]!);
  }
  return Buffer.from(bytes);
}

/** A stream's entries as `redis-cli XRANGE` prints them: each entry its id and field list. */
async function redisCliXrange(stream: string): Promise<Buffer[][]> {
  const target = redisTarget();
  const where = target.kind === 'standalone' ? ['-u', target.url] : ['-c', '-h', target.nodes[0]!.host, '-p', String(target.nodes[0]!.port)];
  const { stdout } = await run(CLI_BIN, [...where, '--no-raw', 'XRANGE', stream, '-', '+'], { maxBuffer: 64 << 20 });
  const entries: Buffer[][] = [];
  for (const line of stdout.split('\n')) {
    const m = /^(\d+\) )?\s*(\d+\) )+"(.*)"$/.exec(line.trimStart());
    if (m === null) continue;
    const value = unquote(m[3]!);
    // A line starting at column 0 with "N) 1) " opens a new entry: its id.
    if (/^\d+\) 1\) /.test(line)) entries.push([]);
    else entries.at(-1)!.push(value);
  }
  return entries;
}

/** Node's own zlib, as any consumer would use it. */
const stockDecode: Record<Exclude<Codec, 'zstd'>, (body: Buffer) => Buffer> = { gzip: gunzipSync, deflate: inflateSync, brotli: brotliDecompressSync };
const CODECS = ['gzip', 'deflate', 'brotli'] as const;

const delivered = (ack: SendAck) => {
  if (ack.status !== 'delivered') throw new Error(`expected delivered, got ${JSON.stringify(ack)}`);
  return ack;
};

describe('compressed payloads', () => {
  it('send and produce: every codec, each value read back by readEntry and by redis-cli XRANGE with Node zlib; small values and keys and headers as they are', async () => {
    const producer = res.producer({
      defaultShards: 2,
      compression: { codec: 'gzip', minBytes: 512 },
      topics: Object.fromEntries(CODECS.map((codec) => [codec, { shards: 1, compression: { codec, minBytes: 512 } }])),
    });
    const admin = res.admin();
    for (const codec of CODECS) {
      const big = jsonValue(10 * 1024, 1);
      const records = [
        { topic: codec, value: big, key: 'user-1', headers: { source: 'api', encoding: 'a header, not the codec' } },
        { topic: codec, value: 'tiny' },
        { topic: codec, value: Buffer.from(jsonValue(1024, 2)) },
      ];
      const [first] = await Promise.all(records.slice(0, 2).map((r) => producer.send(r)));
      producer.produce(records[2]!);
      await producer.flush();
      const stream = delivered(first!).stream;

      const raw = await rawEntries(admin, stream);
      expect(raw).toHaveLength(3);
      expect(raw.map((f) => fieldOf(f, 'encoding')?.toString())).toEqual([codec, undefined, codec]);
      expect(fieldOf(raw[0]!, 'payload')!.length).toBeLessThan(big.length / 3);
      expect(raw.map((f) => readEntry(f))).toEqual([
        { value: big, key: 'user-1', headers: { source: 'api', encoding: 'a header, not the codec' }, encoding: codec },
        { value: 'tiny', headers: {} },
        { value: jsonValue(1024, 2), headers: {}, encoding: codec },
      ]);

      // A stock reader: redis-cli's output and Node's zlib, nothing of this package.
      const cli = await redisCliXrange(stream);
      expect(cli.map((f) => fieldOf(f, 'payload'))).toEqual(raw.map((f) => fieldOf(f, 'payload')));
      expect(stockDecode[codec](fieldOf(cli[0]!, 'payload')!).toString()).toBe(big);
      expect(fieldOf(cli[0]!, 'h:source')!.toString()).toBe('api');
      expect(fieldOf(cli[1]!, 'payload')!.toString()).toBe('tiny');
    }
  });

  it('an entry whose compressed body was damaged in Redis reads back as an EntryReadError naming the field', async () => {
    const producer = res.producer({ topics: { d: { shards: 1, compression: { codec: 'gzip' } } } });
    const admin = res.admin();
    const ack = delivered(await producer.send({ topic: 'd', value: jsonValue(2048, 8), key: 'k' }));
    const [fields] = await rawEntries(admin, ack.stream);
    const body = Buffer.from(fieldOf(fields!, 'payload')!);
    body[body.length - 6]! ^= 0xff; // gzip's CRC-32 no longer matches
    await admin.xadd(ack.stream, '*', 'payload', body, 'encoding', 'gzip', 'key', 'k');
    const [, damaged] = await rawEntries(admin, ack.stream);
    expect(() => readEntry(damaged!)).toThrow(expect.objectContaining({ name: 'EntryReadError', code: 'ERR_ENTRY_CORRUPT', field: 'payload' }));
    // Read as text (a client's default), the body is damaged on the way: the message says so.
    const [asText] = (await admin.xrange(ack.stream, ack.id, ack.id)) as [string, string[]][];
    expect(() => readEntry(asText![1])).toThrow(/read entries as Buffers/);
  });

  it('zstd is written where Node has it, and refused before anything is written where it does not', async () => {
    if (codecAvailable('zstd')) {
      const producer = res.producer({ topics: { z: { shards: 1, compression: { codec: 'zstd' } } } });
      const value = jsonValue(4096, 3);
      const ack = delivered(await producer.send({ topic: 'z', value }));
      const [fields] = await rawEntries(res.admin(), ack.stream);
      expect(readEntry(fields!)).toMatchObject({ value, encoding: 'zstd' });
    } else {
      expect(configError({ compression: { codec: 'zstd' } }).issues.join()).toMatch(/`compression\.codec`: codec "zstd" needs/);
    }
  });

  it('parks compressed bytes of every codec as they are and replays them unchanged, through a producer since switched to another codec', async () => {
    // Each codec's topic; the second producer compresses each topic with the next codec.
    const topics = (shift: number) => Object.fromEntries(CODECS.map((codec, i) => [`p-${codec}`, { shards: 1, compression: { codec: CODECS[(i + shift) % CODECS.length]! } }]));
    const first = res.producer({ topics: topics(0), compensation: { replay: { enabled: false } } });
    const admin = res.admin();
    const namespace = nsOf(first);
    const values = [jsonValue(2048, 4), jsonValue(3000, 5), 'small'];
    const parked = new Map<Codec, (string | Buffer)[][]>();
    for (const codec of CODECS) {
      await admin.set(`{${namespace}:p-${codec}:0}`, 'not a stream'); // every XADD fails with WRONGTYPE: the batch is parked
      const acks = await Promise.all(values.map((value, i) => first.send({ topic: `p-${codec}`, value, key: `k${i}` })));
      expect(acks.map((a) => a.status === 'spilled' && a.parkedIn)).toEqual(['redis', 'redis', 'redis']);
      const entries = await first.compensation.list(`p-${codec}`);
      expect(entries.map((e) => [e.fields[2], e.fields[3]])).toEqual([
        ['encoding', codec],
        ['encoding', codec],
        ['key', 'k2'],
      ]);
      expect(stockDecode[codec](entries[0]!.fields[1] as Buffer).toString()).toBe(values[0]);
      parked.set(
        codec,
        entries.map((e) => e.fields),
      );
    }
    await first.close();

    const second = res.producer({ namespace, topics: topics(1), compensation: { replay: { enabled: false } } });
    for (const codec of CODECS) {
      await admin.del(`{${namespace}:p-${codec}:0}`);
      await admin.del(compensationKeys(namespace, `p-${codec}`).hold);
    }
    expect(await second.compensation.replayNow()).toMatchObject({ replayed: 9 });
    for (const codec of CODECS) {
      const raw = await rawEntries(admin, `{${namespace}:p-${codec}:0}`);
      // Byte for byte what was parked: not decompressed, not compressed again with the new codec.
      expect(raw.map((f) => fieldOf(f, 'payload'))).toEqual(parked.get(codec)!.map((fields) => Buffer.from(fields[1]!)));
      expect(raw.map((f) => readEntry(f))).toEqual([
        { value: values[0], key: 'k0', headers: {}, encoding: codec },
        { value: values[1], key: 'k1', headers: {}, encoding: codec },
        { value: 'small', key: 'k2', headers: {} },
      ]);
    }
  });

  it('journals compressed bytes of every codec while Redis is unreachable, and the drained records replay with them', async () => {
    const port = await freePort();
    const producer = res.producer({
      ...unreachableRedis(port),
      topics: Object.fromEntries(CODECS.map((codec) => [`j-${codec}`, { shards: 1, compression: { codec, minBytes: 100 } }])),
      compensation: { replay: { enabled: false, leaseMs: 5_000 } },
    });
    producer.on('error', () => {});
    const values = [jsonValue(1500, 6), jsonValue(900, 7)];
    for (const codec of CODECS) {
      producer.produce({ topic: `j-${codec}`, value: values[0]! });
      const ack = await producer.send({ topic: `j-${codec}`, value: values[1]!, headers: { h: 'x' } });
      expect(ack).toMatchObject({ status: 'spilled', parkedIn: 'journal' });
    }
    await producer.flush();

    const server = await startRedisServer([], port);
    try {
      await eventually(() => connects(producer), 'the producer reconnects');
      expect(await producer.compensation.replayNow()).toMatchObject({ drained: 6, replayed: 6 });
      const admin = res.admin(`redis://127.0.0.1:${port}`);
      for (const codec of CODECS) {
        const raw = await rawEntries(admin, `{${nsOf(producer)}:j-${codec}:0}`);
        expect(raw.map((f) => readEntry(f))).toEqual([
          { value: values[0], headers: {}, encoding: codec },
          { value: values[1], headers: { h: 'x' }, encoding: codec },
        ]);
        expect(stockDecode[codec](fieldOf(raw[0]!, 'payload')!).toString()).toBe(values[0]);
      }
      await producer.close();
    } finally {
      await server.stop();
    }
  });
});
