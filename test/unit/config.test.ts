import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config.js';
import { configError } from '../support/config-error.js';

describe('resolveConfig', () => {
  it('fills every default from the schema', () => {
    const c = resolveConfig({});
    expect(c).toMatchObject({
      redis: 'redis://127.0.0.1:6379',
      namespace: 'rsp',
      defaultShards: 16,
      lingerMs: 5,
      adaptiveLinger: true,
      batchMaxRecords: 500,
      batchMaxBytes: 1024 * 1024,
      maxInFlight: 8,
      bufferMaxBytes: 32 * 1024 * 1024,
      maxBlockMs: 60_000,
      partitioner: 'crc32',
      maxRecordBytes: 1024 * 1024,
    });
    expect(c.trim).toBeUndefined();
  });

  it('lists every problem at once, unknown options included, naming field and value', () => {
    const err = configError({ lingerMs: -1, namespace: 'a:b', maxInFlight: 1.5, lingerMS: 3, topics: { 'x y': {}, orders: { shards: 0 } } });
    expect(err.code).toBe('ERR_CONFIG');
    expect(err.retriable).toBe(false);
    const text = err.issues.join('\n');
    expect(err.issues.length).toBeGreaterThanOrEqual(5);
    expect(text).toMatch(/`lingerMs`.*>=0.*got -1 \(number\)/);
    expect(text).toMatch(/`namespace`.*got "a:b"/);
    expect(text).toMatch(/`maxInFlight`/);
    expect(text).toMatch(/unknown option: `lingerMS`/);
    expect(text).toMatch(/topics\.x y/);
    expect(text).toMatch(/topics\.orders\.shards/);
    expect(err.message).toContain('Invalid producer config');
  });

  it('refuses the reserved topic name and unknown per-topic options', () => {
    const text = configError({ topics: { compensation: {}, orders: { shard: 3 } } }).issues.join('\n');
    expect(text).toMatch(/"compensation" is reserved/);
    expect(text).toMatch(/unknown option in `topics.orders`: `shard`/);
  });

  it('checks options against each other', () => {
    const text = configError({ retryBackoffMs: 500, retryBackoffMaxMs: 100, requestTimeoutMs: 10_000, deliveryTimeoutMs: 5_000 }).issues.join('\n');
    expect(text).toMatch(/retryBackoffMaxMs/);
    expect(text).toMatch(/requestTimeoutMs/);
  });

  it('refuses, before anything is sent, settings a batch script could only fail on after writing', () => {
    expect(configError({ trim: { strategy: 'maxlen', threshold: '1712345678901-0' } }).issues.join()).toMatch(/`trim\.threshold`: expected an entry count/);
    expect(configError({ topics: { t: { trim: { strategy: 'maxlen', threshold: '5-1' } } } }).issues.join()).toMatch(/`topics\.t\.trim\.threshold`/);
    expect(configError({ maxHeaders: 4_000 }).issues.join()).toMatch(/`maxHeaders`/);
    expect(() => resolveConfig({ trim: { strategy: 'maxlen', threshold: '1000' } })).not.toThrow();
  });

  it('refuses a producerId the journal could not name a file after, and a state that expires before a retry', () => {
    expect(configError({ producerId: 'svc.1' }).issues.join()).toMatch(/`producerId`: expected 1 to 64 letters/);
    expect(configError({ idempotenceStateTtlMs: 60_000, deliveryTimeoutMs: 120_000 }).issues.join()).toMatch(/`idempotenceStateTtlMs` \(60000\) must be > `deliveryTimeoutMs`/);
  });

  it('accepts every form of `redis`', () => {
    expect(resolveConfig({ redis: 'rediss://user:pw@host:6380/2' }).redis).toBe('rediss://user:pw@host:6380/2');
    expect(resolveConfig({ redis: { host: 'h', port: 1 } }).redis).toEqual({ host: 'h', port: 1 });
    expect(resolveConfig({ redis: { cluster: [{ host: 'a', port: 1 }], options: {} } }).redis).toEqual({ cluster: [{ host: 'a', port: 1 }], options: {} });
    const client = new Redis({ lazyConnect: true });
    expect(resolveConfig({ redis: client }).redis).toBe(client);
    client.disconnect();
  });

  it('refuses a `redis` of the wrong shape with what is expected', () => {
    expect(configError({ redis: 'http://x' }).issues.join()).toMatch(/redis:\/\/ or rediss:\/\/ URL/);
    expect(configError({ redis: 42 }).issues.join()).toMatch(/`redis`: expected .* got 42/);
    expect(configError({ redis: { cluster: [] } }).issues.join()).toMatch(/redis\.cluster/);
  });

  it('refuses a URL that does not parse with a ConfigError naming `redis`, its password masked', () => {
    const err = configError({ redis: 'redis://u:secret@host:99999' });
    expect(err.issues.join()).toMatch(/`redis`: expected a URL such as redis:\/\/127\.0\.0\.1:6379/);
    expect(err.message).toContain('u:***@host:99999');
    expect(JSON.stringify(err) + err.message + err.issues.join()).not.toContain('secret');
  });

  it('defaults the user did not set follow the ones they did; only settings both given can conflict', () => {
    const small = resolveConfig({ bufferMaxBytes: 65_536 });
    expect([small.batchMaxBytes, small.maxRecordBytes]).toEqual([65_536, 65_536]);
    const quick = resolveConfig({ deliveryTimeoutMs: 3_000 });
    expect(quick.requestTimeoutMs).toBe(3_000);
    const long = resolveConfig({ deliveryTimeoutMs: 600_000 });
    expect(long.compensation.replay.leaseMs).toBeGreaterThan(600_000);
    expect(long.idempotenceStateTtlMs).toBeGreaterThan(600_000);
    expect(resolveConfig({ retryBackoffMs: 5_000 }).retryBackoffMaxMs).toBe(5_000);
    expect(resolveConfig({ compensation: { replay: { backoffMs: 120_000 } } }).compensation.replay.backoffMaxMs).toBe(120_000);
    // Both given: the user's own values conflict, and say so.
    expect(configError({ bufferMaxBytes: 65_536, batchMaxBytes: 131_072 }).issues.join()).toMatch(/`batchMaxBytes` \(131072\) must be ≤ `bufferMaxBytes` \(65536\)/);
  });

  it('validates trimming and the partitioner', () => {
    expect(resolveConfig({ trim: { strategy: 'maxlen', threshold: 100 } }).trim).toEqual({ strategy: 'maxlen', threshold: 100, exact: false });
    expect(resolveConfig({ trim: { strategy: 'minid', threshold: '1712345678901-0', exact: true } }).trim?.exact).toBe(true);
    expect(configError({ trim: { strategy: 'minid', threshold: 'yesterday' } }).issues.join()).toMatch(/stream id/);
    expect(configError({ partitioner: 'fnv' }).issues.join()).toMatch(/partitioner/);
    const fn = () => 0;
    expect(resolveConfig({ partitioner: fn }).partitioner).toBe(fn);
  });
});
