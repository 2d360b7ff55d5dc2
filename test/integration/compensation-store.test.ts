import type { Command } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import type { CompensationEntry } from '../../src/compensation/entry.js';
import { CompensationStore, compensationStoreKeys } from '../../src/compensation/store.js';
import { hashTag } from '../../src/keys.js';
import { scriptCommand } from '../../src/scripts.js';
import { Resources, uniqueNamespace, type AdminClient } from '../support/helpers.js';

const res = new Resources();
afterEach(() => res.closeAll());

const topic = 'orders';
const T0 = 1_700_000_000_000;

/** A store on a fresh namespace with a clock the test moves by hand. */
function setup(client: AdminClient = res.admin()) {
  const namespace = uniqueNamespace();
  const clock = { now: T0 };
  const store = new CompensationStore({ client, namespace, requestTimeoutMs: 5000, now: () => clock.now });
  return { client, namespace, clock, store, keys: compensationStoreKeys(namespace, topic) };
}

function entry(id: string, over: Partial<CompensationEntry> = {}): CompensationEntry {
  return {
    id,
    topic,
    shard: 0,
    fields: ['payload', `value-${id}`],
    producerId: 'p1',
    seq: 7,
    persisted: 'not',
    attempts: 1,
    lastError: 'ERR_REQUEST_TIMEOUT: no answer',
    parkedAt: T0,
    ...over,
  };
}

const ids = (entries: CompensationEntry[]) => entries.map((e) => e.id);

