/**
 * Each record delivered once, or parked and replayed once, in order, with a signal for every
 * failure: the faults that used to break it, one by one, against a real redis-server.
 */
import { mkdtempSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DeliveryError, InvalidRecordError, type Producer, type ProducerConfig, type SendAck } from '../../../src/index.js';
import { encodeRecords } from '../../../src/compensation/journal.js';
import { targetId } from '../../../src/connection.js';
import { compensationKeys } from '../../../src/keys.js';
import { loadScripts, NO_TRIM } from '../../../src/scripts.js';
import { encodeBatch } from '../../../src/batch-codec.js';
import { FaultProxy } from '../../support/fault-proxy.js';
import { startRedisServer } from '../../support/redis-server.js';
import { connects, eventually, readStream, redisUrl, Resources, uniqueNamespace } from '../../support/helpers.js';
import { expectNothingLostNothingDuplicated } from '../../support/invariant.js';

const res = new Resources();
afterEach(() => res.closeAll());

const nsOf = (p: Producer) => (p as unknown as { config: { namespace: string } }).config.namespace;
const valuesOf = async (stream: string) => (await readStream(res.admin(), stream)).map(([, fields]) => String(fields[fields.indexOf('payload') + 1]));

async function proxied(): Promise<FaultProxy> {
  const target = new URL(redisUrl());
  const proxy = await FaultProxy.start({ host: target.hostname, port: Number(target.port) });
  res.defer(() => proxy.stop());
  return proxy;
}

/** Options that make a fault play out in about a second. */
const fast: ProducerConfig = { requestTimeoutMs: 300, deliveryTimeoutMs: 900, retryBackoffMs: 20, retryBackoffMaxMs: 50 };

