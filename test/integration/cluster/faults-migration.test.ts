/**
 * Cluster fault: the slot of a busy shard is migrated by hand to another master
 * while the producer keeps writing to it. Every batch is one script over the shard's stream and the
 * producer's idempotence state, both in that slot, so during the move the producer's client meets
 * every redirection Redis Cluster has:
 *   - TRYAGAIN while one key has moved and the other has not (a multi-key call can run on neither node),
 *   - ASK once both keys are on the destination and the slot is still MIGRATING/IMPORTING,
 *   - MOVED once the slot is assigned to the destination.
 * The move is `migrateSlot` (src/admin/migrate-slot.ts, what `balanceTopic` runs), paced through its
 * step callback so each phase lasts long enough to be seen. The test runs its own cluster (not the
 * project's shared one) and ends with the invariant: every value in its stream exactly once.
 */
import { Cluster, Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DeliveryEvent, ProducerError, RetryEvent, SendAck, SpillEvent } from '../../../src/index.js';
import { ClusterNodes } from '../../../src/admin/cluster-nodes.js';
import { migrateSlot } from '../../../src/admin/migrate-slot.js';
import { eventually, Resources, uniqueNamespace } from '../../support/helpers.js';
import { expectNothingLostNothingDuplicated } from '../../support/invariant.js';
import { startRedisCluster, type RedisClusterHandle } from '../../support/redis-cluster.js';

const HOST = '127.0.0.1';
/** How long the slot stays open with every key on one side (before the first key moves, after the last). */
const HOLD_MS = 250;
/**
 * How long the stream and the producer state stay on different nodes. Longer than ioredis's own
 * TRYAGAIN budget (a retry every `retryDelayOnTryAgain` = 100 ms, at most `maxRedirections` = 16 hops).
 */
const SPLIT_HOLD_MS = 2_500;

let cluster: RedisClusterHandle;
const res = new Resources();
const clients: (Redis | Cluster)[] = [];
const closers: (() => void)[] = [];

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1, nodeTimeoutMs: 1_000 });
});

afterEach(async () => {
  await res.closeAll();
  for (const c of clients.splice(0)) c.disconnect();
  for (const close of closers.splice(0)) close();
});

afterAll(async () => {
  await cluster?.stop();
});

/** A direct connection to one node, closed after the test. */
function node(port: number): Redis {
  const r = new Redis({ host: HOST, port, maxRetriesPerRequest: 1, lazyConnect: true });
  clients.push(r);
  return r;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** `errorstat_<PREFIX>:count=<n>` lines of `INFO errorstats`, as prefix → count. */
function errorStats(info: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of info.matchAll(/^errorstat_(\S+?):count=(\d+)/gm)) out.set(m[1]!, Number(m[2]));
  return out;
}

interface Sent {
  value: string;
  ack: SendAck | undefined;
}

