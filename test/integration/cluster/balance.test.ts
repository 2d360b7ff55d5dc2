/**
 * Balancing a topic's shards over the masters: max/min ≤ 1.5 for a 16-shard topic, on the
 * project's shared 3-master cluster, while a producer keeps writing to the topic.
 *
 * The namespace is chosen by computing the spread first: the first `balance-<i>` whose 16 shards
 * land twice as often on one master as on another, in 16 distinct slots, none of them a slot of
 * cluster-layout.test.ts's fixed `spread` topic (that test may run at the same time and counts on
 * its shards being on every master). The moved slots are moved back at the end, so the shared
 * cluster's slot map is as the other test files expect. The last test runs the same through the
 * `rsp topic balance` command.
 */
import { Readable, Writable } from 'node:stream';
import { type Cluster, Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { balanceTopic, type BalanceProgress } from '../../../src/admin/balance.js';
import { ClusterNodes, stableTopology } from '../../../src/admin/cluster-nodes.js';
import { keySlot } from '../../../src/admin/key-slot.js';
import { migrateSlot } from '../../../src/admin/migrate-slot.js';
import { topicSpread, type SlotMove } from '../../../src/admin/placement.js';
import type { CliIo } from '../../../src/cli/io.js';
import { runCli } from '../../../src/cli/run.js';
import type { DeliveryEvent, ProducerError, SendAck } from '../../../src/index.js';
import { streamKey } from '../../../src/keys.js';
import { eventually, redisTarget, Resources } from '../../support/helpers.js';
import { expectNothingLostNothingDuplicated } from '../../support/invariant.js';

const TOPIC = 'orders';
const SHARDS = 16;

const res = new Resources();
const direct: Redis[] = [];
/** Slot moves made by the test, undone in afterAll (newest first). */
const toUndo: SlotMove[] = [];

afterEach(async () => {
  await res.closeAll();
  for (const r of direct.splice(0)) r.disconnect();
});

afterAll(async () => {
  if (toUndo.length === 0) return;
  const admin = res.admin() as Cluster;
  const nodes = await ClusterNodes.load(admin);
  try {
    const undone = toUndo.splice(0).reverse();
    for (const move of undone) await migrateSlot(nodes, { slot: move.slot, from: move.to, to: move.from });
    await nodes.refresh();
    const { ownerOf } = stableTopology(nodes.nodes);
    expect(undone.filter((m) => ownerOf(m.slot) !== m.from)).toEqual([]);
  } finally {
    nodes.close();
    await res.closeAll();
  }
});

/** Runs one `rsp` command line in this process; resolves with its exit code and output. */
async function rsp(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = { stdout: '', stderr: '' };
  const sink = (which: 'stdout' | 'stderr') =>
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        out[which] += chunk.toString();
        done();
      },
    });
  const io: CliIo = { stdin: Readable.from([]), stdout: sink('stdout'), stderr: sink('stderr'), stdinIsTTY: true, stderrIsTTY: false, env: {}, onInterrupt: () => () => undefined };
  const code = await runCli(argv, io);
  return { code, ...out };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The first `balance-<i>` namespace whose natural spread is uneven enough (see the file comment). */
function unevenNamespace(ownerOf: (slot: number) => string, masters: string[], avoid: ReadonlySet<number> = new Set()): string {
  const layoutSlots = new Set([...avoid, ...Array.from({ length: SHARDS }, (_, s) => keySlot(streamKey('spread', 'orders', s)))]);
  for (let i = 0; i < 10_000; i++) {
    const ns = `balance-${i}`;
    const slots = Array.from({ length: SHARDS }, (_, s) => keySlot(streamKey(ns, TOPIC, s)));
    if (new Set(slots).size !== SHARDS || slots.some((slot) => layoutSlots.has(slot))) continue;
    const spread = topicSpread(slots, ownerOf, masters);
    if (Number.isFinite(spread.ratio) && spread.ratio >= 2) return ns;
  }
  throw new Error('no balance-<i> namespace with max/min ≥ 2');
}

