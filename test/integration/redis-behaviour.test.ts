import { afterEach, describe, expect, it } from 'vitest';
import { BufferFullError, DeliveryError, type Producer, TopicConfigError, type ProducerError } from '../../src/index.js';
import { RECORD_OVERHEAD_BYTES } from '../../src/buffer-gate.js';
import { scriptCommand } from '../../src/scripts.js';
import { freePort, startRedisServer } from '../support/redis-server.js';
import { eventually, onEveryMaster, readStream, redisTarget, Resources, uniqueNamespace } from '../support/helpers.js';

const res = new Resources();
afterEach(() => res.closeAll());

describe('topic metadata', () => {
  it('records the shard count on first use and refuses a producer that disagrees', async () => {
    const namespace = uniqueNamespace();
    const first = res.producer({ namespace, topics: { orders: { shards: 8 } } });
    await first.send({ topic: 'orders', value: 'a' });
    expect(await res.admin().hget(`{${namespace}:orders}:meta`, 'shards')).toBe('8');

    const wrong = res.producer({ namespace, defaultShards: 4 });
    const errors: ProducerError[] = [];
    wrong.on('error', (e) => errors.push(e));
    const err = await wrong.send({ topic: 'orders', value: 'b', key: 'k' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TopicConfigError);
    expect(err).toMatchObject({ topic: 'orders', configuredShards: 4, storedShards: 8 });
    // Later records fail at once, synchronously for produce().
    expect(() => wrong.produce({ topic: 'orders', value: 'c' })).toThrow(TopicConfigError);
    await expect(wrong.send({ topic: 'orders', value: 'd' })).rejects.toBeInstanceOf(TopicConfigError);
    // The batch failure is also an error event, and nothing reached the streams.
    expect(errors.some((e) => e instanceof DeliveryError && e.code === 'ERR_TOPIC_CONFIG')).toBe(true);
    const admin = res.admin();
    let total = 0;
    for (let s = 0; s < 8; s++) total += await admin.xlen(`{${namespace}:orders:${s}}`);
    expect(total).toBe(1);

    const agreeing = res.producer({ namespace, defaultShards: 8 });
    await expect(agreeing.send({ topic: 'orders', value: 'e' })).resolves.toMatchObject({ status: 'delivered' });
  });
});

describe('back-pressure', () => {
  it('produce() throws BufferFullError at once; send() waits up to maxBlockMs; nothing accepted is lost', async () => {
    const producer = res.producer({ bufferMaxBytes: 4096, batchMaxBytes: 1024, maxRecordBytes: 1024, maxBlockMs: 150, defaultShards: 1 });
    const admin = res.admin();
    await producer.connect();
    // Hold every write for a while so the buffer fills up and stays full.
    await onEveryMaster(admin, (node) => node.call('CLIENT', 'PAUSE', '1500', 'WRITE'));
    const value = 'x'.repeat(1024 - RECORD_OVERHEAD_BYTES); // 1024 bytes of the buffer with the per-record overhead
    let accepted = 0;
    let full: unknown;
    for (let i = 0; i < 10 && full === undefined; i++) {
      try {
        producer.produce({ topic: 'bp', value });
        accepted++;
      } catch (err) {
        full = err;
      }
    }
    expect(full).toBeInstanceOf(BufferFullError);
    expect(full).toMatchObject({ code: 'ERR_BUFFER_FULL', retriable: true });
    expect(accepted).toBe(4);

    const started = Date.now();
    await expect(producer.send({ topic: 'bp', value })).rejects.toBeInstanceOf(BufferFullError);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);

    // A send with room to wait for gets in once the pause ends; waitForRoom resolves too.
    const patient = res.producer({ bufferMaxBytes: 4096, batchMaxBytes: 1024, maxRecordBytes: 1024, maxBlockMs: 10_000, defaultShards: 1 });
    await patient.connect();
    for (let i = 0; i < 4; i++) patient.produce({ topic: 'bp', value });
    const late = patient.send({ topic: 'bp', value });
    await patient.waitForRoom(960);
    await expect(late).resolves.toMatchObject({ status: 'delivered' });
    await producer.flush();
    await patient.flush();
    expect(producer.bufferedBytes).toBe(0);
    const ns = (p: Producer) => (p as unknown as { config: { namespace: string } }).config.namespace;
    expect(await admin.xlen(`{${ns(producer)}:bp:0}`)).toBe(4);
    expect(await admin.xlen(`{${ns(patient)}:bp:0}`)).toBe(5);
  });
});