describe('faults: a busy shard’s slot is migrated to another master', () => {
  it('keeps producing through TRYAGAIN, ASK and MOVED; the slot ends on the destination; every value lands exactly once', async () => {
    const namespace = uniqueNamespace();
    const topic = 'migrating';
    const shards = 4;
    const stream = `{${namespace}:${topic}:0}`;
    const producer = res.producer({
      redis: { cluster: cluster.startupNodes },
      namespace,
      defaultShards: shards,
      requestTimeoutMs: 3_000,
      deliveryTimeoutMs: 15_000,
      retryBackoffMs: 20,
      retryBackoffMaxMs: 200,
      compensation: { replay: { intervalMs: 100, leaseMs: 30_000 } },
    });
    const errors: ProducerError[] = [];
    producer.on('error', (e) => errors.push(e));
    const retries: RetryEvent[] = [];
    producer.on('retry', (e) => retries.push(e));
    const spills: SpillEvent[] = [];
    producer.on('spill', (e) => spills.push(e));
    const deliveries: (DeliveryEvent & { at: number })[] = [];
    producer.on('delivery', (e) => deliveries.push({ ...e, at: performance.now() }));
    await producer.connect();

    const admin = new Cluster(cluster.startupNodes, { redisOptions: { maxRetriesPerRequest: 1 } });
    clients.push(admin);
    const slot = Number(await admin.cluster('KEYSLOT', stream));
    const srcPort = await cluster.masterOfSlot(slot);
    const dstPort = (await cluster.masters()).find((p) => p !== srcPort)!;
    const masterPorts = await cluster.masters();
    const nodes = await ClusterNodes.load(admin);
    closers.push(() => nodes.close());
    const idOf = (port: number) => nodes.nodes.find((n) => n.port === port)!.id;

    // Producers: 50 callers awaiting send() on shard 0, plus a produce() now and then, until told to stop.
    const sent: Sent[] = [];
    let stop = false;
    let acked = 0;
    const failures: unknown[] = [];
    const callers = Array.from({ length: 50 }, async (_, c) => {
      for (let round = 0; !stop; round++) {
        if (round % 10 === c % 10) {
          const s: Sent = { value: `p${sent.length}`, ack: undefined };
          sent.push(s);
          producer.produce({ topic, shard: 0, value: s.value });
        }
        const s: Sent = { value: `s${sent.length}`, ack: undefined };
        sent.push(s);
        try {
          s.ack = await producer.send({ topic, shard: 0, value: s.value });
          acked++;
        } catch (err) {
          failures.push(err);
        }
        await sleep(5);
      }
    });

    // Let it run a while before the move, and reset the error counters so they count only the move.
    await eventually(() => acked >= 300, '300 sends acknowledged before the migration', 10_000);
    await Promise.all(masterPorts.map((p) => node(p).config('RESETSTAT')));
    const deliveredBetween = (from: number, to: number) => deliveries.filter((d) => d.at >= from && d.at < to).reduce((n, d) => n + d.ids.length, 0);
    const t = { open: 0, split: 0, ask: 0, assigned: 0 };
    const keysMoved: string[] = [];
    // The move itself is src/admin/migrate-slot.ts (what balanceTopic runs), paced from its steps:
    // 1. Open the slot on both sides (the importing side first, as redis-cli does); hold it with
    //    both keys still on the source, so they are served there.
    // 2. Move the keys one at a time. The first one splits the pair: the batch script (2 keys) can run
    //    on neither node (TRYAGAIN). Held longer than ioredis's own TRYAGAIN budget, so the producer's
    //    retry has to carry the batch over. Once both keys are on the destination, the source answers ASK.
    // 3. Assign the slot to the destination: on the destination, the source, then every other master.
    t.open = performance.now();
    const moved = await migrateSlot(
      nodes,
      { slot, from: idOf(srcPort), to: idOf(dstPort) },
      {
        keysPerMigrate: 1,
        onStep: async (step) => {
          if (step.step === 'opened') await sleep(HOLD_MS);
          if (step.step === 'keys-moved') {
            keysMoved.push(...step.keys);
            if (keysMoved.length === 1) {
              t.split = performance.now();
              await sleep(SPLIT_HOLD_MS);
            }
          }
          if (step.step === 'drained') {
            t.ask = performance.now();
            await sleep(HOLD_MS);
          }
          if (step.step === 'assigned') t.assigned = performance.now();
        },
      },
    );
    expect(moved).toBe(2);

    // Keep producing after the move, then stop and let everything settle.
    const ackedAtAssign = acked;
    await eventually(() => acked >= ackedAtAssign + 300, '300 more sends acknowledged after the migration', 10_000);
    stop = true;
    await Promise.all(callers);
    await producer.flush();
    const delivered = {
      before: deliveredBetween(0, t.open),
      migrating: deliveredBetween(t.open, t.split),
      split: deliveredBetween(t.split, t.ask),
      ask: deliveredBetween(t.ask, t.assigned),
      after: deliveredBetween(t.assigned, Infinity),
    };

    // The slot is served by the destination now, everywhere, with both keys in it.
    await cluster.waitUntilOk(10_000);
    await eventually(async () => (await cluster.masterOfSlot(slot)) === dstPort, `slot ${slot} served by ${dstPort}`, 5_000);
    expect(Number(await node(srcPort).cluster('COUNTKEYSINSLOT', slot))).toBe(0);
    expect(Number(await node(dstPort).cluster('COUNTKEYSINSLOT', slot))).toBe(2);
    expect([...keysMoved].sort()).toEqual([stream, `${stream}:p:${producer.sessionId}`].sort());

    // What the producer's client met on the way: every error reply is counted by prefix on each
    // master. (ERR: ioredis sends CLIENT SETINFO on each new connection, unknown to Redis 7.0.)
    const role = (p: number) => (p === srcPort ? 'src' : p === dstPort ? 'dst' : 'other');
    const stats = new Map<string, number>();
    const perNode: string[] = [];
    for (const p of masterPorts) {
      const s = errorStats(await node(p).info('errorstats'));
      s.delete('ERR');
      perNode.push(`${role(p)} ${JSON.stringify(Object.fromEntries(s))}`);
      for (const [prefix, n] of s) stats.set(prefix, (stats.get(prefix) ?? 0) + n);
    }
    const retryCodes = new Map<string, number>();
    for (const r of retries) {
      const what = `${r.error.code}: ${r.error.message.replace(/ Multiple keys.*/, '')}`;
      retryCodes.set(what, (retryCodes.get(what) ?? 0) + 1);
    }
    console.log(
      `slot ${slot} moved ${srcPort} → ${dstPort} in ${Math.round(t.assigned - t.open)} ms (keys in order: ${keysMoved.join(', ')})\n` +
        `records delivered by phase: ${JSON.stringify(delivered)}; values: ${sent.length}\n` +
        `error replies by node: ${perNode.join('; ')}\n` +
        `producer retry events: ${JSON.stringify(Object.fromEntries(retryCodes))}; spills: ${spills.length}`,
    );

    expect(failures).toEqual([]);
    expect(errors).toEqual([]);
    // Every kind of redirection happened; ioredis followed them for the producer (EVALSHA included:
    // the destination had never seen the script, NOSCRIPT made ioredis fall back to EVAL, via ASK too).
    expect(stats.get('TRYAGAIN') ?? 0).toBeGreaterThan(0);
    expect(stats.get('ASK') ?? 0).toBeGreaterThan(0);
    expect(stats.get('MOVED') ?? 0).toBeGreaterThan(0);
    // ioredis retries TRYAGAIN by itself every retryDelayOnTryAgain (100 ms), but a command gives up
    // after maxRedirections (16) hops: the split outlasts that, so the producer retried on its own.
    expect(retries.length).toBeGreaterThan(0);
    for (const r of retries) expect({ retriable: r.error.retriable, message: r.error.message }).toMatchObject({ retriable: true, message: expect.stringMatching(/TRYAGAIN|ASK|MOVED/) });
    // It kept delivering while the slot was open, through ASK, and after the move; nothing was parked.
    expect(delivered.migrating).toBeGreaterThan(0);
    expect(delivered.ask).toBeGreaterThan(0);
    expect(delivered.after).toBeGreaterThan(0);
    expect(spills).toEqual([]);
    expect(sent.filter((s) => s.value.startsWith('s') && s.ack?.status !== 'delivered')).toEqual([]);
    expect(sent.length).toBeGreaterThan(1_000);

    await expectNothingLostNothingDuplicated({ admin, producer, namespace, topic, shards, sent });
  });
});
