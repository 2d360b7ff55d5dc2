import type { Command } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import type { CompensationEntry } from '../../src/compensation/entry.js';
import { CompensationStore, type ClaimOptions } from '../../src/compensation/store.js';
import { compensationKeys, hashTag, type CompensationKeys } from '../../src/keys.js';
import { scriptCommand } from '../../src/scripts.js';
import { eventually, Resources, uniqueNamespace, type AdminClient } from '../support/helpers.js';

const res = new Resources();
afterEach(() => res.closeAll());

const topic = 'orders';
const T0 = 1_700_000_000_000;
/** A lease no test outlives: entries claimed with it stay leased for the whole test. */
const LONG = 60_000;

/** A store on a fresh namespace; `clock` is its `now` (requeue times only: leases, holds and done times are the server's). */
function setup(client: AdminClient = res.admin(), options: { doneTtlMs?: number } = {}) {
  const namespace = uniqueNamespace();
  const clock = { now: T0 };
  const store = new CompensationStore({ client, namespace, requestTimeoutMs: 5000, wallClock: () => clock.now, ...options });
  return { client, namespace, clock, store, keys: compensationKeys(namespace, topic) };
}

/** An entry id as the producer makes them: `<session>:<shard>:<seq>:<index>`, numbers zero-padded. */
function eid(shard: number, seq: number, index = 0, session = 's1'): string {
  return `${session}:${shard}:${String(seq).padStart(12, '0')}:${String(index).padStart(6, '0')}`;
}

function entry(id: string, over: Partial<CompensationEntry> = {}): CompensationEntry {
  const match = /:(\d+):(\d+):\d+$/.exec(id);
  return {
    id,
    topic,
    shard: match ? Number(match[1]) : 0,
    fields: ['payload', `value-${id}`],
    producerId: 'p1',
    seq: match ? Number(match[2]) : 7,
    persisted: 'not',
    attempts: 1,
    lastError: 'ERR_REQUEST_TIMEOUT: no answer',
    parkedAt: T0,
    ...over,
  };
}

const ids = (entries: CompensationEntry[]) => entries.map((e) => e.id);