describe('one record, one entry', () => {
  it('a restart with the same producerId starts a new session: every record is written, none is taken for an old one', async () => {
    const namespace = uniqueNamespace();
    const config: ProducerConfig = { namespace, producerId: 'svc-1', topics: { t: { shards: 1 } } };
    const acks: SendAck[] = [];
    for (const life of [1, 2]) {
      const producer = res.producer(config);
      for (let i = 1; i <= 3; i++) acks.push(await producer.send({ topic: 't', value: `life${life}-${i}` }));
      await producer.close();
    }
    expect(acks.map((a) => a.status)).toEqual(Array(6).fill('delivered'));
    expect(new Set(acks.map((a) => (a.status === 'delivered' ? a.id : ''))).size).toBe(6);
    expect(await valuesOf(`{${namespace}:t:0}`)).toEqual(['life1-1', 'life1-2', 'life1-3', 'life2-1', 'life2-2', 'life2-3']);
  });

  it('a batch whose reply was lost stays "possibly persisted" although later attempts fail before sending; replay finds it landed', async () => {
    const proxy = await proxied();
    const producer = res.producer({ ...fast, redis: proxy.url, topics: { t: { shards: 1 } }, compensation: { replay: { enabled: false } } });
    producer.on('error', () => {});
    await producer.connect();
    const lost = proxy.loseNextReply('lost-once');
    const sending = producer.send({ topic: 't', value: 'lost-once' });
    await lost;
    proxy.refuse(); // every later attempt fails while connecting: nothing more is sent
    const ack = await sending;
    expect(ack).toMatchObject({ status: 'spilled', persisted: 'possibly' });
    proxy.pass();
    await eventually(() => connects(producer), 'the producer reconnects');
    await expect(producer.compensation.replayNow()).resolves.toMatchObject({ alreadyDelivered: 1, replayed: 0 });
    expect(await valuesOf(`{${nsOf(producer)}:t:0}`)).toEqual(['lost-once']);
  });

  it('a replay whose bookkeeping reply was lost is not replayed again by the next claimer', async () => {
    const proxy = await proxied();
    const config: ProducerConfig = { ...fast, redis: proxy.url, topics: { t: { shards: 1 } }, compensation: { replay: { enabled: false, leaseMs: 1_000 } } };
    const producer = res.producer(config);
    producer.on('error', () => {});
    const admin = res.admin();
    const stream = `{${nsOf(producer)}:t:0}`;
    await admin.set(stream, 'not a stream');
    expect(await producer.send({ topic: 't', value: 'once' })).toMatchObject({ status: 'spilled', persisted: 'not' });
    await admin.del(stream);
    // The replay writes the record; the call that removes its entry runs, its reply is lost.
    const lost = proxy.loseNextReply('complete');
    await producer.compensation.replayNow();
    await lost;
    // The lease runs out; the next round claims the entry again and asks the shard first.
    await eventually(
      async () => {
        await producer.compensation.replayNow().catch(() => undefined);
        return (await producer.compensation.stats('t').catch(() => undefined))?.pending === 0;
      },
      'the entry is settled',
      10_000,
    );
    expect(await valuesOf(stream)).toEqual(['once']);
  });

  it('a park whose reply was lost also goes to the journal; that copy is not replayed again after the first one was', async () => {
    const namespace = uniqueNamespace();
    const proxy = await proxied();
    const journalDir = mkdtempSync(join(tmpdir(), 'rsp-test-journal-'));
    const parking = res.producer({ ...fast, namespace, redis: proxy.url, topics: { t: { shards: 1 } }, compensation: { journalDir, replay: { enabled: false } } });
    parking.on('error', () => {});
    const admin = res.admin();
    const stream = `{${namespace}:t:0}`;
    await admin.set(stream, 'not a stream');
    await parking.connect();
    const lost = proxy.loseNextReply('"parkedAt"');
    const ack = await parking.send({ topic: 't', value: 'parked-twice' });
    await lost;
    expect(ack).toMatchObject({ status: 'spilled', parkedIn: 'journal' });
    expect(await parking.compensation.journaled()).toBe(1);
    // Another producer replays the copy in Redis first…
    await admin.del(stream);
    const other = res.producer({ namespace, topics: { t: { shards: 1 } }, compensation: { replay: { enabled: false } } });
    await eventually(async () => (await other.compensation.replayNow()).replayed === 1, 'the Redis copy is replayed');
    // …then the first one drains its journal: the copy is recognised and dropped.
    await eventually(() => connects(parking), 'the parking producer reconnects');
    await expect(parking.compensation.replayNow()).resolves.toMatchObject({ drained: 1, replayed: 0 });
    expect(await parking.compensation.stats('t')).toMatchObject({ pending: 0, dead: 0 });
    expect(await valuesOf(stream)).toEqual(['parked-twice']);
  });

  it('a journal is drained only into the Redis it was written for', async () => {
    const namespace = uniqueNamespace();
    const journalDir = mkdtempSync(join(tmpdir(), 'rsp-test-journal-'));
    const elsewhere = 'redis://127.0.0.1:1';
    const dir = join(journalDir, namespace, targetId(elsewhere));
    mkdirSync(dir, { recursive: true });
    const entry = { v: 1, id: 's:0:000000000001:000000', topic: 't', shard: 0, fields: ['payload', 'x'], producerId: 's', seq: 1, persisted: 'not', attempts: 0, lastError: '', parkedAt: Date.now() };
    writeFileSync(join(dir, 'journal-s.log'), encodeRecords([Buffer.from(JSON.stringify(entry))]));
    const producer = res.producer({ namespace, topics: { t: { shards: 1 } }, compensation: { journalDir, replay: { enabled: false } } });
    await producer.connect();
    await expect(producer.compensation.replayNow()).resolves.toMatchObject({ drained: 0, replayed: 0 });
    expect(readdirSync(dir)).toEqual(['journal-s.log']);
  });

  it('a drain that fails gives back every journal file it claimed, so the next round drains them all', async () => {
    const namespace = uniqueNamespace();
    const proxy = await proxied();
    const journalDir = mkdtempSync(join(tmpdir(), 'rsp-test-journal-'));
    const dir = join(journalDir, namespace, targetId(proxy.url));
    mkdirSync(dir, { recursive: true });
    for (const [file, seq] of [
      ['journal-a.log', 1],
      ['journal-b.log', 2],
    ] as const) {
      const entry = {
        v: 1,
        id: `s:0:${String(seq).padStart(12, '0')}:000000`,
        topic: 't',
        shard: 0,
        fields: ['payload', file],
        producerId: 's',
        seq,
        persisted: 'not',
        attempts: 0,
        lastError: '',
        parkedAt: Date.now() + seq,
      };
      writeFileSync(join(dir, file), encodeRecords([Buffer.from(JSON.stringify(entry))]));
    }
    const producer = res.producer({ ...fast, namespace, redis: proxy.url, topics: { t: { shards: 1 } }, compensation: { journalDir, replay: { enabled: false } } });
    producer.on('error', () => {});
    await producer.connect();
    const lost = proxy.loseNextReply('"parkedAt"'); // the first file's park gets no answer: the drain fails
    await expect(producer.compensation.replayNow()).rejects.toBeDefined();
    await lost;
    await eventually(() => connects(producer), 'the producer reconnects');
    await expect(producer.compensation.replayNow()).resolves.toMatchObject({ replayed: 2 });
    expect(await producer.compensation.journaled()).toBe(0);
    expect(await valuesOf(`{${namespace}:t:0}`)).toEqual(['journal-a.log', 'journal-b.log']);
  });

  it('an undecodable journal record is set aside and reported; the rest is replayed', async () => {
    const namespace = uniqueNamespace();
    const journalDir = mkdtempSync(join(tmpdir(), 'rsp-test-journal-'));
    const dir = join(journalDir, namespace, targetId(redisUrl()));
    mkdirSync(dir, { recursive: true });
    const good = {
      v: 1,
      id: 's:0:000000000001:000000',
      topic: 't',
      shard: 0,
      fields: ['payload', 'kept'],
      producerId: 's',
      seq: 1,
      persisted: 'not',
      attempts: 0,
      lastError: '',
      parkedAt: Date.now(),
    };
    writeFileSync(join(dir, 'journal-s.log'), encodeRecords([Buffer.from('{"v":99}'), Buffer.from(JSON.stringify(good))]));
    const producer = res.producer({ namespace, redis: redisUrl(), topics: { t: { shards: 1 } }, compensation: { journalDir, replay: { enabled: false } } });
    await producer.connect();
    // The round reports the unreadable record, and still replays the readable one.
    await expect(producer.compensation.replayNow()).rejects.toMatchObject({ code: 'ERR_JOURNAL_UNREADABLE' });
    expect(await valuesOf(`{${namespace}:t:0}`)).toEqual(['kept']);
    await expect(producer.compensation.replayNow()).resolves.toMatchObject({ drained: 0, replayed: 0 });
    expect(readdirSync(dir).filter((n) => n.startsWith('unreadable-'))).toHaveLength(1);
  });
});

