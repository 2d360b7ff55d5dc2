import { describe, expect, it } from 'vitest';
import { crc32Partitioner, keyPartitioner, murmur2, murmur2Partitioner, StickyShardChooser } from '../../src/partitioner.js';

describe('crc32 partitioner (the default)', () => {
  // Golden values from Python's zlib.crc32, the same IEEE CRC-32 as Rust's crc32fast.
  const golden: [string, number][] = [
    ['', 0],
    ['a', 3904355907],
    ['123456789', 3421780262], // the CRC-32 check value 0xCBF43926
    ['hello', 907060870],
    ['user-42', 2097592435],
    ['order-1001', 230890041],
    ['订单-7', 3927923417], // UTF-8 bytes
  ];

  it.each(golden)('crc32(%j) %% shards matches zlib', (key, crc) => {
    for (const shards of [1, 2, 7, 16, 1000]) {
      expect(crc32Partitioner(Buffer.from(key, 'utf8'), shards)).toBe(crc % shards);
    }
  });
});

describe('murmur2 (Kafka Java client)', () => {
  // Kafka's UtilsTest.testMurmur2 vectors, plus librdkafka's "kafka".
  const vectors: [string, number][] = [
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ['abc', 479470107],
    ['', 275646681],
    ['kafka', -798503068],
  ];

  it.each(vectors)('murmur2(%j) = %d', (key, expected) => {
    expect(murmur2(Buffer.from(key))).toBe(expected);
  });

  it('maps keys like the Java client: toPositive(murmur2) % shards', () => {
    expect(murmur2Partitioner(Buffer.from('foobar'), 50)).toBe(16);
    expect(murmur2Partitioner(Buffer.from('21'), 12)).toBe((-973932308 & 0x7fffffff) % 12);
  });
});

describe('partitioners stay in range', () => {
  it.each([
    ['crc32', crc32Partitioner],
    ['murmur2', murmur2Partitioner],
  ] as const)('%s', (_, partition) => {
    for (let i = 0; i < 2000; i++) {
      const key = Buffer.from(`key-${i}-${'x'.repeat(i % 9)}`);
      const shards = 1 + (i % 37);
      const shard = partition(key, shards);
      expect(Number.isInteger(shard) && shard >= 0 && shard < shards).toBe(true);
    }
  });
});

describe('StickyShardChooser', () => {
  it('keeps a topic on one shard until that shard closes a batch, then moves to another', () => {
    const randoms = [0.5, 0.0, 0.99];
    const sticky = new StickyShardChooser(() => randoms.shift() ?? 0);
    const first = sticky.shardFor('t', 8);
    expect(first).toBe(4);
    expect(sticky.shardFor('t', 8)).toBe(4);
    sticky.batchClosed('t', 2, 8); // another shard closing changes nothing
    expect(sticky.shardFor('t', 8)).toBe(4);
    sticky.batchClosed('t', 4, 8);
    expect(sticky.shardFor('t', 8)).toBe(0);
    sticky.batchClosed('t', 0, 8);
    expect(sticky.shardFor('t', 8)).toBe(7); // never the shard it leaves
  });

  it('tracks topics separately and handles a single shard', () => {
    const sticky = new StickyShardChooser(() => 0.7);
    expect(sticky.shardFor('one', 1)).toBe(0);
    sticky.batchClosed('one', 0, 1);
    expect(sticky.shardFor('one', 1)).toBe(0);
    expect(sticky.shardFor('other', 10)).toBe(7);
  });
});

describe('keyPartitioner', () => {
  it('hashes a string key as its UTF-8 bytes, for every partitioner', () => {
    const custom = (key: Buffer, shards: number) => key.length % shards;
    for (const p of ['crc32', 'murmur2', custom] as const) {
      const partition = keyPartitioner(p);
      for (const key of ['user-42', '订单-7', '', 'a-little-bit-long-string']) {
        expect(partition(key, 13)).toBe(partition(Buffer.from(key, 'utf8'), 13));
      }
    }
    expect(keyPartitioner('murmur2')('foobar', 50)).toBe(16);
    expect(keyPartitioner('crc32')('123456789', 1000)).toBe(3421780262 % 1000);
  });
});
