/**
 * Redis Cluster failovers while producing: a master SIGKILLed mid-stream and its replica promoted, and a manual `CLUSTER FAILOVER`.
 * Each test starts its own cluster (it kills or demotes nodes, so never the project's shared one)
 * and ends with the invariant: every acked record in its stream exactly once, every other record in
 * the stream or parked and replayed, nothing lost, nothing duplicated.
 */
import { randomUUID } from 'node:crypto';
import { Cluster, Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Producer, ProducerConfig, ProducerError, ReplayEvent, RetryEvent, SendAck, SpillEvent } from '../../../src/index.js';
import { eventually, Resources, uniqueNamespace } from '../../support/helpers.js';
import { expectNothingLostNothingDuplicated } from '../../support/invariant.js';
import { startRedisCluster, type ClusterNodeProcess, type RedisClusterHandle } from '../../support/redis-cluster.js';

const res = new Resources();
let cluster: RedisClusterHandle;
let admin: Cluster;

beforeEach(async () => {
  // cluster-node-timeout 1000 ms: a killed master is failed over in about two seconds.
  cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1, nodeTimeoutMs: 1_000 });
  admin = new Cluster(cluster.startupNodes, { redisOptions: { maxRetriesPerRequest: 1 } });
  admin.on('error', () => {}); // the node we kill makes it report connection errors until it refreshes
});

afterEach(async () => {
  await res.closeAll();
  admin?.disconnect();
  await cluster?.stop();
});

/** Runs one command on one node over a short-lived connection. */
async function onNode<T>(port: number, command: string, ...args: (string | number)[]): Promise<T> {
  const r = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  r.on('error', () => {});
  try {
    await r.connect();
    return (await r.call(command, ...args)) as T;
  } finally {
    r.disconnect();
  }
}

const nodeOn = (port: number): ClusterNodeProcess => cluster.nodes.find((n) => n.port === port)!;

/** The replicas of the master on `masterPort` (their `INFO replication` names it). */
async function replicasOf(masterPort: number): Promise<ClusterNodeProcess[]> {
  const found: ClusterNodeProcess[] = [];
  for (const n of cluster.nodes) {
    if (n.port === masterPort || n.process.exitCode !== null || n.process.signalCode !== null) continue;
    const info = await onNode<string>(n.port, 'INFO', 'replication');
    if (Number(/master_port:(\d+)/.exec(info)?.[1]) === masterPort) found.push(n);
  }
  return found;
}

/** The master that serves shard `shard` of the topic now (the stream key is the hash tag). */
async function masterOfShard(namespace: string, topic: string, shard: number): Promise<number> {
  const slot = Number(await admin.cluster('KEYSLOT', `{${namespace}:${topic}:${shard}}`));
  return cluster.masterOfSlot(slot);
}

interface Sent {
  value: string;
  ack: SendAck | undefined;
}

interface Observed {
  retries: RetryEvent[];
  spills: SpillEvent[];
  replays: ReplayEvent[];
  errors: ProducerError[];
}

function observe(producer: Producer): Observed {
  const o: Observed = { retries: [], spills: [], replays: [], errors: [] };
  producer.on('retry', (e) => o.retries.push(e));
  producer.on('spill', (e) => o.spills.push(e));
  producer.on('replay', (e) => o.replays.push(e));
  producer.on('error', (e) => o.errors.push(e));
  return o;
}

/**
 * `callers` concurrent callers, each awaiting one `send()` at a time, with random keys and unique
 * values `<prefix><i>`: at least `total` sends, and more until `keepGoing()` turns false, so the
 * fault always happens mid-stream however fast the sends are.
 */
async function produce(
  producer: Producer,
  topic: string,
  prefix: string,
  opts: { total: number; callers: number; keepGoing: () => boolean; onSettled: (settled: number) => void },
): Promise<{ sent: Sent[]; failures: unknown[] }> {
  const sent: Sent[] = [];
  const failures: unknown[] = [];
  let settled = 0;
  await Promise.all(
    Array.from({ length: opts.callers }, async () => {
      while (sent.length < opts.total || opts.keepGoing()) {
        const s: Sent = { value: `${prefix}${sent.length}`, ack: undefined };
        sent.push(s);
        try {
          s.ack = await producer.send({ topic, key: randomUUID(), value: s.value });
        } catch (err) {
          failures.push(err);
        }
        opts.onSettled(++settled);
      }
    }),
  );
  return { sent, failures };
}