describe('replay keeps order', () => {
  it("a shard's parked records come back in their original order, also after a failed replay round", async () => {
    const producer = res.producer({ topics: { t: { shards: 2 } }, lingerMs: 0, compensation: { replay: { enabled: false } } });
    const admin = res.admin();
    const keyed = await producer.send({ topic: 't', key: 'k', value: 'probe' });
    const shard = keyed.shard;
    const stream = `{${nsOf(producer)}:t:${shard}}`;
    await admin.del(stream);
    await admin.set(stream, 'not a stream');
    // One at a time, so each record is a batch of its own and parked on its own.
    for (let i = 1; i <= 8; i++) expect(await producer.send({ topic: 't', key: 'k', value: `k${i}` })).toMatchObject({ status: 'spilled' });
    for (let i = 1; i <= 3; i++) expect(await producer.send({ topic: 't', shard, value: `s${i}` })).toMatchObject({ status: 'spilled' });
    expect(await producer.compensation.replayNow()).toMatchObject({ retryLater: 11 });
    await admin.del(stream);
    await admin.del(compensationKeys(nsOf(producer), 't').hold); // the backoff would lift it too
    expect(await producer.compensation.replayNow()).toMatchObject({ replayed: 11 });
    expect(await valuesOf(stream)).toEqual(['k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7', 'k8', 's1', 's2', 's3']);
  });

  it("a record parked for a topic another producer configures is replayed with the topic's stored shard count, not dead-lettered", async () => {
    const namespace = uniqueNamespace();
    const owner = res.producer({ namespace, topics: { wide: { shards: 4 } }, compensation: { replay: { enabled: false } } });
    const admin = res.admin();
    await owner.send({ topic: 'wide', shard: 3, value: 'first' });
    await admin.del(`{${namespace}:wide:3}`);
    await admin.set(`{${namespace}:wide:3}`, 'not a stream');
    expect(await owner.send({ topic: 'wide', shard: 3, value: 'parked' })).toMatchObject({ status: 'spilled' });
    await admin.del(`{${namespace}:wide:3}`);
    const stranger = res.producer({ namespace, defaultShards: 1, compensation: { replay: { enabled: false } } });
    await stranger.connect();
    await expect(stranger.compensation.replayNow()).resolves.toMatchObject({ replayed: 1, deadLettered: 0 });
    expect(await valuesOf(`{${namespace}:wide:3}`)).toEqual(['parked']);
  });
});