describe('trimming', () => {
  it('exact MAXLEN keeps exactly the newest entries, in the same call', async () => {
    const producer = res.producer({ defaultShards: 1, topics: { capped: { trim: { strategy: 'maxlen', threshold: 10, exact: true } } } });
    for (let i = 0; i < 5; i++) await producer.sendBatch(Array.from({ length: 7 }, (_, j) => ({ topic: 'capped', value: String(i * 7 + j) })));
    const ack = await producer.send({ topic: 'capped', value: 'last' });
    const entries = await readStream(res.admin(), ack.stream);
    expect(entries).toHaveLength(10);
    expect(entries.at(-1)![1][1]).toBe('last');
    expect(entries[0]![1][1]).toBe('26');
  });

  it('approximate MAXLEN (the default) trims whole nodes and never below the threshold', async () => {
    const producer = res.producer({ defaultShards: 1, trim: { strategy: 'maxlen', threshold: 150 } });
    const admin = res.admin();
    const nodeEntries = Number((await admin.config('GET', 'stream-node-max-entries'))[1]);
    for (let i = 0; i < 10; i++) await producer.sendBatch(Array.from({ length: 100 }, () => ({ topic: 'approx', value: 'v' })));
    const { stream } = await producer.send({ topic: 'approx', value: 'v' });
    const len = await admin.xlen(stream);
    expect(len).toBeGreaterThanOrEqual(150);
    expect(len).toBeLessThanOrEqual(150 + nodeEntries); // at most one node beyond the threshold
  });

  it('MINID drops entries older than the threshold id', async () => {
    const producer = res.producer({ defaultShards: 1, topics: { recent: { trim: { strategy: 'minid', threshold: `${Date.now() + 60_000}`, exact: true } } } });
    const ack = await producer.send({ topic: 'recent', value: 'old' });
    expect(await res.admin().xlen(ack.stream)).toBe(0);
  });
});