type SlotsReply = [number, number, [string, number, ...unknown[]], ...unknown[]][];

describe('balanceTopic on a 3-master cluster', () => {
  it('spreads a skewed 16-shard topic to 6/5/5 while a producer writes; nothing lost or duplicated; a second run plans nothing', async () => {
    const admin = res.admin() as Cluster;
    const initial = await ClusterNodes.load(admin);
    const topology = stableTopology(initial.nodes);
    initial.close();
    const masters = topology.masters.map((m) => m.id);
    const namespace = unevenNamespace(topology.ownerOf, masters);

    // A rerun against an external cluster (REDIS_CLUSTER_NODES) finds last run's keys: start empty.
    await admin.del(`{${namespace}:${TOPIC}}:meta`);
    for (let s = 0; s < SHARDS; s++) await admin.del(streamKey(namespace, TOPIC, s));

    const producer = res.producer({
      namespace,
      defaultShards: SHARDS,
      requestTimeoutMs: 3_000,
      deliveryTimeoutMs: 15_000,
      retryBackoffMs: 20,
      retryBackoffMaxMs: 200,
      compensation: { replay: { intervalMs: 100, leaseMs: 30_000 } },
    });
    const errors: ProducerError[] = [];
    producer.on('error', (e) => errors.push(e));
    const deliveries: (DeliveryEvent & { at: number })[] = [];
    producer.on('delivery', (e) => deliveries.push({ ...e, at: performance.now() }));
    await producer.connect();

    // 16 callers awaiting send() with random keys, until told to stop.
    const sent: { value: string; ack: SendAck | undefined }[] = [];
    const failures: unknown[] = [];
    let stop = false;
    let acked = 0;
    const callers = Array.from({ length: 16 }, async () => {
      while (!stop) {
        const s = { value: `v${sent.length}`, ack: undefined as SendAck | undefined };
        sent.push(s);
        try {
          s.ack = await producer.send({ topic: TOPIC, key: `user-${s.value}`, value: s.value });
          acked++;
        } catch (err) {
          failures.push(err);
        }
        await sleep(10); // pacing: keeps the record count (and the invariant check) small
      }
    });
    await eventually(() => acked >= 300, '300 sends acknowledged before balancing', 20_000);

    const progress: BalanceProgress[] = [];
    const t0 = performance.now();
    const result = await balanceTopic(admin, { namespace, topic: TOPIC, execute: true, onProgress: (p) => progress.push(p) });
    const t1 = performance.now();
    toUndo.push(...result.moves);
    const ackedAfterBalance = acked;
    await eventually(() => acked >= ackedAfterBalance + 300, '300 more sends acknowledged after balancing', 20_000);
    stop = true;
    await Promise.all(callers);
    // Volume for the records-per-master count: with a few hundred records a master's share varies by
    // ±10 %; 2000 more make it follow the shards (±3 %).
    const bulk = Array.from({ length: 2_000 }, (_, i) => ({ value: `b${i}`, ack: undefined as SendAck | undefined }));
    const bulkAcks = await producer.sendBatch(bulk.map((b) => ({ topic: TOPIC, key: `user-${b.value}`, value: b.value })));
    bulk.forEach((b, i) => {
      const ack = bulkAcks[i]!;
      if (ack.status !== 'failed') b.ack = ack;
    });
    sent.push(...bulk);
    await producer.flush();

    // What balanceTopic reports.
    expect(result.shards).toBe(SHARDS);
    expect(result.before.ratio).toBeGreaterThanOrEqual(2);
    expect(result.moves.length).toBeGreaterThan(0);
    expect(result.executed).toBe(true);
    expect(result.after).toEqual(result.planned);
    expect(result.after).toMatchObject({ balanced: true, ratio: 1.2 });
    expect(progress.map((p) => `${p.phase}${p.index}`)).toEqual(result.moves.flatMap((_, i) => [`start${i}`, `done${i}`]));
    // Each moved slot carried its stream and the producer's state key (and nothing else of ours).
    expect(result.keysMoved).toBeGreaterThanOrEqual(2 * result.moves.length);

    // Where the streams actually are: CLUSTER SLOTS names the owner; on every master, XLEN of each
    // stream is answered by exactly one (the owner) and redirected (MOVED) by the others.
    const slots = (await admin.cluster('SLOTS')) as unknown as SlotsReply;
    const ownerPort = (slot: number) => Number(slots.find(([from, to]) => slot >= from && slot <= to)![2][1]);
    const masterPorts = [...new Set(slots.map((r) => Number(r[2][1])))].sort();
    expect(masterPorts).toHaveLength(3);
    const shardsPerMaster = new Map(masterPorts.map((p) => [p, 0]));
    const recordsPerMaster = new Map(masterPorts.map((p) => [p, 0]));
    for (const port of masterPorts) {
      const node = new Redis({ host: slots.find((r) => Number(r[2][1]) === port)![2][0], port, maxRetriesPerRequest: 1 });
      direct.push(node);
      for (let s = 0; s < SHARDS; s++) {
        const stream = streamKey(namespace, TOPIC, s);
        const answer = await node.xlen(stream).then(
          (len) => ({ len }),
          (err: Error) => ({ error: err.message }),
        );
        if ('len' in answer) {
          expect(ownerPort(keySlot(stream)), `${stream} answered by :${port}`).toBe(port);
          shardsPerMaster.set(port, shardsPerMaster.get(port)! + 1);
          recordsPerMaster.set(port, recordsPerMaster.get(port)! + answer.len);
        } else {
          expect(answer.error).toMatch(/^MOVED \d+ \S+:(\d+)$/);
          expect(Number(/:(\d+)$/.exec(answer.error)![1])).toBe(ownerPort(keySlot(stream)));
        }
      }
    }
    const shardCounts = [...shardsPerMaster.values()];
    const recordCounts = [...recordsPerMaster.values()];
    console.log(
      `namespace ${namespace}: shards per master before ${result.before.masters.map((m) => m.shards.length).join('/')} (max/min ${result.before.ratio.toFixed(2)}), ` +
        `after ${shardCounts.join('/')}; records per master ${recordCounts.join('/')} (max/min ${(Math.max(...recordCounts) / Math.min(...recordCounts)).toFixed(2)}); ` +
        `${result.moves.length} slot moves, ${result.keysMoved} keys, ${Math.round(t1 - t0)} ms; ${sent.length} values sent`,
    );
    expect(shardCounts.reduce((a, b) => a + b, 0)).toBe(SHARDS);
    expect(Math.max(...shardCounts) - Math.min(...shardCounts)).toBeLessThanOrEqual(1);
    expect(Math.max(...shardCounts) / Math.min(...shardCounts)).toBeLessThanOrEqual(1.5);
    expect(recordCounts.reduce((a, b) => a + b, 0)).toBe(sent.length);
    expect(Math.max(...recordCounts) / Math.min(...recordCounts)).toBeLessThanOrEqual(1.5);

    // The producer kept delivering while the slots moved, and never failed a send.
    expect(deliveries.some((d) => d.at > t0 && d.at < t1)).toBe(true);
    expect(failures).toEqual([]);
    expect(errors).toEqual([]);
    expect(sent.filter((s) => s.ack?.status !== 'delivered')).toEqual([]);
    await expectNothingLostNothingDuplicated({ admin, producer, namespace, topic: TOPIC, shards: SHARDS, sent });

    // A second run finds the topic balanced and plans nothing.
    const again = await balanceTopic(admin, { namespace, topic: TOPIC });
    expect(again.moves).toEqual([]);
    expect(again.before).toMatchObject({ balanced: true, ratio: 1.2 });
    expect(again.executed).toBe(false);
  }, 90_000); // a loaded 2-core machine slows the invariant check (one XRANGE per acknowledged record)

  it('`rsp topic balance` prints the plan, changing nothing; `--execute` applies it', async () => {
    const admin = res.admin() as Cluster;
    const nodes = await ClusterNodes.load(admin);
    const topology = stableTopology(nodes.nodes);
    nodes.close();
    const masters = topology.masters.map((m) => m.id);
    const namespace = unevenNamespace(topology.ownerOf, masters, new Set(toUndo.map((m) => m.slot)));
    const target = redisTarget();
    if (target.kind !== 'cluster') throw new Error('the cluster project runs against a cluster');
    const connection = ['--cluster', target.nodes.map((n) => `${n.host}:${n.port}`).join(','), '--namespace', namespace];

    // No producer recorded the topic: --shards says how many it has.
    const plan = await rsp(['topic', 'balance', TOPIC, '--shards', String(SHARDS), ...connection]);
    expect(plan.stderr).toBe('');
    expect(plan.code).toBe(0);
    expect(plan.stdout).toMatch(/^before: .* max\/min 2\.\d\d× \(best possible 1\.20×\)$/m);
    expect(plan.stdout).toMatch(/^plan: \d+ slots?$/m);
    expect(plan.stdout).toMatch(/^ {2}slot \d+ \(shard \d+\): \S+:\d+ → \S+:\d+$/m);
    expect(plan.stdout).toMatch(/^planned: .* max\/min 1\.20×/m);
    const unchanged = await ClusterNodes.load(admin);
    expect(stableTopology(unchanged.nodes).ownerOf(keySlot(streamKey(namespace, TOPIC, 0)))).toBe(topology.ownerOf(keySlot(streamKey(namespace, TOPIC, 0))));
    unchanged.close();

    const applied = await rsp(['topic', 'balance', TOPIC, '--shards', String(SHARDS), '--execute', '--json', ...connection]);
    expect(applied.code).toBe(0);
    const result = JSON.parse(applied.stdout) as { moves: SlotMove[]; after: { balanced: boolean; ratio: number } };
    toUndo.push(...result.moves);
    expect(result.moves.length).toBeGreaterThan(0);
    expect(result.after).toMatchObject({ balanced: true, ratio: 1.2 });
    expect(applied.stderr.trim().split('\n')).toHaveLength(result.moves.length); // one progress line per move
    expect(applied.stderr).toMatch(/^moved 1\/\d+: slot \d+ /);

    const again = await rsp(['topic', 'balance', TOPIC, '--shards', String(SHARDS), ...connection]);
    expect(again.stdout).toContain('balanced already: nothing to move');
  }, 60_000);

  it('refuses bad options and unknown topics with typed errors, changing nothing', async () => {
    const admin = res.admin() as Cluster;
    await expect(balanceTopic(admin, { namespace: 'a:b', topic: 'orders' })).rejects.toMatchObject({
      code: 'ERR_ADMIN_OPTIONS',
      issues: [expect.stringContaining('`namespace`: namespace must not contain "{", "}", ":"')],
    });
    await expect(balanceTopic(admin, { namespace: 'ns', topic: 'orders', shards: 0, keysPerMigrate: 1.5 } as never)).rejects.toMatchObject({
      code: 'ERR_ADMIN_OPTIONS',
      issues: [expect.stringMatching(/^`shards`: .*>=1/), expect.stringMatching(/^`keysPerMigrate`: .*int/)],
    });
    await expect(balanceTopic(admin, { namespace: 'nobody-uses-this', topic: 'orders' })).rejects.toMatchObject({
      code: 'ERR_CLUSTER_STATE',
      message: expect.stringContaining('pass `shards`'),
    });
    const target = redisTarget();
    if (target.kind !== 'cluster') throw new Error('the cluster project runs against a cluster');
    const plain = new Redis({ ...target.nodes[0]!, lazyConnect: true });
    direct.push(plain);
    await expect(balanceTopic(plain as unknown as Cluster, { namespace: 'ns', topic: 'orders' })).rejects.toMatchObject({ code: 'ERR_CLUSTER_STATE' });
  });
});