/** Small per-call deadline and backoff, so batches hit by the failover retry quickly; generous delivery timeout. */
const faultTolerant = (namespace: string, extra: Partial<ProducerConfig> = {}): ProducerConfig => ({
  redis: { cluster: cluster.startupNodes },
  namespace,
  defaultShards: 16,
  requestTimeoutMs: 500,
  retryBackoffMs: 20,
  retryBackoffMaxMs: 200,
  // Long enough that the records stuck behind the failover (~2 s) are delivered, not parked.
  deliveryTimeoutMs: 10_000,
  compensation: { replay: { intervalMs: 100, leaseMs: 15_000 } },
  ...extra,
});

const count = (acks: (SendAck | undefined)[], status: SendAck['status']) => acks.filter((a) => a?.status === status).length;

describe('faults: Redis Cluster failover', () => {
  it('a master SIGKILLed mid-stream, its replica promoted: with acks "all" every acked record survives, each record lands once', async () => {
    const namespace = uniqueNamespace();
    const topic = 'kill';
    const shards = 16;
    // Redis replicates asynchronously: with `acks: 'leader'` a batch is acked as soon as the master
    // ran it, and a SIGKILLed master can take such acknowledged writes with it before its replica
    // got them (the documented limit of `leader`). `acks: 'all'` acks only after WAIT saw the batch
    // on a replica, so the replica that is promoted has every acknowledged record.
    const producer = res.producer(
      faultTolerant(namespace, {
        acks: 'all',
        ackReplicas: 1,
        // Each batch is a [script, WAIT] pipeline; ioredis does not follow a MOVED that only the
        // script got, so the producer refreshes the slot map itself (no Cluster option needed).
      }),
    );
    const seen = observe(producer);
    await producer.connect();

    // The master serving shard 0, and its replica (which will be promoted).
    const victimPort = await masterOfShard(namespace, topic, 0);
    const victim = nodeOn(victimPort);
    const [promoted] = await replicasOf(victimPort);
    expect(promoted).toBeDefined();
    const before = await cluster.masters();
    expect(before).toContain(victimPort);

    const total = 3000;
    let failover: Promise<void> | undefined;
    let failoverDone = false;
    let killedAt = 0;
    let promotedAfterMs = 0;
    let settledAtKill = 0;
    let settledAtPromotion = 0;
    let settled = 0;
    const t0 = performance.now();
    const killAndFailOver = async () => {
      try {
        settledAtKill = settled;
        killedAt = performance.now();
        await victim.kill('SIGKILL');
        // Promotion: every live node agrees on a slot map without the killed node.
        await cluster.waitUntilOk(20_000);
        promotedAfterMs = performance.now() - killedAt;
        settledAtPromotion = settled;
        // The promoted master has no replica now, so `acks: 'all'` cannot be met on its shards: the
        // killed node comes back (as an operator's restart would) and rejoins as its replica.
        await victim.restart();
        await cluster.waitUntilOk(20_000);
      } finally {
        failoverDone = true;
      }
    };
    const { sent, failures } = await produce(producer, topic, 'v', {
      total,
      callers: 50,
      keepGoing: () => failover !== undefined && !failoverDone,
      onSettled: (n) => {
        settled = n;
        if (n === total / 2) failover = killAndFailOver();
      },
    });
    const producedMs = performance.now() - t0;
    await failover;
    const rejoinedAfterMs = performance.now() - killedAt;

    expect(failures).toEqual([]);
    const after = await cluster.masters();
    expect(after).not.toContain(victimPort);
    expect(after).toContain(promoted!.port);
    expect(await promoted!.role()).toBe('master');
    expect(await victim.role()).toBe('replica');
    const acks = sent.map((s) => s.ack);
    // The batches on the killed master's shards failed and were retried (connection errors, then
    // MOVED/CLUSTERDOWN or a short WAIT while the cluster settled).
    expect(seen.retries.length).toBeGreaterThan(0);
    expect(seen.errors.filter((e) => e.code === 'ERR_PARK_FAILED')).toEqual([]);
    // Most records waited through the failover within deliveryTimeoutMs instead of being parked.
    expect(count(acks, 'delivered')).toBeGreaterThan(sent.length * 0.9);
    // The kill was mid-stream: sends were still going on after the promotion.
    expect(settledAtKill).toBe(total / 2);
    expect(settledAtPromotion).toBeLessThan(sent.length);

    // The producer keeps working after the failover, also on the promoted master's shards.
    const afterFailover = await Promise.all(Array.from({ length: 32 }, (_, i) => producer.send({ topic, key: `after-${i}`, value: `after-${i}` })));
    for (const ack of afterFailover) expect(ack.status).toBe('delivered');
    const onPromoted = await Promise.all(afterFailover.map(async (a) => (await cluster.masterOfSlot(Number(await admin.cluster('KEYSLOT', a.stream)))) === promoted!.port));
    expect(onPromoted.some(Boolean)).toBe(true);
    const sends = sent.length;
    sent.push(...afterFailover.map((ack, i) => ({ value: `after-${i}`, ack })));

    const retryCodes = [...new Set(seen.retries.map((r) => r.error.code))].sort();
    console.log(
      `kill: ${sends} sends in ${Math.round(producedMs)} ms; killed after ${settledAtKill} settled, promoted ${Math.round(promotedAfterMs)} ms later ` +
        `(${settledAtPromotion - settledAtKill} settled meanwhile), rejoined as replica after ${Math.round(rejoinedAfterMs)} ms; ` +
        `${count(acks, 'delivered')} delivered, ${count(acks, 'spilled')} spilled; ${seen.retries.length} retries (${retryCodes.join(', ')}); ` +
        `${seen.spills.length} spill events, ${seen.errors.length} error events`,
    );
    for (const e of seen.spills) console.log(`spill: ${e.ids.length} record(s) of ${e.stream}, persisted ${e.persisted}: ${e.error.message}`);
    await expectNothingLostNothingDuplicated({ admin, producer, namespace, topic, shards, sent });
  });

  it('a manual CLUSTER FAILOVER while producing: the replica takes over, each record lands once', async () => {
    const namespace = uniqueNamespace();
    const topic = 'manual';
    const shards = 16;
    // Default `acks: 'leader'`: a manual failover pauses the master's clients until the replica
    // has caught up with its replication offset, so nothing acknowledged is lost.
    const producer = res.producer(faultTolerant(namespace));
    const seen = observe(producer);
    await producer.connect();

    const oldMasterPort = await masterOfShard(namespace, topic, 0);
    const oldMaster = nodeOn(oldMasterPort);
    const [replica] = await replicasOf(oldMasterPort);
    expect(replica).toBeDefined();
    expect(await replica!.role()).toBe('replica');

    const total = 3000;
    let failover: Promise<void> | undefined;
    let failoverDone = false;
    let swappedAfterMs = 0;
    let okAfterMs = 0;
    let settled = 0;
    let settledAtSwap = 0;
    const t0 = performance.now();
    const manualFailover = async () => {
      try {
        const started = performance.now();
        expect(await onNode<string>(replica!.port, 'CLUSTER', 'FAILOVER')).toBe('OK');
        await eventually(async () => (await replica!.role()) === 'master' && (await oldMaster.role()) === 'replica', 'the replica and its master swapped roles', 15_000);
        swappedAfterMs = performance.now() - started;
        settledAtSwap = settled;
        await cluster.waitUntilOk(20_000);
        okAfterMs = performance.now() - started;
      } finally {
        failoverDone = true;
      }
    };
    const { sent, failures } = await produce(producer, topic, 'm', {
      total,
      callers: 50,
      keepGoing: () => failover !== undefined && !failoverDone,
      onSettled: (n) => {
        settled = n;
        if (n === total / 2) failover = manualFailover();
      },
    });
    const producedMs = performance.now() - t0;
    await failover;

    expect(failures).toEqual([]);
    expect(await replica!.role()).toBe('master');
    expect(await oldMaster.role()).toBe('replica');
    const masters = await cluster.masters();
    expect(masters).toContain(replica!.port);
    expect(masters).not.toContain(oldMasterPort);
    expect(await masterOfShard(namespace, topic, 0)).toBe(replica!.port);
    expect(seen.errors.filter((e) => e.code === 'ERR_PARK_FAILED')).toEqual([]);
    const acks = sent.map((s) => s.ack);
    // The failover happened mid-stream, and nothing had to be parked: the paused writes went on
    // on the new master (ioredis follows its MOVED) well within deliveryTimeoutMs.
    expect(settledAtSwap).toBeGreaterThan(0);
    expect(settledAtSwap).toBeLessThan(sent.length);
    expect(count(acks, 'delivered')).toBe(sent.length);

    const afterFailover = await Promise.all(Array.from({ length: 32 }, (_, i) => producer.send({ topic, key: `after-${i}`, value: `after-${i}` })));
    for (const ack of afterFailover) expect(ack.status).toBe('delivered');
    const sends = sent.length;
    sent.push(...afterFailover.map((ack, i) => ({ value: `after-${i}`, ack })));

    const retryCodes = [...new Set(seen.retries.map((r) => r.error.code))].sort();
    console.log(
      `manual: ${sends} sends in ${Math.round(producedMs)} ms; roles swapped ${Math.round(swappedAfterMs)} ms after CLUSTER FAILOVER, cluster ok after ${Math.round(okAfterMs)} ms; ` +
        `${count(acks, 'delivered')} delivered, ${count(acks, 'spilled')} spilled; ${seen.retries.length} retries (${retryCodes.join(', ')}); ` +
        `${seen.spills.length} spill events, ${seen.errors.length} error events`,
    );
    for (const e of seen.spills) console.log(`spill: ${e.ids.length} record(s) of ${e.stream}, persisted ${e.persisted}: ${e.error.message}`);
    await expectNothingLostNothingDuplicated({ admin, producer, namespace, topic, shards, sent });
  });

  it('a master SIGKILLed and not restarted, acks "all": its promoted replica has no replica, its shards spill in bounded time without stalling the node, the rest is delivered', async () => {
    const namespace = uniqueNamespace();
    const topic = 'orphan';
    const shards = 16;
    const deliveryTimeoutMs = 3_000;
    const requestTimeoutMs = 500;
    const producer = res.producer(faultTolerant(namespace, { acks: 'all', deliveryTimeoutMs, requestTimeoutMs, compensation: { replay: { enabled: false } } }));
    const seen = observe(producer);
    await producer.connect();
    const victimPort = await masterOfShard(namespace, topic, 0);
    const victim = nodeOn(victimPort);
    await victim.kill('SIGKILL');
    await cluster.waitUntilOk(20_000); // its replica is promoted, and has no replica of its own

    const sent: Sent[] = [];
    const failures: unknown[] = [];
    const tookMs: number[] = [];
    await Promise.all(
      Array.from({ length: 40 }, async (_, caller) => {
        for (let i = 0; i < 10; i++) {
          const s: Sent = { value: `o${caller}-${i}`, ack: undefined };
          sent.push(s);
          const started = performance.now();
          s.ack = await producer.send({ topic, key: randomUUID(), value: s.value }).catch((err: unknown) => {
            failures.push(err);
            return undefined;
          });
          tookMs.push(performance.now() - started);
        }
      }),
    );
    expect(failures).toEqual([]);
    const acks = sent.map((s) => s.ack);
    const spilled = acks.filter((a) => a?.status === 'spilled');
    expect(count(acks, 'delivered')).toBeGreaterThan(0);
    expect(spilled.length).toBeGreaterThan(0);
    // Parking reached Redis: nothing queued behind WAITs on the promoted master's connection.
    expect(new Set(spilled.map((a) => (a?.status === 'spilled' ? `${a.error.code} ${a.parkedIn}` : '')))).toEqual(
      new Set([...new Set(spilled.map((a) => (a?.status === 'spilled' ? a.error.code : '')))].map((code) => `${code} redis`)),
    );
    // Every send settles within deliveryTimeoutMs plus the parking allowance (and the sweep's interval).
    expect(Math.max(...tookMs)).toBeLessThanOrEqual(deliveryTimeoutMs + 2 * requestTimeoutMs + 200);
    expect(seen.retries.some((r) => r.error.code === 'ERR_NOT_ENOUGH_REPLICAS')).toBe(true);

    // A replica again (the killed node rejoins as one): the parked records are replayed, once.
    await victim.restart();
    await cluster.waitUntilOk(20_000);
    await expectNothingLostNothingDuplicated({ admin, producer, namespace, topic, shards, sent }, 30_000);
  });
});