describe('no silent outcome', () => {
  it('a produced record that fails with compensation off and no error listener makes flush() and close() reject, and warns', async () => {
    const producer = res.producer({ topics: { t: { shards: 1 } }, compensation: { enabled: false } });
    await res.admin().set(`{${nsOf(producer)}:t:0}`, 'not a stream');
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      producer.produce({ topic: 't', value: 'would vanish' });
      await expect(producer.flush()).rejects.toBeInstanceOf(DeliveryError);
      await eventually(() => warnings.some((w) => w.name === 'DeliveryWarning'), 'a process warning');
      producer.produce({ topic: 't', value: 'would vanish too' });
      await expect(producer.close()).rejects.toMatchObject({ code: 'ERR_REDIS_WRONGTYPE' });
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('close({ timeoutMs }) does not wait past timeoutMs for a replay round stuck on a black-holed connection', async () => {
    const proxy = await proxied();
    const producer = res.producer({ redis: proxy.url, requestTimeoutMs: 2_000, deliveryTimeoutMs: 4_000, compensation: { replay: { enabled: false } } });
    producer.on('error', () => {});
    await producer.connect();
    proxy.blackhole();
    const round = producer.compensation.replayNow().catch(() => undefined); // its first call never answers
    const started = performance.now();
    await producer.close({ timeoutMs: 300 });
    expect(performance.now() - started).toBeLessThan(300 + 250);
    await round;
  });

  it('waitForRoom() for more than any record may take rejects instead of waiting forever', async () => {
    const producer = res.producer({ bufferMaxBytes: 65_536, maxRecordBytes: 1_024, batchMaxBytes: 1_024 });
    await expect(producer.waitForRoom(70_000)).rejects.toBeInstanceOf(InvalidRecordError);
    await expect(producer.waitForRoom(1_024)).resolves.toBeUndefined();
  });

  it('every send under a black-holed connection settles within deliveryTimeoutMs plus the parking allowance', async () => {
    const proxy = await proxied();
    const producer = res.producer({ ...fast, redis: proxy.url, topics: { t: { shards: 4 } }, maxInFlight: 1, compensation: { replay: { enabled: false } } });
    producer.on('error', () => {});
    await producer.connect();
    proxy.blackhole();
    const started = performance.now();
    const settled: number[] = [];
    const sent = Array.from({ length: 40 }, (_, i) => ({ value: `bh-${i}`, ack: undefined as SendAck | undefined }));
    await Promise.all(
      sent.map(async (s, i) => {
        s.ack = await producer.send({ topic: 't', key: `k${i}`, value: s.value });
        settled.push(performance.now() - started);
      }),
    );
    const allowance = 2 * (fast.requestTimeoutMs ?? 0) + 250;
    expect(Math.max(...settled)).toBeLessThanOrEqual((fast.deliveryTimeoutMs ?? 0) + allowance);
    expect(sent.every((s) => s.ack?.status === 'spilled')).toBe(true);
    proxy.pass();
    await expectNothingLostNothingDuplicated({ admin: res.admin(), producer, namespace: nsOf(producer), topic: 't', shards: 4, sent });
  });
});

describe("acks: 'all' without enough replicas", () => {
  it('fails fast instead of blocking the connection with WAITs: other calls on it (parking) still get through', async () => {
    // A server of its own (no replica), so its command counts are this test's alone. Each WAIT
    // would hold the producer's one connection for half a request deadline, and everything else on
    // it (here: parking) would queue behind them.
    const server = await startRedisServer();
    res.defer(() => server.stop());
    const url = `redis://127.0.0.1:${server.port}`;
    const producer = res.producer({
      redis: url,
      acks: 'all',
      requestTimeoutMs: 400,
      deliveryTimeoutMs: 1_200,
      retryBackoffMs: 10,
      retryBackoffMaxMs: 20,
      topics: { t: { shards: 16 } },
      compensation: { replay: { enabled: false } },
    });
    await producer.connect();
    const acks = await Promise.all(Array.from({ length: 64 }, (_, i) => producer.send({ topic: 't', key: `k${i}`, value: `v${i}` })));
    expect(acks.filter((a) => a.status !== 'spilled' || a.parkedIn !== 'redis')).toEqual([]);
    expect(acks.some((a) => a.status === 'spilled' && a.error.code === 'ERR_NOT_ENOUGH_REPLICAS')).toBe(true);
    // The server said it has no replica: no batch waited for one.
    const stats = String(await res.admin(url).info('commandstats'));
    expect(/cmdstat_wait:calls=(\d+)/.exec(stats)?.[1] ?? '0').toBe('0');
  });
});

describe('the batch script fails before its first write', () => {
  it('refuses a trim threshold XTRIM would refuse, and more fields than one XADD can take, writing nothing', async () => {
    const admin = res.admin();
    const scripts = loadScripts(admin);
    const stream = `{${uniqueNamespace()}:t:0}`;
    await expect(scripts.publishBatch(stream, ['MAXLEN', '~', 'abc'], undefined, 2, encodeValues(['a', 'b']), undefined).catch((e: Error) => e.message)).resolves.toContain('ERR_RSP_ARGS');
    // 4,000 fields: one XADD of them would pass unpack()'s limit, so the whole call is refused.
    const wide = Array.from({ length: 4_000 }, (_, i) => [`h:${i}`, 'v']).flat();
    const args = encodeBatch([['payload', 'a'], wide]);
    expect(args).toEqual(['r', 1, 1, 'payload', 'a', 1, 4_000, ...wide.filter((_, i) => i % 2 === 0), ...wide.filter((_, i) => i % 2 === 1)]);
    await expect(scripts.publishBatch(stream, NO_TRIM, undefined, 2, args, undefined).catch((e: Error) => e.message)).resolves.toMatch(/^ERR_RSP_ARGS bad run at argument 13/);
    expect(await admin.exists(stream)).toBe(0);
  });

  it('answers a repeated batch with its own ids only, and writes again so WAIT covers it', async () => {
    const admin = res.admin();
    const scripts = loadScripts(admin);
    const stream = `{${uniqueNamespace()}:t:0}`;
    const mine = { stateKey: `${stream}:p:mine`, seq: 1, stateTtlMs: 60_000 };
    const first = await scripts.publishBatch(stream, NO_TRIM, mine, 3, encodeValues(['a', 'b', 'c']), undefined);
    const ids = Array.from({ length: 3 }, (_, i) => first.idAt(i));
    await scripts.publishBatch(stream, NO_TRIM, { stateKey: `${stream}:p:other`, seq: 1, stateTtlMs: 60_000 }, 2, encodeValues(['x', 'y']), undefined);
    await admin.xdel(stream, ids[0]!); // trimmed since
    const again = await scripts.publishBatch(stream, NO_TRIM, { ...mine, stateTtlMs: 120_000 }, 3, encodeValues(['a', 'b', 'c']), undefined);
    expect(Array.from({ length: again.count }, (_, i) => again.idAt(i))).toEqual(ids.slice(1));
    expect(await admin.pttl(mine.stateKey)).toBeGreaterThan(60_000);
  });
});

/** `publish-batch` arguments for plain values. */
function encodeValues(values: string[]): (string | Buffer | number)[] {
  return encodeBatch(values.map((value) => ['payload', value]));
}
