import { describe, expect, it } from 'vitest';
import { compensationKeys, extractShardId, hashTag, heldKey, streamKey, topicMetaKey } from '../../src/keys.js';
import { MAX_NAME_LENGTH, nameProblem } from '../../src/names.js';

describe('key names', () => {
  it('builds the stream key with the whole key as hash tag', () => {
    expect(streamKey('app', 'orders', 3)).toBe('{app:orders:3}');
    expect(hashTag(streamKey('app', 'orders', 3))).toBe('app:orders:3');
  });

  it('builds the topic metadata and compensation keys', () => {
    expect(topicMetaKey('app', 'orders')).toBe('{app:orders}:meta');
    const { zset, data } = compensationKeys('app', 'orders');
    expect(zset).toBe('{app:compensation:orders}:zset');
    expect(data).toBe('{app:compensation:orders}:data');
    expect(hashTag(zset)).toBe(hashTag(data));
  });

  it('extracts the shard id from a braced key', () => {
    expect(extractShardId('{app:orders:3}')).toBe(3);
    expect(extractShardId('{app:orders:15}:state')).toBe(15);
    expect(extractShardId('prefix{app:orders:0}')).toBe(0);
    expect(extractShardId('{app:orders}:meta')).toBeUndefined();
    expect(extractShardId('app:orders:3')).toBeUndefined();
    expect(extractShardId('{app:orders:-1}')).toBeUndefined();
    expect(extractShardId('{app:orders:3')).toBeUndefined();
  });

  it('hashTag follows the Redis Cluster rule', () => {
    expect(hashTag('plain')).toBe('plain');
    expect(hashTag('{}x')).toBe('{}x'); // empty tag: whole key
    expect(hashTag('a{b}c{d}')).toBe('b');
  });
});

describe('namespace and topic names', () => {
  it('accepts ordinary names', () => {
    for (const name of ['app', 'orders', 'orders.v2', 'user_events-1', '订单']) expect(nameProblem(name)).toBeUndefined();
  });

  it('refuses anything that could move a key to another slot or namespace', () => {
    for (const name of ['', 'a:b', 'a{b', 'a}b', 'a b', 'a\tb', 'a\nb', 'x'.repeat(MAX_NAME_LENGTH + 1), 'a\uD800', 'a\uDC00b']) {
      expect(nameProblem(name), JSON.stringify(name)).toBeDefined();
    }
  });
});

describe('heldKey', () => {
  it('is the same key, whatever characters a valid name has', () => {
    for (const key of [streamKey('app', 'orders', 3), streamKey('ns', 'tópico-订单-😀', 15), topicMetaKey('a', 'b')]) expect(heldKey(key)).toBe(key);
  });
});