describe('compensation store', () => {
  it('round-trips parked entries through stats and list, Buffers and persisted status included', async () => {
    const { store } = setup();
    const binary = entry('p1:0:7:0', { fields: ['payload', Buffer.from([0, 255, 1, 254]), 'h:trace', 'abc'], persisted: 'possibly' });
    const plain = entry('p1:0:7:1');
    const later = entry('p1:1:3:0', { shard: 1, seq: 3 });
    await store.park(topic, [binary, plain], T0 - 500);
    await store.park(topic, [later], T0 + 1000);

    expect(await store.stats(topic)).toEqual({ pending: 3, due: 2, dead: 0, oldestDueAt: T0 - 500 });
    const listed = await store.list(topic);
    expect(listed).toEqual([binary, plain, later]);
    expect(Buffer.isBuffer(listed[0]?.fields[1])).toBe(true);
    expect(await store.list(topic, { offset: 1, count: 1 })).toEqual([plain]);
    expect(await store.list(topic, { dead: true })).toEqual([]);
    expect(await store.stats('other')).toEqual({ pending: 0, due: 0, dead: 0, oldestDueAt: undefined });
  });

  it('parking the same id twice keeps the first copy and its schedule', async () => {
    const { store, client, keys } = setup();
    await store.park(topic, [entry('a', { lastError: 'first' })], T0);
    await store.park(topic, [entry('a', { lastError: 'second' }), entry('b')], T0 + 99);
    expect(await store.list(topic)).toMatchObject([{ id: 'a', lastError: 'first' }, { id: 'b' }]);
    expect(await client.zscore(keys.zset, 'a')).toBe(String(T0));
    expect(await client.hlen(keys.data)).toBe(2);
  });

  it('claims only due entries, leases them, and hands them out again after the lease expires', async () => {
    const { store, client, clock, keys } = setup();
    await store.park(topic, [entry('a'), entry('b')], T0);
    await store.park(topic, [entry('c')], T0 + 1_000_000);

    expect(ids(await store.claim(topic, { limit: 1, leaseMs: 10_000, owner: 'A' }))).toEqual(['a']);
    expect(ids(await store.claim(topic, { limit: 10, leaseMs: 10_000, owner: 'A' }))).toEqual(['b']);
    expect(await store.claim(topic, { limit: 10, leaseMs: 10_000, owner: 'B' })).toEqual([]);
    expect(await client.hgetall(keys.lease)).toEqual({ a: 'A', b: 'A' });
    expect(await store.stats(topic)).toEqual({ pending: 3, due: 0, dead: 0, oldestDueAt: undefined });

    clock.now += 9_999;
    expect(await store.claim(topic, { limit: 10, leaseMs: 10_000, owner: 'B' })).toEqual([]);
    clock.now += 1;
    const again = await store.claim(topic, { limit: 10, leaseMs: 10_000, owner: 'B' });
    expect(again).toEqual([entry('a'), entry('b')]);
    expect(await client.hgetall(keys.lease)).toEqual({ a: 'B', b: 'B' });
  });

  it('skips and unschedules claimed ids whose data is gone', async () => {
    const { store, client, keys } = setup();
    await store.park(topic, [entry('a'), entry('b')], T0);
    await client.hdel(keys.data, 'a');
    expect(ids(await store.claim(topic, { limit: 10, leaseMs: 1000, owner: 'A' }))).toEqual(['b']);
    expect(await client.zrange(keys.zset, 0, '-1')).toEqual(['b']);
  });

  it('completes only entries still leased by the caller', async () => {
    const { store, client, clock, keys } = setup();
    await store.park(topic, [entry('a'), entry('b')], T0);
    await store.claim(topic, { limit: 10, leaseMs: 1000, owner: 'A' });
    clock.now += 1000;
    await store.claim(topic, { limit: 10, leaseMs: 1000, owner: 'B' });

    expect(await store.complete(topic, ['a', 'b'], 'A')).toBe(0);
    expect((await store.stats(topic)).pending).toBe(2);
    expect(await store.complete(topic, ['a', 'b', 'never-parked'], 'B')).toBe(2);
    expect(await client.exists(keys.zset, keys.data, keys.lease, keys.dead)).toBe(0);
  });

  it('retryLater rewrites the entry and reschedules it, for the lease holder only', async () => {
    const { store, client, clock, keys } = setup();
    await store.park(topic, [entry('a')], T0);
    const [claimed] = await store.claim(topic, { limit: 1, leaseMs: 1000, owner: 'A' });
    if (claimed === undefined) throw new Error('nothing claimed');
    const updated = { ...claimed, attempts: claimed.attempts + 1, lastError: 'ERR_REDIS_OOM: full', persisted: 'possibly' as const };

    expect(await store.retryLater(topic, updated, T0 + 5000, 'B')).toBe(false);
    expect(await store.list(topic)).toEqual([claimed]);
    expect(await store.retryLater(topic, updated, T0 + 5000, 'A')).toBe(true);
    expect(await store.list(topic)).toEqual([updated]);
    expect(await client.zscore(keys.zset, 'a')).toBe(String(T0 + 5000));
    expect(await client.hlen(keys.lease)).toBe(0);

    clock.now = T0 + 4999;
    expect(await store.claim(topic, { limit: 1, leaseMs: 1000, owner: 'A' })).toEqual([]);
    clock.now = T0 + 5000;
    expect(await store.claim(topic, { limit: 1, leaseMs: 1000, owner: 'A' })).toEqual([updated]);
  });

  it('dead-letters, requeues and purges', async () => {
    const { store, client, clock, keys } = setup();
    await store.park(topic, [entry('a'), entry('b'), entry('c')], T0);
    const claimed = await store.claim(topic, { limit: 3, leaseMs: 1000, owner: 'A' });
    const [a, b] = claimed.map((e) => ({ ...e, attempts: 5, lastError: 'ERR_REDIS_WRONGTYPE: gave up' }));
    if (a === undefined || b === undefined) throw new Error('nothing claimed');

    expect(await store.deadLetter(topic, a, 'B')).toBe(false);
    clock.now = T0 + 10;
    expect(await store.deadLetter(topic, a, 'A')).toBe(true);
    clock.now = T0 + 20;
    expect(await store.deadLetter(topic, b, 'A')).toBe(true);
    expect(await store.stats(topic)).toMatchObject({ pending: 1, dead: 2 });
    expect(await store.list(topic, { dead: true })).toEqual([a, b]);
    expect(await client.zscore(keys.dead, 'a')).toBe(String(T0 + 10));
    expect(await client.hkeys(keys.lease)).toEqual(['c']);
    // Parking a dead-lettered record again leaves it dead, with its data.
    await store.park(topic, [entry('a')], T0);
    expect(await store.stats(topic)).toMatchObject({ pending: 1, dead: 2 });
    expect(await store.list(topic, { dead: true })).toEqual([a, b]);

    clock.now = T0 + 100;
    expect(await store.requeueDead(topic, ['a', 'not-dead', 'c'])).toBe(1);
    expect(await store.list(topic, { dead: true })).toEqual([b]);
    expect(await client.zscore(keys.zset, 'a')).toBe(String(T0 + 100));
    expect(ids(await store.claim(topic, { limit: 10, leaseMs: 1000, owner: 'B' }))).toEqual(['a']);
    expect((await store.list(topic)).find((e) => e.id === 'a')).toEqual({ ...a, attempts: 0 });

    expect(await store.requeueDead(topic)).toBe(1);
    expect(await store.stats(topic)).toMatchObject({ pending: 3, dead: 0 });
    const [bAgain] = await store.claim(topic, { limit: 10, leaseMs: 1000, owner: 'C' });
    expect(bAgain).toEqual({ ...b, attempts: 0 });
    if (bAgain === undefined) throw new Error('nothing claimed');
    expect(await store.deadLetter(topic, bAgain, 'C')).toBe(true);

    expect(await store.purge(topic, { dead: true })).toBe(1);
    expect(await store.stats(topic)).toMatchObject({ pending: 2, dead: 0 });
    expect(await store.purge(topic)).toBe(2);
    expect(await client.exists(keys.zset, keys.data, keys.lease, keys.dead)).toBe(0);

    await store.park(topic, [entry('x'), entry('y')], T0);
    expect(await store.purge(topic, { ids: ['x', 'zz'] })).toBe(1);
    expect(ids(await store.list(topic))).toEqual(['y']);
  });

  it('purges and requeues sets larger than one script page', async () => {
    const { store } = setup();
    const many = Array.from({ length: 1200 }, (_, i) => entry(`e${String(i).padStart(4, '0')}`));
    await store.park(topic, many, T0);
    const claimed = await store.claim(topic, { limit: 2000, leaseMs: 1000, owner: 'A' });
    expect(claimed).toHaveLength(1200);
    for (const e of claimed.slice(0, 700)) await store.deadLetter(topic, e, 'A');
    expect(await store.requeueDead(topic)).toBe(700);
    expect(await store.stats(topic)).toMatchObject({ pending: 1200, dead: 0 });
    expect(await store.purge(topic)).toBe(1200);
    expect(await store.stats(topic)).toEqual({ pending: 0, due: 0, dead: 0, oldestDueAt: undefined });
  });

  it('remove deletes entries whoever holds them, pending or dead', async () => {
    const { store, client, keys } = setup();
    await store.park(topic, [entry('a'), entry('b'), entry('c')], T0);
    const [, b] = await store.claim(topic, { limit: 2, leaseMs: 1000, owner: 'A' });
    if (b === undefined) throw new Error('nothing claimed');
    await store.deadLetter(topic, b, 'A');

    expect(await store.remove(topic, ['a', 'b', 'missing'])).toBe(2);
    expect(await store.complete(topic, ['a'], 'A')).toBe(0);
    expect(ids(await store.list(topic))).toEqual(['c']);
    expect(await store.stats(topic)).toMatchObject({ pending: 1, dead: 0 });
    expect(await client.hkeys(keys.data)).toEqual(['c']);
    expect(await client.hlen(keys.lease)).toBe(0);
  });

  it('every command of every method touches only keys of the topic hash tag', async () => {
    const client = res.admin();
    const seen: { name: string; keys: string[] }[] = [];
    const target = client as unknown as { sendCommand: (command: Command, ...rest: unknown[]) => unknown };
    const send = target.sendCommand.bind(client);
    target.sendCommand = (command: Command, ...rest: unknown[]) => {
      seen.push({ name: command.name, keys: command.getKeys().map(String) });
      return send(command, ...rest);
    };
    const { store, namespace } = setup(client);

    await store.park(topic, [entry('a'), entry('b'), entry('c')], T0);
    const [a, b] = await store.claim(topic, { limit: 3, leaseMs: 1000, owner: 'A' });
    if (a === undefined || b === undefined) throw new Error('nothing claimed');
    await store.retryLater(topic, a, T0, 'A');
    await store.deadLetter(topic, b, 'A');
    await store.complete(topic, ['c'], 'A');
    await store.stats(topic);
    await store.list(topic);
    await store.list(topic, { dead: true });
    await store.requeueDead(topic);
    await store.remove(topic, ['a']);
    await store.purge(topic, { dead: true });
    await store.purge(topic);

    const scripts = seen.filter((c) => c.name === 'evalsha' || c.name === 'eval');
    // park, claim, settle ×3, requeue, delete ×3
    expect(scripts.length).toBeGreaterThanOrEqual(9);
    for (const script of scripts) expect(script.keys.length).toBeGreaterThanOrEqual(3);
    const withKeys = seen.filter((c) => c.keys.length > 0);
    expect(withKeys.length).toBeGreaterThan(scripts.length);
    const tags = new Set(withKeys.flatMap((c) => c.keys.map(hashTag)));
    expect([...tags]).toEqual([`${namespace}:compensation:${topic}`]);
    for (const key of Object.values(compensationStoreKeys(namespace, topic))) {
      expect(hashTag(key)).toBe(`${namespace}:compensation:${topic}`);
    }
  });

  it('a malformed script call is refused with ERR_RSP_ARGS and writes nothing', async () => {
    const { client, keys } = setup();
    type Call = (...args: (string | number)[]) => Promise<unknown>;
    const command = (name: string) => ((client as unknown as Record<string, Call>)[name] as Call).bind(client);
    const park = command(scriptCommand('compensation-park'));
    const claim = command(scriptCommand('compensation-claim'));
    const settle = command(scriptCommand('compensation-settle'));
    const requeue = command(scriptCommand('compensation-requeue'));
    const del = command(scriptCommand('compensation-delete'));
    const json = JSON.stringify({ v: 1, id: 'a' });
    const calls: [string, () => Promise<unknown>][] = [
      ['park: time not a number', () => park(keys.zset, keys.data, keys.dead, 'soon', 'a', json)],
      ['park: odd pairs', () => park(keys.zset, keys.data, keys.dead, T0, 'a', json, 'b')],
      ['park: empty JSON after a good pair', () => park(keys.zset, keys.data, keys.dead, T0, 'a', json, 'b', '')],
      ['park: no entries', () => park(keys.zset, keys.data, keys.dead, T0)],
      ['claim: zero limit', () => claim(keys.zset, keys.data, keys.lease, T0, 0, 1000, 'A')],
      ['claim: no owner', () => claim(keys.zset, keys.data, keys.lease, T0, 1, 1000, '')],
      ['claim: fractional lease', () => claim(keys.zset, keys.data, keys.lease, T0, 1, 0.5, 'A')],
      ['settle: unknown action', () => settle(keys.zset, keys.data, keys.lease, keys.dead, 'drop', 'A', '', 'a')],
      ['settle: retry without time', () => settle(keys.zset, keys.data, keys.lease, keys.dead, 'retry', 'A', '', 'a', json)],
      ['settle: dead with odd pairs', () => settle(keys.zset, keys.data, keys.lease, keys.dead, 'dead', 'A', T0, 'a', json, 'b')],
      ['requeue: odd pairs', () => requeue(keys.zset, keys.data, keys.dead, T0, 'a')],
      ['delete: unknown mode', () => del(keys.zset, keys.data, keys.lease, keys.dead, 'all')],
      ['delete: no limit', () => del(keys.zset, keys.data, keys.lease, keys.dead, 'pending')],
      ['delete: no ids', () => del(keys.zset, keys.data, keys.lease, keys.dead, 'ids')],
    ];
    for (const [what, call] of calls) {
      await expect(call(), what).rejects.toThrow(/^ERR_RSP_ARGS /);
    }
    expect(await client.exists(keys.zset, keys.data, keys.lease, keys.dead)).toBe(0);
  });

  it('refuses arguments that could move keys or break the contract before calling Redis', async () => {
    const { store } = setup();
    await expect(store.park('a}b', [entry('a')], T0)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    await expect(store.park(topic, [entry('a', { topic: 'other' })], T0)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    await expect(store.park(topic, [entry('a')], 1.5)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    await expect(store.claim(topic, { limit: 0, leaseMs: 1, owner: 'A' })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    await expect(store.complete(topic, ['a'], '')).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
  });
});
