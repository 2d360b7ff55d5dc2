import { Cluster, type Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { DeliveryError, InvalidRecordError, ListenerError, Producer, ProducerClosedError, type DeliveryEvent, type ProducerError } from '../../src/index.js';
import { crc32Partitioner, murmur2Partitioner } from '../../src/partitioner.js';
import { RECORD_OVERHEAD_BYTES } from '../../src/buffer-gate.js';
import { adminClient, eventually, readStream, redisTarget, Resources, uniqueNamespace } from '../support/helpers.js';

const res = new Resources();
afterEach(() => res.closeAll());

describe('send()', () => {
  it('resolves once the record is in its stream, with the documented entry layout', async () => {
    const producer = res.producer({ defaultShards: 8 });
    const ack = await producer.send({ topic: 'orders', key: 'user-42', value: '{"total":12}', headers: { source: 'api' } });
    const shard = crc32Partitioner(Buffer.from('user-42'), 8);
    expect(ack).toMatchObject({ status: 'delivered', topic: 'orders', shard, id: expect.stringMatching(/^\d+-\d+$/) });
    const ns = (producer as unknown as { config: { namespace: string } }).config.namespace;
    expect(ack.stream).toBe(`{${ns}:orders:${shard}}`);
    const entries = await readStream(res.admin(), ack.stream);
    expect(entries).toEqual([[ack.status === 'delivered' && ack.id, ['payload', '{"total":12}', 'key', 'user-42', 'h:source', 'api']]]);
  });

  it('forgets idle topics after metadataMaxIdleMs, and a topic used again goes on under the same session, each record once', async () => {
    const producer = res.producer({ defaultShards: 4, metadataMaxIdleMs: 100, deliveryTimeoutMs: 2_000, requestTimeoutMs: 500 });
    const topicsKept = () => [...(producer as unknown as { topics: { all(): Iterable<unknown> } }).topics.all()].length;
    const first = await Promise.all(Array.from({ length: 40 }, (_, i) => producer.send({ topic: `idle-${i % 20}`, key: `k${i}`, value: `a${i}` })));
    expect(topicsKept()).toBe(20);
    await eventually(() => topicsKept() === 0, 'every idle topic forgotten', 5_000);
    // The shards' idempotence state in Redis still holds this session's last sequence: the next
    // batches must number above it, or the script would refuse them as stale.
    const second = await Promise.all(Array.from({ length: 40 }, (_, i) => producer.send({ topic: `idle-${i % 20}`, key: `k${i}`, value: `b${i}` })));
    expect([...first, ...second].filter((a) => a.status !== 'delivered')).toEqual([]);
    const admin = res.admin();
    for (const ack of [...first, ...second]) {
      const values = (await readStream(admin, ack.stream)).map(([, f]) => f[1]);
      expect(new Set(values).size).toBe(values.length);
    }
    const total = (await Promise.all([...new Set([...first, ...second].map((a) => a.stream))].map((s) => admin.xlen(s)))).reduce((a, b) => a + b, 0);
    expect(total).toBe(80);
  });

  it('stores Buffers byte for byte', async () => {
    const producer = res.producer();
    const value = Buffer.from([0, 255, 10, 13, 0x80]);
    const ack = await producer.send({ topic: 'bin', value, headers: { raw: Buffer.from([1, 2]) } });
    const admin = res.admin();
    const entries = (await admin.xrangeBuffer(ack.stream, '-', '+')) as [Buffer, Buffer[]][];
    expect(entries[0]?.[1]).toEqual([Buffer.from('payload'), value, Buffer.from('h:raw'), Buffer.from([1, 2])]);
  });

  it('keeps per-key order across many concurrent sends and batches', async () => {
    const producer = res.producer({ defaultShards: 4, batchMaxRecords: 7 });
    const acks = await Promise.all(Array.from({ length: 300 }, (_, i) => producer.send({ topic: 'seq', key: `k${i % 5}`, value: String(i) })));
    const admin = res.admin();
    for (const stream of new Set(acks.map((a) => a.stream))) {
      const values = (await readStream(admin, stream)).map(([, f]) => Number(f[1]));
      const byKey = new Map<number, number[]>();
      for (const v of values) byKey.set(v % 5, [...(byKey.get(v % 5) ?? []), v]);
      for (const list of byKey.values()) expect(list).toEqual([...list].sort((a, b) => a - b));
    }
    expect(acks.every((a) => a.status === 'delivered')).toBe(true);
  });

  it('honours an explicit shard and refuses one out of range without losing the others', async () => {
    const producer = res.producer({ topics: { pinned: { shards: 3 } } });
    const ok = producer.send({ topic: 'pinned', value: 'a', shard: 2 });
    const bad = producer.send({ topic: 'pinned', value: 'b', shard: 3 });
    await expect(bad).rejects.toMatchObject({ name: 'InvalidRecordError', field: 'shard' });
    expect((await ok).shard).toBe(2);
  });

  it('uses murmur2 or a custom function when configured', async () => {
    const m = res.producer({ partitioner: 'murmur2', defaultShards: 12 });
    expect((await m.send({ topic: 't', key: 'foobar', value: 'v' })).shard).toBe(murmur2Partitioner(Buffer.from('foobar'), 12));
    const seen: [string, number][] = [];
    const custom = res.producer({
      defaultShards: 5,
      partitioner: (key, shards) => {
        seen.push([key.toString(), shards]);
        return 4;
      },
    });
    expect((await custom.send({ topic: 't', key: 'x', value: 'v' })).shard).toBe(4);
    expect(seen).toEqual([['x', 5]]);
    const broken = res.producer({ partitioner: () => 99 });
    await expect(broken.send({ topic: 't', key: 'x', value: 'v' })).rejects.toMatchObject({ field: 'key' });
  });

  it('sends keyless records to one sticky shard per batch', async () => {
    const producer = res.producer({ defaultShards: 16 });
    const acks = await Promise.all(Array.from({ length: 50 }, (_, i) => producer.send({ topic: 'keyless', value: String(i) })));
    expect(new Set(acks.map((a) => a.shard)).size).toBe(1);
  });
});

describe('sendBatch()', () => {
  it('returns one result per record in input order; bad records fail alone', async () => {
    const producer = res.producer();
    const results = await producer.sendBatch([
      { topic: 'mix', value: 'first', key: 'a' },
      { topic: 'bad topic', value: 'x' },
      { topic: 'mix', value: 42 as unknown as string },
      { topic: 'mix', value: 'second', key: 'b' },
      { topic: 'mix', value: 'third', key: 'a' },
    ]);
    expect(results.map((r) => r.status)).toEqual(['delivered', 'failed', 'failed', 'delivered', 'delivered']);
    const failed = results.filter((r) => r.status === 'failed');
    expect(failed.map((f) => (f.error as InvalidRecordError).field)).toEqual(['topic', 'value']);
    expect(failed.every((f) => f.error instanceof InvalidRecordError)).toBe(true);
    const admin = res.admin();
    const delivered = results.filter((r) => r.status === 'delivered');
    for (const [i, r] of delivered.entries()) {
      const entries = await readStream(admin, r.stream);
      expect(entries.find(([id]) => id === r.id)?.[1][1]).toBe(['first', 'second', 'third'][i]);
    }
  });

  it('refuses a non-array with InvalidRecordError naming `records`; an empty array resolves to []', async () => {
    const producer = res.producer();
    const err = (await producer.sendBatch({ topic: 't', value: 'v' } as unknown as []).catch((e: unknown) => e)) as InvalidRecordError;
    expect(err).toBeInstanceOf(InvalidRecordError);
    expect(err.field).toBe('records');
    expect(err.message).toContain('expects an array of records, got object');
    await expect(producer.sendBatch([])).resolves.toEqual([]);
  });

  it('a batch larger than the buffer waits for room record by record and lands in input order', async () => {
    const producer = res.producer({ bufferMaxBytes: 4096, batchMaxBytes: 1024, maxRecordBytes: 1024, maxBlockMs: 10_000, defaultShards: 1 });
    const values = Array.from({ length: 20 }, (_, i) => `${String(i).padStart(2, '0')}${'x'.repeat(998)}`);
    const results = await producer.sendBatch(values.map((value) => ({ topic: 'big', value })));
    expect(results.map((r) => r.status)).toEqual(values.map(() => 'delivered'));
    const stream = results[0]!.status === 'delivered' ? results[0]!.stream : '';
    const entries = await readStream(res.admin(), stream);
    expect(entries.map(([, fields]) => fields[1])).toEqual(values);
    expect(results.map((r) => r.status === 'delivered' && r.id)).toEqual(entries.map(([id]) => id));
  });

  it('records still waiting for room when close() starts fail with ProducerClosedError; the buffered ones are delivered', async () => {
    const producer = res.producer({ bufferMaxBytes: 4096, batchMaxBytes: 1024, maxRecordBytes: 1024, maxBlockMs: 10_000, defaultShards: 1 });
    await producer.connect();
    const pending = producer.sendBatch(Array.from({ length: 10 }, (_, i) => ({ topic: 'closing', value: `${i}${'y'.repeat(1023 - RECORD_OVERHEAD_BYTES)}` })));
    await producer.close(); // 4 records fit in the buffer (1024 bytes with the per-record overhead each); the other 6 wait for room
    const results = await pending;
    expect(results.map((r) => r.status)).toEqual([...Array(4).fill('delivered'), ...Array(6).fill('failed')]);
    for (const r of results.slice(4)) expect(r.status === 'failed' && r.error).toBeInstanceOf(ProducerClosedError);
    const stream = results[0]!.status === 'delivered' ? results[0]!.stream : '';
    expect(await res.admin().xlen(stream)).toBe(4);
  });

  it('records that cannot be delivered come back as failed results carrying the DeliveryError (compensation off)', async () => {
    const producer = res.producer({ redis: 'redis://127.0.0.1:1', requestTimeoutMs: 200, deliveryTimeoutMs: 400, retryBackoffMs: 50, retryBackoffMaxMs: 100, compensation: { enabled: false } });
    producer.on('error', () => {});
    const results = await producer.sendBatch([
      { topic: 'down', value: 'a' },
      { topic: 'down', value: 'b', shard: -1 },
      { topic: 'down', value: 'c' },
    ]);
    expect(results.map((r) => r.status)).toEqual(['failed', 'failed', 'failed']);
    const errors = results.map((r) => (r.status === 'failed' ? r.error : undefined));
    expect(errors[0]).toBeInstanceOf(DeliveryError);
    expect(errors[1]).toBeInstanceOf(InvalidRecordError);
    expect(errors[2]).toBe(errors[0]); // one batch, one error
    expect(results.every((r) => r.topic === 'down')).toBe(true);
  });
});

describe('produce() and events', () => {
  it('returns at once and reports each batch through a delivery event', async () => {
    const producer = res.producer({ defaultShards: 4 });
    const deliveries: DeliveryEvent[] = [];
    producer.on('delivery', (e) => deliveries.push(e));
    for (let i = 0; i < 1000; i++) expect(producer.produce({ topic: 'ff', key: `k${i}`, value: `v${i}` })).toBeUndefined();
    expect(deliveries).toHaveLength(0); // nothing is sent synchronously
    await producer.flush();
    expect(deliveries.reduce((n, d) => n + d.ids.length, 0)).toBe(1000);
    const admin = res.admin();
    let total = 0;
    for (const d of deliveries) {
      expect(d).toMatchObject({ topic: 'ff', attempts: 1 });
      expect(d.latencyMs).toBeGreaterThanOrEqual(0);
      const entries = await readStream(admin, d.stream);
      const ids = new Set(entries.map(([id]) => id));
      expect(d.ids.every((id) => ids.has(id))).toBe(true);
      total += d.ids.length;
    }
    expect(total).toBe(1000);
    expect(deliveries.length).toBeLessThan(100); // batched, not one call per record
  });

  it('throws InvalidRecordError synchronously and keeps what was accepted', async () => {
    const producer = res.producer();
    producer.produce({ topic: 'p', value: 'good-1' });
    expect(() => producer.produce({ topic: 'p', value: undefined as unknown as string })).toThrow(InvalidRecordError);
    producer.produce({ topic: 'p', value: 'good-2' });
    const deliveries: DeliveryEvent[] = [];
    producer.on('delivery', (e) => deliveries.push(e));
    await producer.flush();
    expect(deliveries.flatMap((d) => d.ids)).toHaveLength(2);
  });

  it('a listener that throws does not break delivery; it is reported as an error event', async () => {
    const producer = res.producer();
    const errors: ProducerError[] = [];
    producer.on('error', (e) => errors.push(e));
    producer.on('delivery', () => {
      throw new Error('listener bug');
    });
    const acks = await Promise.all([producer.send({ topic: 'l', value: 'a' }), producer.send({ topic: 'l', value: 'b' })]);
    expect(acks.map((a) => a.status)).toEqual(['delivered', 'delivered']);
    expect(errors[0]).toBeInstanceOf(ListenerError);
    expect(errors[0]).toMatchObject({ event: 'delivery', code: 'ERR_LISTENER' });
    await producer.send({ topic: 'l', value: 'c' }); // still works afterwards
  });

  it('emits connect and disconnect', async () => {
    const producer = res.producer();
    const seen: string[] = [];
    producer.on('connect', (e) => seen.push(`connect ${e.count}`));
    producer.on('disconnect', () => seen.push('disconnect'));
    await producer.connect();
    expect(seen).toEqual(['connect 1']);
    await producer.close();
    expect(seen).toEqual(['connect 1', 'disconnect']);
  });
});

describe('flush() and close()', () => {
  it('flush resolves only when everything accepted before it is in Redis, even with a long linger', async () => {
    const producer = res.producer({ adaptiveLinger: false, lingerMs: 60_000, defaultShards: 2 });
    const acks: Promise<unknown>[] = [];
    for (let i = 0; i < 10; i++) acks.push(producer.send({ topic: 'f', value: String(i) }));
    producer.produce({ topic: 'f', value: 'ff' });
    let settled = 0;
    for (const a of acks) void a.then(() => settled++);
    await producer.flush();
    await Promise.resolve();
    expect(settled).toBe(10);
    expect(producer.bufferedBytes).toBe(0);
  });

  it('close flushes, then refuses new records with ProducerClosedError', async () => {
    const producer = res.producer();
    const pending = producer.send({ topic: 'c', value: 'before close' });
    producer.produce({ topic: 'c', value: 'also before' });
    await producer.close();
    await expect(pending).resolves.toMatchObject({ status: 'delivered' });
    await expect(producer.send({ topic: 'c', value: 'late' })).rejects.toBeInstanceOf(ProducerClosedError);
    expect(() => producer.produce({ topic: 'c', value: 'late' })).toThrow(ProducerClosedError);
    await expect(producer.connect()).rejects.toBeInstanceOf(ProducerClosedError);
    await producer.close(); // idempotent
  });

  it('leaves a caller-owned client open, and closes its own', async () => {
    const client = adminClient();
    const borrowed = new Producer({ redis: client, namespace: uniqueNamespace() });
    await borrowed.send({ topic: 'own', value: 'x' });
    await borrowed.close();
    expect(await client.ping()).toBe('PONG');
    await client.quit();

    const own = res.producer();
    await own.send({ topic: 'own', value: 'y' });
    const internal = (own as unknown as { client: Redis }).client;
    await own.close();
    expect(internal.status).toBe('end');
  });
});

describe('connection failures', () => {
  it('connect() rejects with a typed error when nothing listens', async () => {
    const producer = res.producer({ redis: 'redis://127.0.0.1:1', requestTimeoutMs: 300, deliveryTimeoutMs: 1000 });
    producer.on('error', () => {});
    await expect(producer.connect()).rejects.toBeInstanceOf(DeliveryError);
  });

  it('a send that cannot reach Redis fails after deliveryTimeoutMs with a DeliveryError and an error event (compensation off)', async () => {
    const producer = res.producer({ redis: 'redis://127.0.0.1:1', requestTimeoutMs: 200, deliveryTimeoutMs: 600, retryBackoffMs: 50, retryBackoffMaxMs: 100, compensation: { enabled: false } });
    const batchErrors: DeliveryError[] = [];
    producer.on('error', (e) => {
      if (e instanceof DeliveryError && e.batch) batchErrors.push(e);
    });
    const retries: number[] = [];
    producer.on('retry', (e) => retries.push(e.attempt));
    const err = (await producer.send({ topic: 'down', value: 'x' }).catch((e: unknown) => e)) as DeliveryError;
    expect(err).toBeInstanceOf(DeliveryError);
    expect(err).toMatchObject({ retriable: true, persisted: 'not' });
    expect(retries.length).toBeGreaterThan(0);
    await eventually(() => batchErrors.length === 1, 'the batch failure event');
    expect(batchErrors[0]!.batch).toMatchObject({ topic: 'down', records: 1 });
  });
});

describe('socket errors', () => {
  it('a second error on one socket (a refused TLS handshake can raise two in one read) does not crash the process', async () => {
    const producer = res.producer();
    producer.on('error', () => {}); // the client reports the first error; not what is tested here
    await producer.connect();
    const client = (producer as unknown as { client: Redis | Cluster }).client;
    const node = client instanceof Cluster ? client.nodes('master')[0]! : client;
    // ioredis listens for a socket's first error only; without a listener Node throws the second.
    expect(() => {
      node.stream.emit('error', new Error('the local verification error'));
      node.stream.emit('error', new Error("the server's alert"));
    }).not.toThrow();
  });
});

describe("acks: 'all'", () => {
  it('acknowledges only once WAIT saw the batch on a replica; without replicas the record is parked, not acked', async () => {
    const producer = res.producer({ acks: 'all', requestTimeoutMs: 200, deliveryTimeoutMs: 1_000, retryBackoffMs: 20, retryBackoffMaxMs: 50, compensation: { replay: { enabled: false } } });
    const retries: string[] = [];
    producer.on('retry', (e) => retries.push(e.error.code));
    const ack = await producer.send({ topic: 'acked', key: 'k', value: 'v' });
    if (redisTarget().kind === 'cluster') {
      // Every master of the test cluster has one replica.
      expect(ack.status).toBe('delivered');
    } else {
      // A standalone server has no replica: WAIT never reaches one.
      expect(ack).toMatchObject({ status: 'spilled', persisted: 'possibly' });
      expect(ack.status === 'spilled' && ack.error.code).toBe('ERR_NOT_ENOUGH_REPLICAS');
      expect(retries.length).toBeGreaterThan(0);
      expect(retries.every((c) => c === 'ERR_NOT_ENOUGH_REPLICAS')).toBe(true);
      // The record is in the stream once (written by the first attempt; retries were recognised).
      expect(await res.admin().xlen(ack.stream)).toBe(1);
    }
  });
});