describe('the Lua script', () => {
  it('survives SCRIPT FLUSH (EVALSHA falls back to EVAL on NOSCRIPT)', async () => {
    const producer = res.producer();
    const admin = res.admin();
    await producer.send({ topic: 's', value: 'before' });
    await onEveryMaster(admin, (node) => node.script('FLUSH'));
    const deliveries: number[] = [];
    producer.on('delivery', (e) => deliveries.push(e.attempts));
    const ack = await producer.send({ topic: 's', value: 'after' });
    expect(ack.status).toBe('delivered');
    expect(deliveries).toEqual([1]);
    expect((await readStream(admin, ack.stream)).at(-1)![1][1]).toBe('after');
  });

  it('a Redis error on one shard fails that batch with a typed error and leaves the others alone (compensation off)', async () => {
    const producer = res.producer({ defaultShards: 2, compensation: { enabled: false } });
    const ns = (producer as unknown as { config: { namespace: string } }).config.namespace;
    const admin = res.admin();
    await admin.set(`{${ns}:w:0}`, 'not a stream');
    const errors: DeliveryError[] = [];
    producer.on('error', (e) => e instanceof DeliveryError && errors.push(e));
    const [bad, good] = await Promise.allSettled([producer.send({ topic: 'w', value: 'a', shard: 0 }), producer.send({ topic: 'w', value: 'b', shard: 1 })]);
    expect(bad.status).toBe('rejected');
    const err = (bad as PromiseRejectedResult).reason as DeliveryError;
    expect(err).toBeInstanceOf(DeliveryError);
    expect(err).toMatchObject({ code: 'ERR_REDIS_WRONGTYPE', retriable: false, persisted: 'not' });
    expect(good).toMatchObject({ status: 'fulfilled', value: { status: 'delivered', shard: 1 } });
    expect(errors[0]?.batch).toMatchObject({ topic: 'w', shard: 0, records: 1, attempts: 1 });
  });

  it('refuses a malformed call before writing anything', async () => {
    const producer = res.producer();
    await producer.connect();
    const client = (producer as unknown as { client: Record<string, (...a: unknown[]) => Promise<unknown>> }).client;
    const admin = res.admin();
    const call = (...args: unknown[]) => client[scriptCommand('publish-batch')]!('{x:y:0}', '{x:y:0}:p:test', '', '', '', ...args);
    await expect(call('1', 1, 60_000, 2, ['r', 1, 1, 'payload', 'a', 0, 1, 'payload'])).rejects.toThrow(/ERR_RSP_ARGS bad run at argument 13/);
    await expect(call('1', 1, 60_000, 1, ['r', 1, 1.5, 'payload', 'a'])).rejects.toThrow(/ERR_RSP_ARGS bad run at argument 9/);
    await expect(call('1', 1, 60_000, 1, ['r', 1, 3951, 'payload', 'a'])).rejects.toThrow(/ERR_RSP_ARGS bad run at argument 9/);
    await expect(call('1', 1, 60_000, 2, ['r', 2, 1, 'payload', 'a'])).rejects.toThrow(/ERR_RSP_ARGS the run at argument 9 needs 1 more arguments/);
    await expect(call('1', 1, 60_000, 2, ['r', 2, 2, 'payload', 'key', 'a', 'k', 'b'])).rejects.toThrow(/ERR_RSP_ARGS the run at argument 9 needs 1 more arguments/);
    await expect(call('1', 1, 60_000, 2, ['r', 1, 1, 'payload', 'a'])).rejects.toThrow(/ERR_RSP_ARGS the runs hold 1 records, the count says 2/);
    await expect(call('1', 1, 60_000, 1, ['x', 'a'])).rejects.toThrow(/ERR_RSP_ARGS unknown layout x/);
    await expect(call('1', 0, 60_000, 1, ['r', 1, 1, 'payload', 'a'])).rejects.toThrow(/ERR_RSP_ARGS sequence/);
    await expect(call('', 0, 0, 0, ['r'])).rejects.toThrow(/ERR_RSP_ARGS record count/);
    expect(await admin.exists('{x:y:0}', '{x:y:0}:p:test')).toBe(0);
  });
});

describe('retries', () => {
  it('waits for a Redis that starts late and delivers once it answers, reporting retries', async () => {
    const port = await freePort();
    const producer = res.producer({ redis: `redis://127.0.0.1:${port}`, requestTimeoutMs: 200, retryBackoffMs: 50, retryBackoffMaxMs: 200, deliveryTimeoutMs: 20_000 });
    producer.on('error', () => {});
    const retries: string[] = [];
    producer.on('retry', (e) => retries.push(e.error.code));
    const pending = producer.send({ topic: 'late', value: 'x' });
    await eventually(() => retries.length >= 2, 'two retries while Redis is down');
    const server = await startRedisServer([], port);
    try {
      await expect(pending).resolves.toMatchObject({ status: 'delivered' });
      expect(retries.every((c) => c === 'ERR_CONNECTION' || c === 'ERR_REQUEST_TIMEOUT')).toBe(true);
    } finally {
      await producer.close();
      await server.stop();
    }
  });
});

it("runs against the project's target", () => {
  expect(['standalone', 'cluster']).toContain(redisTarget().kind);
});