/** The server's clock (ms), which leases, holds and done times use. */
async function serverNow(client: AdminClient): Promise<number> {
  const [seconds, micros] = (await client.time()) as unknown as [string | number, string | number];
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

/** Everything the store keeps for the topic, scores included. */
async function snapshot(client: AdminClient, keys: CompensationKeys) {
  return {
    zset: await client.zrange(keys.zset, 0, '-1', 'WITHSCORES'),
    data: await client.hgetall(keys.data),
    lease: await client.hgetall(keys.lease),
    dead: await client.zrange(keys.dead, 0, '-1', 'WITHSCORES'),
    hold: await client.hgetall(keys.hold),
    done: await client.zrange(keys.done, 0, '-1', 'WITHSCORES'),
  };
}

/** The lease end (server ms) of `id`, after checking it is held by `owner`. */
async function leaseEnd(client: AdminClient, keys: CompensationKeys, id: string, owner: string): Promise<number> {
  const value = await client.hget(keys.lease, id);
  const match = /^(\S+) (\d+)$/.exec(value ?? '');
  expect(match?.[1], `lease of ${id}: ${String(value)}`).toBe(owner);
  return Number(match?.[2]);
}

/**
 * Claims (polling) until something comes back, and returns it. Fails if anything came back while
 * the server clock was still before `notBefore` (read after the claim, so the claim ran earlier still).
 */
async function claimWhenFree(store: CompensationStore, client: AdminClient, notBefore: number, options: ClaimOptions): Promise<CompensationEntry[]> {
  let claimed: CompensationEntry[] = [];
  await eventually(async () => {
    claimed = await store.claim(topic, options);
    if (claimed.length === 0) return false;
    expect(await serverNow(client), 'claimed before the server time reached the lease end / hold').toBeGreaterThanOrEqual(notBefore);
    return true;
  }, `a claim by ${options.owner} to return entries`);
  return claimed;
}

describe('compensation store', () => {
  it('round-trips parked entries through stats, list and claim, Buffers and persisted status included', async () => {
    const { store, client, keys } = setup();
    const binary = entry(eid(0, 7, 0), { fields: ['payload', Buffer.from([0, 255, 1, 254]), 'h:trace', 'abc'], persisted: 'possibly', parkedAt: T0 - 500 });
    const plain = entry(eid(0, 7, 1), { parkedAt: T0 - 500 });
    const later = entry(eid(1, 3), { parkedAt: T0 + 1000 });
    await store.park(topic, [later, binary]);
    await store.park(topic, [plain]);

    expect(await store.stats(topic)).toEqual({ pending: 3, due: 3, dead: 0, oldestParkedAt: T0 - 500 });
    expect(await client.zscore(keys.zset, later.id)).toBe(String(T0 + 1000));
    const listed = await store.list(topic);
    expect(listed).toEqual([binary, plain, later]);
    expect(Buffer.isBuffer(listed[0]?.fields[1])).toBe(true);
    expect(await store.list(topic, { offset: 1, count: 1 })).toEqual([plain]);
    expect(await store.list(topic, { dead: true })).toEqual([]);
    const claimed = await store.claim(topic, { limit: 10, leaseMs: LONG, owner: 'A' });
    expect(claimed).toEqual([binary, plain, later]);
    expect(Buffer.isBuffer(claimed[0]?.fields[1])).toBe(true);
    expect(await store.stats('other')).toEqual({ pending: 0, due: 0, dead: 0, oldestParkedAt: undefined });
  });

  it('orders the schedule by parkedAt, then by id, whatever the order of parking', async () => {
    const { store, client, keys } = setup();
    const late = entry(eid(0, 1), { parkedAt: T0 + 50 }); // sent first, parked last (a journal drained late)
    const tieHigh = entry(eid(1, 10), { parkedAt: T0 });
    const tieLow = entry(eid(1, 9), { parkedAt: T0 }); // zero-padded: seq 9 sorts before seq 10
    const early = entry(eid(2, 1), { parkedAt: T0 - 50 });
    const otherSession = entry(eid(3, 1, 0, 's0'), { parkedAt: T0 }); // 's0:…' < 's1:…'
    await store.park(topic, [late, tieHigh]);
    await store.park(topic, [tieLow, early, otherSession]);

    const order = [early, otherSession, tieLow, tieHigh, late];
    expect(await store.list(topic)).toEqual(order);
    expect(await client.zrange(keys.zset, 0, '-1', 'WITHSCORES')).toEqual(order.flatMap((e) => [e.id, String(e.parkedAt)]));
    expect(ids(await store.claim(topic, { limit: 2, leaseMs: LONG, owner: 'A' }))).toEqual([early.id, otherSession.id]);
    expect(await store.complete(topic, [early.id, otherSession.id], 'A')).toBe(2);
    expect(ids(await store.claim(topic, { limit: 10, leaseMs: LONG, owner: 'A' }))).toEqual([tieLow.id, tieHigh.id, late.id]);
  });

  it('parking the same id twice keeps the first copy, its place and its lease', async () => {
    const { store, client, keys } = setup();
    const id = eid(0, 1);
    const other = entry(eid(1, 1), { parkedAt: T0 - 50 });
    await store.park(topic, [entry(id, { lastError: 'first', parkedAt: T0 })]);
    await store.park(topic, [entry(id, { lastError: 'second', attempts: 9, parkedAt: T0 - 100 }), other]);
    expect(await store.list(topic)).toEqual([other, entry(id, { lastError: 'first', parkedAt: T0 })]);
    expect(await client.zscore(keys.zset, id)).toBe(String(T0));
    expect(await client.hlen(keys.data)).toBe(2);

    expect(await store.claim(topic, { limit: 10, leaseMs: LONG, owner: 'A' })).toHaveLength(2);
    const before = await snapshot(client, keys);
    await store.park(topic, [entry(id, { lastError: 'third', parkedAt: T0 - 200 }), entry(other.id, { lastError: 'third' })]);
    expect(await snapshot(client, keys)).toEqual(before);
  });

  it('never parks again an id completed or found landed (the done set), but does one that was removed', async () => {
    const { store, client, keys } = setup();
    const a = entry(eid(0, 1));
    const b = entry(eid(0, 2));
    await store.park(topic, [a, b]);
    expect(ids(await store.claim(topic, { limit: 1, leaseMs: LONG, owner: 'A' }))).toEqual([a.id]);
    const t1 = await serverNow(client);
    expect(await store.complete(topic, [a.id], 'A')).toBe(1);
    const t2 = await serverNow(client);
    const doneAt = Number(await client.zscore(keys.done, a.id));
    expect(doneAt).toBeGreaterThanOrEqual(t1);
    expect(doneAt).toBeLessThanOrEqual(t2);

    await store.park(topic, [entry(a.id, { lastError: 'late copy' })]);
    expect(ids(await store.list(topic))).toEqual([b.id]);
    expect(await client.hexists(keys.data, a.id)).toBe(0);

    // landed(): deletes whoever holds the entry, and remembers every id given, parked or not.
    expect(ids(await store.claim(topic, { limit: 1, leaseMs: LONG, owner: 'A' }))).toEqual([b.id]);
    const c = entry(eid(1, 1));
    await store.park(topic, [c]);
    expect(await store.landed(topic, [b.id, c.id, eid(1, 2)])).toBe(2);
    expect(await store.complete(topic, [b.id], 'A')).toBe(0);
    expect(await client.hlen(keys.lease)).toBe(0);
    await store.park(topic, [b, c, entry(eid(1, 2)), entry(eid(1, 3))]);
    expect(ids(await store.list(topic))).toEqual([eid(1, 3)]);
    expect((await client.zrange(keys.done, 0, '-1')).sort()).toEqual([a.id, b.id, c.id, eid(1, 2)].sort());

    // remove() is an operator's delete, not a delivery: the record may be parked again.
    expect(await store.remove(topic, [eid(1, 3)])).toBe(1);
    await store.park(topic, [entry(eid(1, 3))]);
    expect(ids(await store.list(topic))).toEqual([eid(1, 3)]);
  });

  it('forgets done ids after doneTtlMs (pruned on the next complete), so they may be parked again', async () => {
    const { store, client, keys } = setup(undefined, { doneTtlMs: 200 });
    const a = entry(eid(0, 1));
    const b = entry(eid(0, 2));
    await store.park(topic, [a]);
    await store.claim(topic, { limit: 10, leaseMs: LONG, owner: 'A' });
    expect(await store.complete(topic, [a.id], 'A')).toBe(1);
    const doneAt = Number(await client.zscore(keys.done, a.id));
    await store.park(topic, [a]);
    expect(await store.stats(topic)).toMatchObject({ pending: 0 });

    await eventually(async () => (await serverNow(client)) > doneAt + 200, 'the done ttl to pass');
    await store.park(topic, [b]);
    expect(ids(await store.claim(topic, { limit: 10, leaseMs: LONG, owner: 'A' }))).toEqual([b.id]);
    expect(await store.complete(topic, [b.id], 'A')).toBe(1);
    expect(await client.zrange(keys.done, 0, '-1')).toEqual([b.id]);
    await store.park(topic, [a, b]);
    expect(ids(await store.list(topic))).toEqual([a.id]);
  });

  it('claim skips the rest of a shard whose earlier entry someone holds, and takes the other shards', async () => {
    const { store, client, keys } = setup();
    const a0 = entry(eid(0, 1), { parkedAt: T0 });
    const b0 = entry(eid(1, 1), { parkedAt: T0 });
    const x = entry('legacy-x', { parkedAt: T0 + 1 }); // not '<session>:<shard>:<seq>:<index>': a group of its own
    const a1 = entry(eid(0, 2), { parkedAt: T0 + 1 });
    const b1 = entry(eid(1, 2), { parkedAt: T0 + 2 });
    const a2 = entry(eid(0, 1, 0, 's2'), { parkedAt: T0 + 3 }); // another session's record on the same shard 0
    await store.park(topic, [a2, b1, a1, x, b0, a0]);
    expect(ids(await store.list(topic))).toEqual([a0.id, b0.id, x.id, a1.id, b1.id, a2.id]);

    expect(ids(await store.claim(topic, { limit: 1, leaseMs: LONG, owner: 'A' }))).toEqual([a0.id]);
    expect(ids(await store.claim(topic, { limit: 10, leaseMs: LONG, owner: 'B' }))).toEqual([b0.id, x.id, b1.id]);
    // Shard 0 is blocked behind a0 for its holder too; the rest is held by B.
    expect(await store.claim(topic, { limit: 10, leaseMs: LONG, owner: 'A' })).toEqual([]);
    expect(await store.claim(topic, { limit: 10, leaseMs: LONG, owner: 'C' })).toEqual([]);
    expect(Object.keys(await client.hgetall(keys.lease)).sort()).toEqual([a0.id, b0.id, x.id, b1.id].sort());
    await leaseEnd(client, keys, a0.id, 'A');
    await leaseEnd(client, keys, x.id, 'B');

    expect(await store.complete(topic, [a0.id], 'A')).toBe(1);
    expect(await store.claim(topic, { limit: 10, leaseMs: LONG, owner: 'C' })).toEqual([a1, a2]);
    // A later entry of the shard waits behind the ones C holds.
    await store.park(topic, [entry(eid(0, 3), { parkedAt: T0 + 10 })]);
    expect(await store.claim(topic, { limit: 10, leaseMs: LONG, owner: 'D' })).toEqual([]);
    expect(await store.complete(topic, [a1.id, a2.id], 'C')).toBe(2);
    expect(ids(await store.claim(topic, { limit: 10, leaseMs: LONG, owner: 'D' }))).toEqual([eid(0, 3)]);
  });

  it('leases on the server clock; an expired lease is claimed again, and the first holder can no longer settle', async () => {
    const { store, client, keys } = setup();
    const a0 = entry(eid(0, 1), { parkedAt: T0 });
    const a1 = entry(eid(0, 2), { parkedAt: T0 + 1 });
    const b0 = entry(eid(1, 1), { parkedAt: T0 });
    await store.park(topic, [a0, a1, b0]);

    const t1 = await serverNow(client);
    expect(await store.claim(topic, { limit: 10, leaseMs: 300, owner: 'A' })).toEqual([a0, b0, a1]);
    const t2 = await serverNow(client);
    const end = await leaseEnd(client, keys, a0.id, 'A');
    expect(end).toBeGreaterThanOrEqual(t1 + 300);
    expect(end).toBeLessThanOrEqual(t2 + 300);
    expect(await leaseEnd(client, keys, b0.id, 'A')).toBe(end);

    const refused = await store.claim(topic, { limit: 10, leaseMs: LONG, owner: 'B' });
    if ((await serverNow(client)) < end) expect(refused).toEqual([]);

    const again = await claimWhenFree(store, client, end, { limit: 10, leaseMs: LONG, owner: 'B' });
    expect(again).toEqual([a0, b0, a1]);
    await leaseEnd(client, keys, a1.id, 'B');

    const before = await snapshot(client, keys);
    expect(await store.complete(topic, [a0.id], 'A')).toBe(0);
    expect(await store.mark(topic, [{ ...a0, lastError: 'A' }], 'A')).toBe(0);
    expect(await store.retryLater(topic, [{ ...b0, lastError: 'A' }], 1000, 'A')).toBe(0);
    expect(await store.deadLetter(topic, [{ ...a1, lastError: 'A' }], 'A')).toBe(0);
    expect(await snapshot(client, keys)).toEqual(before);
    expect(await store.complete(topic, [a0.id, b0.id, a1.id], 'B')).toBe(3);
    expect(await store.stats(topic)).toEqual({ pending: 0, due: 0, dead: 0, oldestParkedAt: undefined });
  });

  it('skips and unschedules claimed ids whose data is gone', async () => {
    const { store, client, keys } = setup();
    const a = entry(eid(0, 1));
    const b = entry(eid(0, 2));
    await store.park(topic, [a, b]);
    await client.hdel(keys.data, a.id);
    expect(ids(await store.claim(topic, { limit: 10, leaseMs: LONG, owner: 'A' }))).toEqual([b.id]);
    expect(await client.zrange(keys.zset, 0, '-1')).toEqual([b.id]);
    expect(await client.hkeys(keys.lease)).toEqual([b.id]);
  });

  it('dead-letters entries it cannot read instead of returning them, without blocking their shard', async () => {
    const { store, client, keys } = setup();
    const a0 = entry(eid(0, 1), { parkedAt: T0 });
    const a1 = entry(eid(0, 2), { parkedAt: T0 + 1 });
    const b0 = entry(eid(1, 1), { parkedAt: T0 });
    await store.park(topic, [a0, a1, b0]);
    await client.hset(keys.data, a0.id, JSON.stringify({ v: 2, id: a0.id }), b0.id, 'not json');

    expect(await store.claim(topic, { limit: 10, leaseMs: LONG, owner: 'A' })).toEqual([a1]);
    expect(await client.zrange(keys.zset, 0, '-1')).toEqual([a1.id]);
    expect(await client.hkeys(keys.lease)).toEqual([a1.id]);
    expect((await client.zrange(keys.dead, 0, '-1')).sort()).toEqual([a0.id, b0.id].sort());
    expect(await client.hget(keys.data, b0.id)).toBe('not json');
    expect(await store.stats(topic)).toEqual({ pending: 1, due: 0, dead: 2, oldestParkedAt: T0 + 1 });
    // list() skips what it cannot read.
    expect(await store.list(topic, { dead: true })).toEqual([]);
  });

  it('complete, mark, retryLater and deadLetter change nothing for a caller that does not hold the lease', async () => {
    const { store, client, keys } = setup();
    const [a, b, c, d] = [eid(0, 1), eid(1, 1), eid(2, 1), eid(3, 1)].map((id) => entry(id));
    if (a === undefined || b === undefined || c === undefined || d === undefined) throw new Error('unreachable');
    await store.park(topic, [a, b, c, d]);
    expect(await store.claim(topic, { limit: 10, leaseMs: LONG, owner: 'r-1' })).toEqual([a, b, c, d]);
    const changed = (e: CompensationEntry) => ({ ...e, attempts: 2, lastError: 'ERR_REDIS_OOM: full', persisted: 'possibly' as const });

    const before = await snapshot(client, keys);
    expect(await store.complete(topic, [a.id, b.id, c.id, d.id], 'B')).toBe(0);
    expect(await store.mark(topic, [changed(a), changed(b)], 'B')).toBe(0);
    expect(await store.retryLater(topic, [changed(b)], 1000, 'B')).toBe(0);
    expect(await store.deadLetter(topic, [changed(c)], 'B')).toBe(0);
    // Neither a prefix nor an extension of the holder's token is the holder.
    expect(await store.complete(topic, [a.id], 'r-')).toBe(0);
    expect(await store.complete(topic, [a.id], 'r-10')).toBe(0);
    expect(await snapshot(client, keys)).toEqual(before);

    // mark: payload rewritten, lease and place kept.
    expect(await store.mark(topic, [changed(a)], 'r-1')).toBe(1);
    expect(await client.hget(keys.lease, a.id)).toBe(before.lease[a.id]);
    expect(await client.zscore(keys.zset, a.id)).toBe(String(T0));
    expect((await store.list(topic))[0]).toEqual(changed(a));
    expect(await store.retryLater(topic, [changed(b)], LONG, 'r-1')).toBe(1);
    expect(await store.deadLetter(topic, [changed(c)], 'r-1')).toBe(1);
    // Gone, released or dead: not held any more; only d is.
    expect(await store.complete(topic, [b.id, c.id, d.id, eid(9, 9)], 'r-1')).toBe(1);
    expect(await store.mark(topic, [changed(b), changed(c)], 'r-1')).toBe(0);
    expect(await client.hkeys(keys.lease)).toEqual([a.id]);
    expect(await store.list(topic)).toEqual([changed(a), changed(b)]);
    expect(await store.list(topic, { dead: true })).toEqual([changed(c)]);
  });

  it('retryLater keeps the order, releases the entries and holds their shard until holdMs passed', async () => {
    const { store, client, keys } = setup();
    const a = [eid(0, 1), eid(0, 2), eid(0, 3)].map((id, i) => entry(id, { parkedAt: T0 + i }));
    const b0 = entry(eid(1, 1), { parkedAt: T0 });
    await store.park(topic, [...a, b0]);
    const claimed = await store.claim(topic, { limit: 10, leaseMs: LONG, owner: 'A' });
    expect(ids(claimed)).toEqual([a[0]?.id, b0.id, a[1]?.id, a[2]?.id]);
    const updated = claimed.filter((e) => e.shard === 0).map((e) => ({ ...e, attempts: e.attempts + 1, lastError: 'ERR_REDIS_OOM: full', persisted: 'possibly' as const }));
    const [u0, u1, u2] = updated;
    if (u0 === undefined || u1 === undefined || u2 === undefined) throw new Error('nothing claimed');
    const scores = await client.zrange(keys.zset, 0, '-1', 'WITHSCORES');

    const t1 = await serverNow(client);
    expect(await store.retryLater(topic, updated, 1000, 'A')).toBe(3);
    const t2 = await serverNow(client);
    const holdUntil = Number(await client.hget(keys.hold, '0'));
    expect(holdUntil).toBeGreaterThanOrEqual(t1 + 1000);
    expect(holdUntil).toBeLessThanOrEqual(t2 + 1000);
    expect(await client.hkeys(keys.hold)).toEqual(['0']);
    expect(await client.hkeys(keys.lease)).toEqual([b0.id]);
    expect(await client.zrange(keys.zset, 0, '-1', 'WITHSCORES')).toEqual(scores);
    expect(await store.list(topic)).toEqual([u0, b0, u1, u2]);

    // While the hold lasts, other shards are replayed; shard 0 is not, not even an entry parked
    // before all of its others.
    expect(await store.complete(topic, [b0.id], 'A')).toBe(1);
    const b1 = entry(eid(1, 2), { parkedAt: T0 + 5 });
    const c0 = entry(eid(2, 1), { parkedAt: T0 + 6 });
    const first = entry(eid(0, 0), { parkedAt: T0 - 100 });
    await store.park(topic, [b1, c0, first]);
    const during = await store.claim(topic, { limit: 10, leaseMs: LONG, owner: 'B' });
    if ((await serverNow(client)) < holdUntil) expect(during).toEqual([b1, c0]);

    const after = await claimWhenFree(store, client, holdUntil, { limit: 10, leaseMs: LONG, owner: 'B' });
    expect(after).toEqual([first, u0, u1, u2]);
  });

  it('a hold is only ever extended, never shortened', async () => {
    const { store, client, keys } = setup();
    const a0 = entry(eid(0, 1), { parkedAt: T0 });
    const a1 = entry(eid(0, 2), { parkedAt: T0 + 1 });
    await store.park(topic, [a0, a1]);
    await store.claim(topic, { limit: 10, leaseMs: LONG, owner: 'A' });
    expect(await store.retryLater(topic, [a0], LONG, 'A')).toBe(1);
    const holdUntil = Number(await client.hget(keys.hold, '0'));
    expect(await store.retryLater(topic, [a1], 1, 'A')).toBe(1);
    expect(Number(await client.hget(keys.hold, '0'))).toBe(holdUntil);
    expect(await store.claim(topic, { limit: 10, leaseMs: LONG, owner: 'B' })).toEqual([]);
  });

  it('stats counts pending, due (not leased) and dead entries, and the oldest park time', async () => {
    const { store } = setup();
    const a0 = entry(eid(0, 1), { parkedAt: T0 + 5 });
    const b0 = entry(eid(1, 1), { parkedAt: T0 - 7 });
    const c0 = entry(eid(2, 1), { parkedAt: T0 });
    expect(await store.stats(topic)).toEqual({ pending: 0, due: 0, dead: 0, oldestParkedAt: undefined });
    await store.park(topic, [a0, b0, c0]);
    expect(await store.stats(topic)).toEqual({ pending: 3, due: 3, dead: 0, oldestParkedAt: T0 - 7 });

    expect(await store.claim(topic, { limit: 2, leaseMs: LONG, owner: 'A' })).toEqual([b0, c0]);
    expect(await store.stats(topic)).toEqual({ pending: 3, due: 1, dead: 0, oldestParkedAt: T0 - 7 });
    expect(await store.deadLetter(topic, [b0], 'A')).toBe(1);
    expect(await store.stats(topic)).toEqual({ pending: 2, due: 1, dead: 1, oldestParkedAt: T0 });
    // A held shard still counts as due.
    expect(await store.retryLater(topic, [c0], LONG, 'A')).toBe(1);
    expect(await store.stats(topic)).toEqual({ pending: 2, due: 2, dead: 1, oldestParkedAt: T0 });
    expect(await store.landed(topic, [c0.id])).toBe(1);
    expect(await store.stats(topic)).toEqual({ pending: 1, due: 1, dead: 1, oldestParkedAt: T0 + 5 });
  });

  it('dead-letters (at server time), requeues (at the store clock, attempts reset) and purges', async () => {
    const { store, client, clock, keys } = setup();
    const [a, b, c] = [eid(0, 1), eid(1, 1), eid(2, 1)].map((id) => entry(id));
    if (a === undefined || b === undefined || c === undefined) throw new Error('unreachable');
    await store.park(topic, [a, b, c]);
    const claimed = await store.claim(topic, { limit: 3, leaseMs: LONG, owner: 'A' });
    expect(claimed).toEqual([a, b, c]);
    const [ga, gb] = claimed.map((e) => ({ ...e, attempts: 5, lastError: 'ERR_REDIS_WRONGTYPE: gave up' }));
    if (ga === undefined || gb === undefined) throw new Error('nothing claimed');

    expect(await store.deadLetter(topic, [ga, gb], 'B')).toBe(0);
    const t1 = await serverNow(client);
    expect(await store.deadLetter(topic, [ga, gb], 'A')).toBe(2);
    const t2 = await serverNow(client);
    expect(await store.stats(topic)).toMatchObject({ pending: 1, dead: 2 });
    expect(await store.list(topic, { dead: true })).toEqual([ga, gb]);
    const deadAt = Number(await client.zscore(keys.dead, a.id));
    expect(deadAt).toBeGreaterThanOrEqual(t1);
    expect(deadAt).toBeLessThanOrEqual(t2);
    expect(await client.hkeys(keys.lease)).toEqual([c.id]);
    // Parking a dead-lettered record again leaves it dead, with its data.
    await store.park(topic, [a]);
    expect(await store.stats(topic)).toMatchObject({ pending: 1, dead: 2 });
    expect(await store.list(topic, { dead: true })).toEqual([ga, gb]);
    // A dead entry does not hold its shard back.
    const a1 = entry(eid(0, 2), { parkedAt: T0 + 1 });
    await store.park(topic, [a1]);
    expect(await store.claim(topic, { limit: 10, leaseMs: LONG, owner: 'B' })).toEqual([a1]);
    expect(await store.complete(topic, [a1.id], 'B')).toBe(1);

    clock.now = T0 + 100;
    expect(await store.requeueDead(topic, [a.id, 'not-dead', c.id])).toBe(1);
    expect(await store.list(topic, { dead: true })).toEqual([gb]);
    expect(await client.zscore(keys.zset, a.id)).toBe(String(T0 + 100));
    expect(await store.claim(topic, { limit: 10, leaseMs: LONG, owner: 'B' })).toEqual([{ ...ga, attempts: 0 }]);

    clock.now = T0 + 200;
    expect(await store.requeueDead(topic)).toBe(1);
    expect(await client.zscore(keys.zset, b.id)).toBe(String(T0 + 200));
    expect(await store.stats(topic)).toMatchObject({ pending: 3, dead: 0 });
    const [bAgain] = await store.claim(topic, { limit: 10, leaseMs: LONG, owner: 'C' });
    expect(bAgain).toEqual({ ...gb, attempts: 0 });
    if (bAgain === undefined) throw new Error('nothing claimed');
    expect(await store.deadLetter(topic, [bAgain], 'C')).toBe(1);

    expect(await store.purge(topic, { dead: true })).toBe(1);
    expect(await store.stats(topic)).toMatchObject({ pending: 2, dead: 0 });
    expect(await store.purge(topic)).toBe(2);
    expect(await client.exists(keys.zset, keys.data, keys.lease, keys.dead)).toBe(0);

    const [x, y] = [entry(eid(5, 1)), entry(eid(5, 2))];
    await store.park(topic, [x, y]);
    expect(await store.purge(topic, { ids: [x.id, 'zz'] })).toBe(1);
    expect(ids(await store.list(topic))).toEqual([y.id]);
  });

  it('claims, dead-letters, requeues, lands, removes and purges sets larger than one script page', async () => {
    const { store, client, keys } = setup();
    const many = Array.from({ length: 1200 }, (_, i) => entry(eid(i % 3, i)));
    const byId = [...many].sort((x, y) => (x.id < y.id ? -1 : 1));
    const sorted = ids(byId);
    await store.park(topic, many);
    const claimed = await store.claim(topic, { limit: 2000, leaseMs: LONG, owner: 'A' });
    expect(ids(claimed)).toEqual(sorted);
    expect(await store.deadLetter(topic, claimed.slice(0, 700), 'A')).toBe(700);
    expect(await store.requeueDead(topic)).toBe(700);
    expect(await store.stats(topic)).toMatchObject({ pending: 1200, dead: 0 });

    expect(await store.landed(topic, sorted.slice(0, 600))).toBe(600);
    expect(await client.zcard(keys.done)).toBe(600);
    await store.park(topic, many);
    expect(await store.stats(topic)).toMatchObject({ pending: 600 });
    expect(await store.remove(topic, sorted.slice(0, 1100))).toBe(500);
    // The first 600 landed: of these 700 only the 100 just removed come back.
    await store.park(topic, byId.slice(0, 700));
    expect(await store.stats(topic)).toMatchObject({ pending: 200 });
    expect(await store.requeueDead(topic, sorted)).toBe(0);

    const more = Array.from({ length: 1000 }, (_, i) => entry(eid(3, i)));
    await store.park(topic, more);
    // The last 100 of shard 2 are still leased by A (claimed first, never settled): B gets the rest.
    const all = await store.claim(topic, { limit: 2000, leaseMs: LONG, owner: 'B' });
    expect(ids(all)).toEqual([...sorted.slice(600, 700), ...ids(more)]);
    expect(await store.deadLetter(topic, all.slice(0, 600), 'B')).toBe(600);
    expect(await store.purge(topic, { dead: true })).toBe(600);
    expect(await store.purge(topic)).toBe(600);
    expect(await store.stats(topic)).toEqual({ pending: 0, due: 0, dead: 0, oldestParkedAt: undefined });
  });

  it('remove deletes entries whoever holds them, pending or dead', async () => {
    const { store, client, keys } = setup();
    const [a, b, c] = [eid(0, 1), eid(1, 1), eid(2, 1)].map((id) => entry(id));
    if (a === undefined || b === undefined || c === undefined) throw new Error('unreachable');
    await store.park(topic, [a, b, c]);
    const [, claimedB] = await store.claim(topic, { limit: 2, leaseMs: LONG, owner: 'A' });
    if (claimedB === undefined) throw new Error('nothing claimed');
    expect(await store.deadLetter(topic, [claimedB], 'A')).toBe(1);

    expect(await store.remove(topic, [a.id, b.id, 'missing'])).toBe(2);
    expect(await store.complete(topic, [a.id], 'A')).toBe(0);
    expect(ids(await store.list(topic))).toEqual([c.id]);
    expect(await store.stats(topic)).toMatchObject({ pending: 1, dead: 0 });
    expect(await client.hkeys(keys.data)).toEqual([c.id]);
    expect(await client.hlen(keys.lease)).toBe(0);
    expect(await client.zcard(keys.done)).toBe(0);
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

    const [a, b, c, d] = [eid(0, 1), eid(1, 1), eid(2, 1), eid(3, 1)].map((id) => entry(id));
    if (a === undefined || b === undefined || c === undefined || d === undefined) throw new Error('unreachable');
    await store.park(topic, [a, b, c, d]);
    expect(await store.claim(topic, { limit: 4, leaseMs: LONG, owner: 'A' })).toHaveLength(4);
    await store.mark(topic, [a], 'A');
    await store.retryLater(topic, [a], 1, 'A');
    await store.deadLetter(topic, [b], 'A');
    await store.complete(topic, [c.id], 'A');
    await store.landed(topic, [d.id]);
    await store.stats(topic);
    await store.list(topic);
    await store.list(topic, { dead: true });
    await store.requeueDead(topic);
    await store.remove(topic, [a.id]);
    await store.purge(topic, { dead: true });
    await store.purge(topic);

    const scripts = seen.filter((c) => c.name === 'evalsha' || c.name === 'eval');
    // park, claim, settle ×4, delete (landed), requeue, delete ×3
    expect(scripts.length).toBeGreaterThanOrEqual(11);
    for (const script of scripts) expect(script.keys.length).toBeGreaterThanOrEqual(3);
    const withKeys = seen.filter((c) => c.keys.length > 0);
    expect(withKeys.length).toBeGreaterThan(scripts.length);
    const tags = new Set(withKeys.flatMap((c) => c.keys.map(hashTag)));
    expect([...tags]).toEqual([`${namespace}:compensation:${topic}`]);
    for (const key of Object.values(compensationKeys(namespace, topic))) {
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
    const parkKeys = [keys.zset, keys.data, keys.dead, keys.done];
    const claimKeys = [keys.zset, keys.data, keys.lease, keys.hold];
    const settleKeys = [keys.zset, keys.data, keys.lease, keys.dead, keys.hold, keys.done];
    const deleteKeys = [keys.zset, keys.data, keys.lease, keys.dead, keys.done];
    const calls: [string, () => Promise<unknown>][] = [
      ['park: order not a number', () => park(...parkKeys, 'a', 'soon', json)],
      ['park: fractional order', () => park(...parkKeys, 'a', 1.5, json)],
      ['park: incomplete triple', () => park(...parkKeys, 'a', T0, json, 'b')],
      ['park: empty JSON after a good triple', () => park(...parkKeys, 'a', T0, json, 'b', T0, '')],
      ['park: empty id', () => park(...parkKeys, '', T0, json)],
      ['park: no entries', () => park(...parkKeys)],
      ['claim: zero limit', () => claim(...claimKeys, 0, 1000, 'A')],
      ['claim: no owner', () => claim(...claimKeys, 1, 1000, '')],
      ['claim: owner with a space', () => claim(...claimKeys, 1, 1000, 'A B')],
      ['claim: fractional lease', () => claim(...claimKeys, 1, 0.5, 'A')],
      ['claim: extra argument', () => claim(...claimKeys, 1, 1000, 'A', 'x')],
      ['settle: unknown action', () => settle(...settleKeys, 'drop', 'A', '', 'a')],
      ['settle: no owner', () => settle(...settleKeys, 'complete', '', 1000, 'a')],
      ['settle: complete without ids', () => settle(...settleKeys, 'complete', 'A', 1000)],
      ['settle: complete without time', () => settle(...settleKeys, 'complete', 'A', '', 'a')],
      ['settle: retry without time', () => settle(...settleKeys, 'retry', 'A', '', 'a', json)],
      ['settle: retry with negative time', () => settle(...settleKeys, 'retry', 'A', -1, 'a', json)],
      ['settle: dead with odd pairs', () => settle(...settleKeys, 'dead', 'A', '', 'a', json, 'b')],
      ['settle: mark with empty JSON', () => settle(...settleKeys, 'mark', 'A', '', 'a', json, 'b', '')],
      ['requeue: odd pairs', () => requeue(keys.zset, keys.data, keys.dead, T0, 'a')],
      ['requeue: time not an integer', () => requeue(keys.zset, keys.data, keys.dead, 'now', 'a', json)],
      ['delete: unknown mode', () => del(...deleteKeys, 'all')],
      ['delete: no limit', () => del(...deleteKeys, 'pending')],
      ['delete: no ids', () => del(...deleteKeys, 'ids')],
      ['delete: landed without ids', () => del(...deleteKeys, 'landed', 1000)],
      ['delete: landed with a bad time', () => del(...deleteKeys, 'landed', 'soon', 'a')],
      ['delete: empty id', () => del(...deleteKeys, 'ids', 'a', '')],
    ];
    for (const [what, call] of calls) {
      await expect(call(), what).rejects.toThrow(/^ERR_RSP_ARGS /);
    }
    expect(await client.exists(...Object.values(keys))).toBe(0);
  });

  it('refuses arguments that could move keys or break the contract before calling Redis', async () => {
    const { store, client, keys } = setup();
    const a = entry(eid(0, 1));
    const invalid = { code: 'ERR_INVALID_ARGUMENT' };
    await expect(store.park('a}b', [a])).rejects.toMatchObject(invalid);
    await expect(store.park(topic, [entry(a.id, { topic: 'other' })])).rejects.toMatchObject(invalid);
    await expect(store.park(topic, [entry(a.id, { parkedAt: 1.5 })])).rejects.toMatchObject(invalid);
    await expect(store.park(topic, [entry('')])).rejects.toMatchObject(invalid);
    await expect(store.claim(topic, { limit: 0, leaseMs: 1, owner: 'A' })).rejects.toMatchObject(invalid);
    await expect(store.claim(topic, { limit: 1, leaseMs: 0, owner: 'A' })).rejects.toMatchObject(invalid);
    await expect(store.claim(topic, { limit: 1, leaseMs: 1.5, owner: 'A' })).rejects.toMatchObject(invalid);
    await expect(store.claim(topic, { limit: 1, leaseMs: 1000, owner: '' })).rejects.toMatchObject(invalid);
    await expect(store.claim(topic, { limit: 1, leaseMs: 1000, owner: 'A B' })).rejects.toMatchObject(invalid);
    await expect(store.complete(topic, [a.id], '')).rejects.toMatchObject(invalid);
    await expect(store.complete(topic, [a.id], 'A B')).rejects.toMatchObject(invalid);
    await expect(store.complete(topic, [''], 'A')).rejects.toMatchObject(invalid);
    await expect(store.mark(topic, [a], 'A B')).rejects.toMatchObject(invalid);
    await expect(store.retryLater(topic, [a], 1.5, 'A')).rejects.toMatchObject(invalid);
    await expect(store.retryLater(topic, [entry(a.id, { topic: 'other' })], 1000, 'A')).rejects.toMatchObject(invalid);
    await expect(store.deadLetter(topic, [a], '')).rejects.toMatchObject(invalid);
    await expect(store.landed(topic, [''])).rejects.toMatchObject(invalid);
    await expect(store.remove(topic, [''])).rejects.toMatchObject(invalid);
    await expect(store.list(topic, { offset: -1 })).rejects.toMatchObject(invalid);
    await expect(store.list(topic, { count: 0 })).rejects.toMatchObject(invalid);
    expect(() => new CompensationStore({ client, namespace: 'a}b', requestTimeoutMs: 5000 })).toThrow(expect.objectContaining(invalid));
    expect(await client.exists(...Object.values(keys))).toBe(0);
  });
});
