/**
 * The `stats` event against a real Redis (standalone and cluster): its counts match what was sent,
 * real faults show up as retries, spills, dead letters and replays, and nothing is built while
 * nobody listens.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Producer, StatsEvent } from '../../src/index.js';
import { StatsCollector } from '../../src/stats/collector.js';
import { collectorOf } from '../../src/stats/registry.js';
import { eventually, Resources, uniqueNamespace } from '../support/helpers.js';
import { freePort } from '../support/redis-server.js';

const res = new Resources();
afterEach(async () => {
  vi.restoreAllMocks();
  await res.closeAll();
});

/** Collects every `stats` event of `producer`; `until` waits for one that matches. */
function statsOf(producer: Producer) {
  const events: StatsEvent[] = [];
  producer.on('stats', (e) => events.push(e));
  return {
    events,
    async until(what: string, match: (e: StatsEvent) => boolean): Promise<StatsEvent> {
      await eventually(() => events.some(match), `a stats event with ${what}`);
      return events.find(match)!;
    },
  };
}

const collector = (p: Producer) => collectorOf(p)!;

describe('stats event', () => {
  it('counts the records, bytes and batches that were delivered, in total, per window and per shard', async () => {
    const producer = res.producer({ statsIntervalMs: 20, topics: { orders: { shards: 4 } } });
    const admin = res.admin();
    const stats = statsOf(producer);
    let deliveryEvents = 0;
    let deliveredIds = 0;
    producer.on('delivery', (e) => {
      deliveryEvents++;
      deliveredIds += e.ids.length;
    });

    const value = 'x'.repeat(100);
    const acks = await producer.sendBatch(Array.from({ length: 500 }, (_, i) => ({ topic: 'orders', key: `k${i}`, value })));
    for (let i = 0; i < 300; i++) producer.produce({ topic: 'orders', key: `k${i}`, value });
    await producer.flush();
    expect(acks.every((a) => a.status === 'delivered')).toBe(true);
    expect(deliveredIds).toBe(800);

    const done = await stats.until('800 delivered records, nothing buffered', (e) => e.totals.deliveredRecords === 800 && e.bufferedBytes === 0);
    const bytesPerRecord = Buffer.byteLength(value) + 4; // value + key (`k0`…`k499`: 2–4 bytes)
    expect(done.totals.deliveredBatches).toBe(deliveryEvents);
    expect(done.totals.deliveredBytes).toBeGreaterThan(800 * 100);
    expect(done.totals.deliveredBytes).toBeLessThanOrEqual(800 * bytesPerRecord);
    expect(done.totals).toMatchObject({ retries: 0, spilledRecords: 0, failedRecords: 0, deadLetters: 0 });
    expect(done).toMatchObject({ queuedRecords: 0, inFlightBatches: 0, inFlightRecords: 0, producerId: producer.producerId });

    // Windows split the totals: the events up to `done` add up to it.
    const upTo = stats.events.slice(0, stats.events.indexOf(done) + 1);
    const sum = (f: (e: StatsEvent) => number) => upTo.reduce((n, e) => n + f(e), 0);
    expect(sum((e) => e.window.deliveredRecords)).toBe(800);
    expect(sum((e) => e.window.deliveredBatches)).toBe(deliveryEvents);
    expect(sum((e) => e.batchRecords.count)).toBe(deliveryEvents);
    expect(sum((e) => e.requestLatencyMs.count)).toBe(deliveryEvents);
    const busy = upTo.filter((e) => e.window.deliveredRecords > 0);
    for (const e of busy) {
      expect(e.recordsPerSec).toBeGreaterThan(0);
      expect(e.requestLatencyMs.p50).toBeGreaterThan(0);
      expect(e.requestLatencyMs.p99).toBeGreaterThanOrEqual(e.requestLatencyMs.p50);
      expect(e.requestLatencyMs.max).toBeGreaterThanOrEqual(e.requestLatencyMs.p99);
      expect(e.batchRecords.max).toBeLessThanOrEqual(1000);
      expect(e.batchRecords.avg).toBeCloseTo(e.window.deliveredRecords / e.window.deliveredBatches, 1);
    }

    // Per shard: each shard's count is what its stream holds.
    expect(done.shards.map((s) => s.shard)).toEqual([0, 1, 2, 3]);
    for (const s of done.shards) {
      expect(s.topic).toBe('orders');
      expect(s.deliveredRecords, s.stream).toBe(await admin.xlen(s.stream));
    }
    expect(done.shards.reduce((n, s) => n + s.deliveredRecords, 0)).toBe(800);
  });

  it('counts the records sent compressed and the entry bytes that saved, as the stream holds them', async () => {
    const namespace = uniqueNamespace();
    const producer = res.producer({ namespace, statsIntervalMs: 20, topics: { docs: { shards: 1, compression: { codec: 'gzip', minBytes: 512 } } } });
    const admin = res.admin();
    const stats = statsOf(producer);
    const doc = (n: number) => JSON.stringify(Array.from({ length: n }, (_, i) => ({ id: i, name: `user-${i}` })));
    const values = [doc(400), 'small, sent as it is', doc(60), doc(5)];
    await Promise.all(values.map((value) => producer.send({ topic: 'docs', value })));

    const entries = (await admin.xrangeBuffer(`{${namespace}:docs:0}`, '-', '+')) as [Buffer, Buffer[]][];
    let expectedSaved = 0;
    let expectedRecords = 0;
    for (const [i, [, fields]] of entries.entries()) {
      if (fields[2]?.toString() !== 'encoding') continue;
      expectedRecords++;
      expectedSaved += Buffer.byteLength(values[i]!) - fields[1]!.length - 'encoding'.length - 'gzip'.length;
    }
    expect(expectedRecords).toBe(2); // the two values of at least 512 bytes
    const done = await stats.until('two compressed records', (e) => e.totals.compressedRecords === 2);
    expect(done.totals.compressionSavedBytes).toBe(expectedSaved);
    expect(stats.events.reduce((n, e) => n + e.window.compressionSavedBytes, 0)).toBe(expectedSaved);
  });

  it('shows a refused batch as a spill, a failing replay as a dead letter and the fixed replay as delivered', async () => {
    const namespace = uniqueNamespace();
    const producer = res.producer({ namespace, statsIntervalMs: 20, topics: { bad: { shards: 1 } }, compensation: { maxAttempts: 1, replay: { enabled: false } } });
    const admin = res.admin();
    const stream = `{${namespace}:bad:0}`;
    await admin.set(stream, 'not a stream'); // WRONGTYPE: non-retriable, parked at once
    const stats = statsOf(producer);

    const ack = await producer.send({ topic: 'bad', value: 'v' });
    expect(ack).toMatchObject({ status: 'spilled', parkedIn: 'redis' });
    const spilled = await stats.until('one spilled record', (e) => e.totals.spilledRecords === 1);
    expect(spilled.totals).toMatchObject({ retries: 0, deliveredRecords: 0, journaledRecords: 0, failedRecords: 0 });
    expect(spilled.shards).toEqual([expect.objectContaining({ topic: 'bad', shard: 0, spilledRecords: 1, deliveredRecords: 0 })]);

    expect(await producer.compensation.replayNow()).toMatchObject({ deadLettered: 1 });
    await stats.until('one dead letter', (e) => e.totals.deadLetters === 1 && e.totals.replayedRecords === 0);

    await admin.del(stream);
    expect(await producer.compensation.requeueDead('bad')).toBe(1);
    expect(await producer.compensation.replayNow()).toMatchObject({ replayed: 1 });
    const replayed = await stats.until('one replayed record', (e) => e.totals.replayedRecords === 1);
    expect(replayed.totals).toMatchObject({ deliveredRecords: 0, deliveredBatches: 0, spilledRecords: 1, deadLetters: 1 });
  });

  it('counts retries against an unreachable Redis, then the spill to the local journal', async () => {
    const producer = res.producer({
      redis: `redis://127.0.0.1:${await freePort()}`, // nothing listens there
      statsIntervalMs: 20,
      deliveryTimeoutMs: 400,
      requestTimeoutMs: 100,
      retryBackoffMs: 20,
      retryBackoffMaxMs: 40,
      compensation: { replay: { enabled: false } },
    });
    producer.on('error', () => undefined); // connection errors, expected
    let retryEvents = 0;
    producer.on('retry', () => retryEvents++);
    const stats = statsOf(producer);

    const ack = await producer.send({ topic: 't', value: 'v', shard: 0 });
    expect(ack).toMatchObject({ status: 'spilled', parkedIn: 'journal' });
    expect(retryEvents).toBeGreaterThan(0);
    const e = await stats.until('the journaled record', (s) => s.totals.journaledRecords === 1);
    expect(e.totals).toMatchObject({ retries: retryEvents, spilledRecords: 1, deliveredRecords: 0 });
    expect(e.shards).toEqual([expect.objectContaining({ topic: 't', shard: 0, retries: retryEvents, spilledRecords: 1 })]);
  });

  it('builds no payload while nobody listens', async () => {
    const snapshot = vi.spyOn(StatsCollector.prototype, 'snapshot');
    const producer = res.producer({ statsIntervalMs: 10 });
    await producer.send({ topic: 't', value: 'v' });
    const c = collector(producer);
    expect(producer.listenerCount('stats')).toBe(0);
    const ended = c.windowsEnded;
    await eventually(() => c.windowsEnded >= ended + 3, 'three timer ticks');
    expect(snapshot).not.toHaveBeenCalled();

    const first = await new Promise<StatsEvent>((resolve) => producer.once('stats', resolve));
    expect(snapshot).toHaveBeenCalledTimes(1);
    expect(first.totals.deliveredRecords).toBe(1);

    // The listener is gone again (once): ticks go on, snapshots do not.
    const afterOnce = c.windowsEnded;
    await eventually(() => c.windowsEnded >= afterOnce + 3, 'three more timer ticks');
    expect(snapshot).toHaveBeenCalledTimes(1);
  });

  it('runs no timer with statsIntervalMs: 0, and close() stops it', async () => {
    const off = res.producer({ statsIntervalMs: 0 });
    expect(collector(off).running).toBe(false);
    const on = res.producer({ statsIntervalMs: 1000 });
    expect(collector(on).running).toBe(true);
    await on.close();
    expect(collector(on).running).toBe(false);
  });
});
