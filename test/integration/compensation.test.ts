import { afterEach, describe, expect, it } from 'vitest';
import type { DeadLetterEvent, ReplayEvent, SpillEvent } from '../../src/index.js';
import { freePort, startRedisServer } from '../support/redis-server.js';
import { compensationKeys } from '../../src/keys.js';
import { connects, eventually, readStream, Resources, unreachableRedis } from '../support/helpers.js';

const res = new Resources();
afterEach(() => res.closeAll());

const nsOf = (p: unknown) => (p as { config: { namespace: string } }).config.namespace;

describe('compensation: park undeliverable records, replay them later', () => {
  it('answers inspection calls on a producer that has not connected yet', async () => {
    const producer = res.producer({ compensation: { replay: { enabled: false } } });
    expect(await producer.compensation.stats('orders')).toMatchObject({ pending: 0, dead: 0 });
    expect(await producer.compensation.topics()).toEqual([]);
    expect(await producer.compensation.list('orders')).toEqual([]);
  });

  it('parks a batch Redis refuses, and replays it once the cause is fixed', async () => {
    const producer = res.producer({ defaultShards: 2, compensation: { replay: { enabled: false } } });
    const admin = res.admin();
    const stream = `{${nsOf(producer)}:orders:0}`;
    await admin.set(stream, 'not a stream'); // every XADD to shard 0 fails with WRONGTYPE
    const spills: SpillEvent[] = [];
    producer.on('spill', (e) => spills.push(e));
    const acks = await Promise.all([1, 2, 3].map((i) => producer.send({ topic: 'orders', value: `v${i}`, shard: 0 })));
    for (const ack of acks) {
      expect(ack).toMatchObject({ status: 'spilled', topic: 'orders', shard: 0, stream, persisted: 'not', parkedIn: 'redis' });
      expect(ack.status === 'spilled' && ack.error.code).toBe('ERR_REDIS_WRONGTYPE');
    }
    expect(spills).toHaveLength(1);
    expect(spills[0]).toMatchObject({ topic: 'orders', shard: 0, to: 'redis', persisted: 'not' });
    expect(await producer.compensation.topics()).toEqual(['orders']);
    expect(await producer.compensation.stats('orders')).toMatchObject({ pending: 3, dead: 0 });
    const listed = await producer.compensation.list('orders');
    expect(listed.map((e) => e.fields[1])).toEqual(['v1', 'v2', 'v3']);
    expect(listed.map((e) => e.id).sort()).toEqual(acks.map((a) => (a.status === 'spilled' ? a.compensationId : '')).sort());

    // Still broken: the replay fails and the shard is held with backoff; the records stay parked.
    const failed = await producer.compensation.replayNow();
    expect(failed).toMatchObject({ replayed: 0, retryLater: 3 });
    expect((await producer.compensation.list('orders')).map((e) => e.attempts)).toEqual([1, 1, 1]);
    expect(await producer.compensation.replayNow()).toMatchObject({ replayed: 0, retryLater: 0 }); // on hold

    // Fixed: lift the hold (it would expire after the backoff) and replay: in the original order.
    await admin.del(stream);
    await admin.del(compensationKeys(nsOf(producer), 'orders').hold);
    const replays: ReplayEvent[] = [];
    producer.on('replay', (e) => replays.push(e));
    expect(await producer.compensation.replayNow()).toMatchObject({ replayed: 3 });
    expect((await readStream(admin, stream)).map(([, f]) => f[1])).toEqual(['v1', 'v2', 'v3']);
    expect(replays.map((r) => r.outcome)).toEqual(['replayed', 'replayed', 'replayed']);
    expect(await producer.compensation.stats('orders')).toMatchObject({ pending: 0, dead: 0 });
    // Nothing parked any more: the topic is no longer listed.
    expect(await producer.compensation.topics()).toEqual([]);
  });

  it('dead-letters a record after maxAttempts, and requeueDead brings it back', async () => {
    const producer = res.producer({ compensation: { maxAttempts: 2, replay: { enabled: false } }, topics: { t: { shards: 1 } } });
    const admin = res.admin();
    const stream = `{${nsOf(producer)}:t:0}`;
    await admin.set(stream, 'x');
    const dead: DeadLetterEvent[] = [];
    producer.on('dead-letter', (e) => dead.push(e));
    const ack = await producer.send({ topic: 't', value: 'doomed' });
    expect(ack.status).toBe('spilled');
    expect(await producer.compensation.replayNow()).toMatchObject({ retryLater: 1 });
    await admin.del(compensationKeys(nsOf(producer), 't').hold);
    expect(await producer.compensation.replayNow()).toMatchObject({ deadLettered: 1 });
    expect(dead[0]).toMatchObject({ topic: 't', attempts: 2, lastError: expect.stringContaining('WRONGTYPE') });
    expect(await producer.compensation.stats('t')).toMatchObject({ pending: 0, dead: 1 });
    await admin.del(stream);
    expect(await producer.compensation.requeueDead('t')).toBe(1);
    expect(await producer.compensation.replayNow()).toMatchObject({ replayed: 1 });
    expect((await readStream(admin, stream)).map(([, f]) => f[1])).toEqual(['doomed']);
  });

  it('journals records while Redis is unreachable and moves them into Redis once it answers', async () => {
    const port = await freePort();
    const producer = res.producer({
      ...unreachableRedis(port),
      topics: { j: { shards: 1 } },
      compensation: { replay: { enabled: false, leaseMs: 5_000 } },
    });
    producer.on('error', () => {});
    const acks = await Promise.all(['a', 'b'].map((v) => producer.send({ topic: 'j', value: v })));
    expect(acks.map((a) => a.status === 'spilled' && a.parkedIn)).toEqual(['journal', 'journal']);

    const server = await startRedisServer([], port);
    try {
      // ioredis reconnects with its own backoff; wait until it has.
      await eventually(() => connects(producer), 'the producer reconnects');
      const round = await producer.compensation.replayNow();
      expect(round).toMatchObject({ drained: 2, replayed: 2 });
      const admin = res.admin(`redis://127.0.0.1:${port}`);
      expect((await readStream(admin, `{${nsOf(producer)}:j:0}`)).map(([, f]) => f[1]).sort()).toEqual(['a', 'b']);
      expect(await producer.compensation.stats('j')).toMatchObject({ pending: 0 });
      await producer.close();
      await admin.quit();
    } finally {
      await server.stop();
    }
  });

  it('close() with Redis down parks what is left in the journal instead of dropping it', async () => {
    const port = await freePort();
    const producer = res.producer({ redis: `redis://127.0.0.1:${port}`, requestTimeoutMs: 200, retryBackoffMs: 50, retryBackoffMaxMs: 100, compensation: { replay: { enabled: false } } });
    producer.on('error', () => {});
    const pending = producer.send({ topic: 'c', value: 'kept' });
    producer.produce({ topic: 'c', value: 'kept too' });
    await producer.close({ timeoutMs: 300 });
    expect(await pending).toMatchObject({ status: 'spilled', parkedIn: 'journal' });
  });
});
