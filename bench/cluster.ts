/**
 * Cluster benchmark: the producer against a 3-master Redis Cluster (1 replica each) and against one
 * standalone redis-server (and, to tell replication cost from cluster cost, a standalone server with
 * one replica), on one workload, in one run; then how evenly a topic's shards spread over the
 * masters. Run with `npm run bench:cluster` or `npx tsx bench/cluster.ts [flags]`.
 *
 *   --records N   records per throughput case (default 200000)
 *   --reps N      repetitions; cases alternate within each repetition (default 5)
 *   --names N     random namespaces for the shard-spread analysis (default 200)
 *   --namespace S          namespace of the main cluster cases; it alone decides which master each
 *                          of the 16 shards lands on (default: the first of bench-0, bench-1, … whose
 *                          shards spread 6/5/5, the best possible)
 *   --skewed-namespace S   namespace of the extra "skewed" cluster cases (default: the first of
 *                          bench-0, bench-1, … with twice the shards on one master as on another)
 *   --rebalanced-namespace S   namespace of the "rebalanced" cluster cases: as skewed (default: the
 *                          next such bench-<i>), then spread by `balanceTopic` (redis-stream-producer/admin)
 *                          with one run's records in place; the spread before and after is reported
 *   --aof         AOF on (appendfsync everysec) on every server; default off on every server
 *   --no-warmup   skip the short unrecorded warm-up pass over every case
 *   --seed N      workload seed (default 1)
 *   --out FILE    raw results (default bench/results/cluster-latest.json)
 *
 * Starts its own servers (never uses REDIS_URL): a cluster through test/support/redis-cluster.ts
 * and standalone servers through test/support/redis-server.ts, and stops them at the end, also
 * after an error or Ctrl-C. Every case writes to fresh streams (the namespace is emptied before and
 * after) and checks that the sum of XLEN over its 16 streams equals the records it sent.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, resolve } from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { fileURLToPath } from 'node:url';
import { Cluster, Redis } from 'ioredis';
import { Producer, type ProducerConfig, type ProducerError } from '../src/index.js';
import { balanceTopic, type BalanceResult } from '../src/admin/balance.js';
import { keySlot } from '../src/admin/key-slot.js';
import { parseInfo, startRedisCluster, type RedisClusterHandle } from '../test/support/redis-cluster.js';
import { startRedisServer, type ServerProcess } from '../test/support/redis-server.js';
import { Flags, UsageError } from './flags.js';
import { describeMachine, fmtInt, produceAll, KEY_SPACE, makeWorkload, median, mulberry32, percentile, SHARDS, TOPIC, VALUE_BYTES, valueAt, type Workload } from './workload.js';

// ---------------------------------------------------------------------------------------------
// Settings

const MASTERS = 3;
const REPLICAS_PER_MASTER = 1;
const SLOTS = 16_384;
const SPREAD_SHARDS = [16, 32, 64, 128];

v8.setFlagsFromString('--expose-gc');
const collectGarbage = vm.runInNewContext('gc') as () => void;

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');

interface Options {
  records: number;
  reps: number;
  names: number;
  namespace?: string;
  skewedNamespace?: string;
  rebalancedNamespace?: string;
  aof: boolean;
  warmup: boolean;
  seed: number;
  out: string;
}

function parseArgs(argv: string[]): Options {
  const value = 'string';
  const flags = new Flags(
    argv,
    {
      'no-warmup': 'boolean',
      aof: 'boolean',
      records: value,
      reps: value,
      names: value,
      namespace: value,
      'skewed-namespace': value,
      'rebalanced-namespace': value,
      seed: value,
      out: value,
    },
    import.meta.url,
  );
  const name = (flag: string): string | undefined => {
    const v = flags.string(flag);
    if (v !== undefined && !/^[^{}:\s*?[\]\\]+$/.test(v)) throw new Error(`--${flag} must not contain braces, ':', whitespace or glob characters`);
    return v;
  };
  const opts: Options = {
    records: flags.int('records', 200_000),
    reps: flags.int('reps', 5),
    names: flags.int('names', 200),
    namespace: name('namespace'),
    skewedNamespace: name('skewed-namespace'),
    rebalancedNamespace: name('rebalanced-namespace'),
    aof: flags.has('aof'),
    warmup: !flags.has('no-warmup'),
    seed: flags.int('seed', 1, 0),
    out: resolve(flags.string('out') ?? resolve(root, 'bench/results/cluster-latest.json')),
  };
  return opts;
}

// ---------------------------------------------------------------------------------------------
// Workload: the same keys and values for every case (as bench/throughput.ts).

const streamKey = (ns: string, shard: number, topic = TOPIC): string => `{${ns}:${topic}:${shard}}`;

// Redis Cluster's key → slot is src/admin/key-slot.ts (CRC16 of the hash tag), checked against
// CLUSTER KEYSLOT at start-up.

// ---------------------------------------------------------------------------------------------
// Helpers

const fmtRatio = (n: number): string => (Number.isFinite(n) ? `${n.toFixed(2)}×` : '∞ (a master has none)');
const fmtPct = (n: number): string => `${(n * 100).toFixed(1)} %`;

// ---------------------------------------------------------------------------------------------
// Targets: the standalone server and the cluster, each with a direct connection per node.

type Role = 'standalone' | 'master' | 'replica';

interface NodeRef {
  port: number;
  role: Role;
  /** For a replica: its master's port. */
  masterPort?: number;
  /** For a master: its slot ranges, e.g. `0-5460`. */
  slots?: string;
  /** Direct connection (INFO, SCAN, DEL of keys it holds). */
  client: Redis;
}

interface Target {
  id: 'single' | 'replicated' | 'cluster';
  label: string;
  redis: ProducerConfig['redis'];
  /** Client for data commands: a Redis for the standalone server, an ioredis Cluster for the cluster. */
  data: Redis | Cluster;
  nodes: NodeRef[];
  /** Port of the node that stores `slot`. */
  ownerOfSlot: (slot: number) => number;
}

const dataNodes = (t: Target): NodeRef[] => t.nodes.filter((n) => n.role !== 'replica');

async function deleteNamespace(t: Target, ns: string): Promise<void> {
  // Every key of the namespace starts with `{ns:` (streams, producer state, topic meta). In cluster
  // mode even a same-node multi-key DEL must stay in one slot, so delete one key at a time.
  for (const node of dataNodes(t)) {
    let cursor = '0';
    do {
      const [next, found] = await node.client.scan(cursor, 'MATCH', `{${ns}:*`, 'COUNT', 1000);
      if (found.length > 0) {
        const pipe = node.client.pipeline();
        for (const k of found) pipe.del(k);
        await pipe.exec();
      }
      cursor = next;
    } while (cursor !== '0');
  }
}

/** XLEN of every shard (through the target's data client), grouped by the node that stores it. */
async function streamLengths(t: Target, ns: string): Promise<{ total: number; byNode: Map<number, number>; shardsByNode: Map<number, number> }> {
  const lens = await Promise.all(Array.from({ length: SHARDS }, (_, s) => t.data.xlen(streamKey(ns, s))));
  const byNode = new Map<number, number>(dataNodes(t).map((n) => [n.port, 0]));
  const shardsByNode = new Map<number, number>(dataNodes(t).map((n) => [n.port, 0]));
  let total = 0;
  lens.forEach((len, s) => {
    const port = t.ownerOfSlot(keySlot(streamKey(ns, s)));
    byNode.set(port, (byNode.get(port) ?? 0) + len);
    shardsByNode.set(port, (shardsByNode.get(port) ?? 0) + 1);
    total += len;
  });
  return { total, byNode, shardsByNode };
}

interface NodeCounters {
  cpuSec: number;
  inBytes: number;
}

async function nodeCounters(t: Target): Promise<Map<number, NodeCounters>> {
  const entries = await Promise.all(
    t.nodes.map(async (n) => {
      const info = parseInfo(await n.client.info());
      const c: NodeCounters = { cpuSec: Number(info.used_cpu_sys) + Number(info.used_cpu_user), inBytes: Number(info.total_net_input_bytes) };
      return [n.port, c] as const;
    }),
  );
  return new Map(entries);
}

/** Waits (≤ 5 s) until every replica has acknowledged its master's replication offset, so replica CPU is complete. */
async function replicasCaughtUp(t: Target): Promise<void> {
  const masters = t.nodes.filter((n) => t.nodes.some((r) => r.masterPort === n.port));
  if (masters.length === 0) return;
  const deadline = Date.now() + 5_000;
  const targets = new Map<number, number>();
  for (const m of masters) targets.set(m.port, Number(parseInfo(await m.client.info('replication')).master_repl_offset));
  for (;;) {
    let behind = 0;
    for (const m of masters) {
      const info = parseInfo(await m.client.info('replication'));
      for (const [k, v] of Object.entries(info)) {
        if (!/^slave\d+$/.test(k)) continue;
        const offset = Number(/offset=(\d+)/.exec(v)?.[1] ?? 0);
        if (offset < targets.get(m.port)!) behind++;
      }
    }
    if (behind === 0 || Date.now() > deadline) return;
    await new Promise((r) => setTimeout(r, 10));
  }
}

// ---------------------------------------------------------------------------------------------
// Cases: the producer's fire-and-forget and 1000-awaited-caller loops (as bench/throughput.ts).

interface Timing {
  elapsedMs: number;
  cpuUs: number;
}

type RunFn = (t: Target, w: Workload, ns: string, n: number) => Promise<Timing>;

function timer(): () => Timing {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  return () => {
    const cpu = process.cpuUsage(cpu0);
    return { elapsedMs: performance.now() - t0, cpuUs: cpu.user + cpu.system };
  };
}

async function withProducer(t: Target, ns: string, fn: (p: Producer) => Promise<Timing>): Promise<Timing> {
  const producer = new Producer({ redis: t.redis, namespace: ns, defaultShards: SHARDS });
  const errors: ProducerError[] = [];
  producer.on('error', (e) => errors.push(e));
  let timing: Timing;
  try {
    await producer.connect();
    timing = await fn(producer);
  } finally {
    await producer.close();
  }
  if (errors.length > 0) throw new Error(`producer emitted ${errors.length} error event(s), first: ${errors[0]!.message}`);
  return timing;
}

const fireAndForget: RunFn = (t, w, ns, n) =>
  withProducer(t, ns, async (producer) => {
    const stop = timer();
    await produceAll(producer, w, n);
    return stop();
  });

const awaitedCallers =
  (callers: number): RunFn =>
  (t, w, ns, n) =>
    withProducer(t, ns, async (producer) => {
      const stop = timer();
      let next = 0;
      let acked = 0;
      const caller = async () => {
        while (next < n) {
          const i = next++;
          const ack = await producer.send({ topic: TOPIC, key: w.keys[i]!, value: valueAt(w, i) });
          if (ack.status === 'delivered') acked++;
        }
      };
      await Promise.all(Array.from({ length: callers }, caller));
      const timing = stop();
      if (acked !== n) throw new Error(`${acked} of ${n} sends resolved as delivered`);
      return timing;
    });

interface Mode {
  id: string;
  name: string;
  run: RunFn;
}

const MODES: Mode[] = [
  { id: 'ff', name: 'producer fire-and-forget', run: fireAndForget },
  { id: 'c1000', name: 'producer 1000 awaited callers', run: awaitedCallers(1000) },
];

interface NodeResult {
  port: number;
  role: Role;
  recordsStored: number;
  shardsStored: number;
  /** Node CPU over the case ÷ all records of the case: the nodes' numbers add up to the total. */
  cpuUsPerRecord: number;
  /** Node CPU ÷ records it stores (masters and the standalone server), or ÷ records its master stores (replicas). */
  cpuUsPerRecordStored: number;
  inBytesPerRecord: number;
}

interface RepResult {
  rep: number;
  records: number;
  elapsedMs: number;
  recordsPerSec: number;
  clientCpuUsPerRecord: number;
  /** All server processes of the target. */
  serverCpuUsPerRecord: number;
  mastersCpuUsPerRecord: number;
  replicasCpuUsPerRecord: number;
  /**
   * CPU used by processes other than this benchmark and the target's servers while the case ran, as
   * a share of the machine (all cores): other sessions' tests, the idle targets. Shows interference.
   */
  otherCpuShare: number;
  nodes: NodeResult[];
}

/** Busy milliseconds of all cores since boot (user + nice + sys + irq). */
const machineBusyMs = (): number => os.cpus().reduce((a, c) => a + c.times.user + c.times.nice + c.times.sys + c.times.irq, 0);

async function runCase(t: Target, mode: Mode, w: Workload, ns: string, n: number): Promise<Omit<RepResult, 'rep'>> {
  await deleteNamespace(t, ns);
  collectGarbage();
  const wall0 = performance.now();
  const busy0 = machineBusyMs();
  const own0 = process.cpuUsage();
  const before = await nodeCounters(t);
  const timing = await mode.run(t, w, ns, n);
  await replicasCaughtUp(t);
  const after = await nodeCounters(t);
  const ownCpu = process.cpuUsage(own0);
  const busyMs = machineBusyMs() - busy0;
  const wallMs = performance.now() - wall0;
  const lens = await streamLengths(t, ns);
  if (lens.total !== n) {
    throw new Error(`VERIFY FAILED for "${mode.name}" on ${t.label} (namespace ${ns}): the streams hold ${lens.total} entries, expected ${n}`);
  }
  await deleteNamespace(t, ns);
  // The counters also include INFO/SCAN/DEL calls, connection set-up and (cluster) the cluster bus
  // and replication pings during the case: well under 1 % of the numbers here.
  const nodes: NodeResult[] = t.nodes.map((node) => {
    const cpuUs = (after.get(node.port)!.cpuSec - before.get(node.port)!.cpuSec) * 1e6;
    const storedBy = node.role === 'replica' ? node.masterPort! : node.port;
    const stored = lens.byNode.get(storedBy) ?? 0;
    return {
      port: node.port,
      role: node.role,
      recordsStored: stored,
      shardsStored: lens.shardsByNode.get(storedBy) ?? 0,
      cpuUsPerRecord: cpuUs / n,
      cpuUsPerRecordStored: stored > 0 ? cpuUs / stored : NaN,
      inBytesPerRecord: (after.get(node.port)!.inBytes - before.get(node.port)!.inBytes) / n,
    };
  });
  const sum = (f: (r: NodeResult) => boolean) => nodes.filter(f).reduce((a, r) => a + r.cpuUsPerRecord, 0);
  const serversMs = (sum(() => true) * n) / 1000;
  const otherMs = busyMs - (ownCpu.user + ownCpu.system) / 1000 - serversMs;
  return {
    records: n,
    elapsedMs: timing.elapsedMs,
    recordsPerSec: n / (timing.elapsedMs / 1000),
    clientCpuUsPerRecord: timing.cpuUs / n,
    serverCpuUsPerRecord: sum(() => true),
    mastersCpuUsPerRecord: sum((r) => r.role !== 'replica'),
    replicasCpuUsPerRecord: sum((r) => r.role === 'replica'),
    otherCpuShare: Math.max(0, otherMs / (wallMs * os.cpus().length)),
    nodes,
  };
}

// ---------------------------------------------------------------------------------------------
// Shard spread over masters, for many namespace names

interface SpreadRow {
  shards: number;
  names: number;
  bestRatio: number;
  medianRatio: number;
  p90Ratio: number;
  shareRatioAtMost1_5: number;
  /** Share of the shards (hence of the records, with uniform keys) on the busiest master. */
  medianBusiestShare: number;
  p90BusiestShare: number;
  /** Names for which some master got no shard at all. */
  namesWithEmptyMaster: number;
}

function spreadOf(ns: string, shards: number, masterPorts: number[], ownerOfSlot: (slot: number) => number): number[] {
  const counts = new Map<number, number>(masterPorts.map((p) => [p, 0]));
  for (let s = 0; s < shards; s++) {
    const port = ownerOfSlot(keySlot(streamKey(ns, s)));
    counts.set(port, counts.get(port)! + 1);
  }
  return masterPorts.map((p) => counts.get(p)!);
}

function spreadAnalysis(names: string[], masterPorts: number[], ownerOfSlot: (slot: number) => number): SpreadRow[] {
  const m = masterPorts.length;
  return SPREAD_SHARDS.map((shards) => {
    const ratios: number[] = [];
    const busiest: number[] = [];
    for (const ns of names) {
      const counts = spreadOf(ns, shards, masterPorts, ownerOfSlot);
      const max = Math.max(...counts);
      const min = Math.min(...counts);
      ratios.push(min === 0 ? Infinity : max / min);
      busiest.push(max / shards);
    }
    ratios.sort((a, b) => a - b);
    busiest.sort((a, b) => a - b);
    return {
      shards,
      names: names.length,
      bestRatio: Math.ceil(shards / m) / Math.floor(shards / m),
      medianRatio: median(ratios),
      p90Ratio: percentile(ratios, 90),
      shareRatioAtMost1_5: ratios.filter((r) => r <= 1.5).length / ratios.length,
      medianBusiestShare: median(busiest),
      p90BusiestShare: percentile(busiest, 90),
      namesWithEmptyMaster: ratios.filter((r) => !Number.isFinite(r)).length,
    };
  });
}

function randomNames(n: number, seed: number): string[] {
  const rnd = mulberry32(seed);
  const chars = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const names = new Set<string>();
  while (names.size < n) {
    let s = '';
    for (let i = 0; i < 8; i++) s += chars[Math.floor(rnd() * chars.length)];
    names.add(s);
  }
  return [...names];
}

// ---------------------------------------------------------------------------------------------
// Main

type SlotsReply = [number, number, [string, number, ...unknown[]], ...unknown[]][];

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  let cluster: RedisClusterHandle | undefined;
  const servers: ServerProcess[] = [];
  const clients: (Redis | Cluster)[] = [];
  const cleanup = async () => {
    for (const c of clients.splice(0)) c.disconnect();
    const cl = cluster;
    cluster = undefined;
    await Promise.all([cl?.stop(), ...servers.splice(0).map((sv) => sv.stop())]);
  };
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      process.stderr.write(`\n${signal}: stopping the redis servers\n`);
      void cleanup().finally(() => process.exit(130));
    });
  }

  const command = `npx tsx bench/cluster.ts${process.argv.length > 2 ? ` ${process.argv.slice(2).join(' ')}` : ''}`;
  const t0 = performance.now();
  try {
    // Same persistence everywhere: none by default (as bench/throughput.ts), AOF everysec with --aof.
    const persistence = opts.aof ? ['--appendonly', 'yes', '--appendfsync', 'everysec'] : ['--appendonly', 'no'];
    const server = await startRedisServer(persistence);
    servers.push(server);
    // A standalone master with one replica: separates what replication costs from what the cluster costs.
    const replMaster = await startRedisServer(persistence);
    servers.push(replMaster);
    const replReplica = await startRedisServer([...persistence, '--replicaof', '127.0.0.1', String(replMaster.port), '--repl-diskless-sync-delay', '0']);
    servers.push(replReplica);
    cluster = await startRedisCluster({ masters: MASTERS, replicasPerMaster: REPLICAS_PER_MASTER, extraArgs: persistence });

    // ---- standalone targets
    const direct = (port: number): Redis => {
      const c = new Redis({ host: '127.0.0.1', port });
      clients.push(c);
      return c;
    };
    const singleClient = direct(server.port);
    const single: Target = {
      id: 'single',
      label: 'single redis-server',
      redis: `redis://127.0.0.1:${server.port}`,
      data: singleClient,
      nodes: [{ port: server.port, role: 'standalone', client: singleClient }],
      ownerOfSlot: () => server.port,
    };
    const replMasterClient = direct(replMaster.port);
    const replReplicaClient = direct(replReplica.port);
    for (const deadline = Date.now() + 15_000; parseInfo(await replReplicaClient.info('replication')).master_link_status !== 'up'; ) {
      if (Date.now() > deadline) throw new Error(`replica :${replReplica.port} did not connect to :${replMaster.port}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const replicated: Target = {
      id: 'replicated',
      label: 'single redis-server + 1 replica',
      redis: `redis://127.0.0.1:${replMaster.port}`,
      data: replMasterClient,
      nodes: [
        { port: replMaster.port, role: 'standalone', client: replMasterClient },
        { port: replReplica.port, role: 'replica', masterPort: replMaster.port, client: replReplicaClient },
      ],
      ownerOfSlot: () => replMaster.port,
    };

    // ---- cluster target: roles and slot map from CLUSTER SLOTS
    const nodeClients = new Map<number, Redis>();
    for (const n of cluster.nodes) {
      const c = new Redis({ host: '127.0.0.1', port: n.port });
      clients.push(c);
      nodeClients.set(n.port, c);
    }
    const slotsReply = (await nodeClients.get(cluster.nodes[0]!.port)!.call('CLUSTER', 'SLOTS')) as SlotsReply;
    const slotOwner = new Int32Array(SLOTS).fill(-1);
    const masterSlots = new Map<number, string[]>();
    const replicaOf = new Map<number, number>();
    for (const [start, end, master] of slotsReply) {
      const mport = Number(master[1]);
      slotOwner.fill(mport, Number(start), Number(end) + 1);
      masterSlots.set(mport, [...(masterSlots.get(mport) ?? []), `${start}-${end}`]);
    }
    // Replicas from each node's own INFO replication (CLUSTER SLOTS may not list them yet).
    for (const [port, c] of nodeClients) {
      const repl = parseInfo(await c.info('replication'));
      if (repl.role === 'slave') replicaOf.set(port, Number(repl.master_port));
    }
    if (slotOwner.includes(-1)) throw new Error('CLUSTER SLOTS does not cover all 16384 slots');
    const masterPorts = [...masterSlots.keys()].sort((a, b) => a - b);
    const clusterNodes: NodeRef[] = [
      ...masterPorts.map((port): NodeRef => ({ port, role: 'master', slots: masterSlots.get(port)!.join(','), client: nodeClients.get(port)! })),
      ...[...replicaOf.keys()]
        .sort((a, b) => replicaOf.get(a)! - replicaOf.get(b)!)
        .map((port): NodeRef => ({ port, role: 'replica', masterPort: replicaOf.get(port)!, client: nodeClients.get(port)! })),
    ];
    if (clusterNodes.length !== cluster.nodes.length) throw new Error(`CLUSTER SLOTS names ${clusterNodes.length} nodes, expected ${cluster.nodes.length}`);
    const clusterData = new Cluster(cluster.startupNodes);
    clients.push(clusterData);
    await clusterData.ping();
    const clusterTarget: Target = {
      id: 'cluster',
      label: `cluster ${MASTERS} masters × ${1 + REPLICAS_PER_MASTER}`,
      redis: { cluster: cluster.startupNodes },
      data: clusterData,
      nodes: clusterNodes,
      ownerOfSlot: (slot) => slotOwner[slot]!,
    };

    // ---- namespaces of the cluster cases: their names alone place the 16 shards on the masters
    const perMaster = (ns: string, shards = SHARDS) => spreadOf(ns, shards, masterPorts, clusterTarget.ownerOfSlot);
    const ratioOf = (counts: number[]) => (Math.min(...counts) === 0 ? Infinity : Math.max(...counts) / Math.min(...counts));
    const pick = (want: (counts: number[]) => boolean, also: (ns: string) => boolean = () => true): string => {
      for (let i = 0; i < 10_000; i++) if (want(perMaster(`bench-${i}`)) && also(`bench-${i}`)) return `bench-${i}`;
      throw new Error('no bench-<i> namespace with the wanted placement');
    };
    const best = Math.ceil(SHARDS / MASTERS) / Math.floor(SHARDS / MASTERS);
    const balancedNs = opts.namespace ?? pick((c) => ratioOf(c) <= best);
    const skewedNs = opts.skewedNamespace ?? pick((c) => ratioOf(c) >= 2 && Number.isFinite(ratioOf(c)));
    // The rebalanced namespace's slots move: none may hold a shard of the other two namespaces.
    const slotsOf = (ns: string) => Array.from({ length: SHARDS }, (_, s) => keySlot(streamKey(ns, s)));
    const otherSlots = new Set([...slotsOf(balancedNs), ...slotsOf(skewedNs)]);
    const rebalancedNs =
      opts.rebalancedNamespace ??
      pick(
        (c) => ratioOf(c) >= 2 && Number.isFinite(ratioOf(c)),
        (ns) => ns !== skewedNs && slotsOf(ns).every((slot) => !otherSlots.has(slot)),
      );
    if (slotsOf(rebalancedNs).some((slot) => otherSlots.has(slot))) throw new Error(`--rebalanced-namespace ${rebalancedNs} shares a slot with ${balancedNs} or ${skewedNs}`);
    // Slot owners as the cluster was created (redis-cli's even split), before balanceTopic moves any.
    const createdOwner = slotOwner.slice();

    // ---- CRC16 check against the server
    const checkKeys = [
      ...Array.from({ length: SHARDS }, (_, s) => streamKey(balancedNs, s)),
      ...Array.from({ length: SHARDS }, (_, s) => streamKey(skewedNs, s)),
      ...Array.from({ length: SHARDS }, (_, s) => streamKey(rebalancedNs, s)),
      ...randomNames(16, opts.seed + 7).map((ns, i) => streamKey(ns, i * 8)),
      'foo',
      'user-42',
      '{user1000}.following',
      'foo{}{bar}',
      'foo{{bar}}zap',
      'foo{bar}{zap}',
      'ключ-ü',
    ];
    const probe = nodeClients.get(masterPorts[0]!)!;
    for (const k of checkKeys) {
      const fromServer = Number(await probe.call('CLUSTER', 'KEYSLOT', k));
      if (fromServer !== keySlot(k)) throw new Error(`CRC16 mismatch for ${JSON.stringify(k)}: CLUSTER KEYSLOT says ${fromServer}, local ${keySlot(k)}`);
    }

    const info = parseInfo(await singleClient.info('server'));
    const machine = { ...describeMachine(info.redis_version ?? 'unknown'), loadAverageAtStart: os.loadavg().map((x) => Number(x.toFixed(2))) };
    const masterList = clusterNodes.filter((n) => n.role === 'master');
    process.stderr.write(
      `redis ${machine.redis}: single on :${server.port}; single + replica on :${replMaster.port} → :${replReplica.port}; cluster masters ${masterList.map((n) => `:${n.port} (${n.slots})`).join(', ')}, ` +
        `replicas ${clusterNodes
          .filter((n) => n.role === 'replica')
          .map((n) => `:${n.port}→:${n.masterPort}`)
          .join(', ')}; persistence ${opts.aof ? 'AOF everysec' : 'none'}\n` +
        `${machine.cpu}, ${machine.cores} cores, node ${machine.node}, load average ${machine.loadAverageAtStart.join(' ')}\n` +
        `${opts.records} records × ${opts.reps} reps, ${SHARDS} shards, ${VALUE_BYTES}-byte values; cluster namespaces "${balancedNs}" (shards per master ${perMaster(balancedNs).join('/')}) ` +
        `and "${skewedNs}" (${perMaster(skewedNs).join('/')}), "${rebalancedNs}" (${perMaster(rebalancedNs).join('/')} before balanceTopic); local CRC16 matches CLUSTER KEYSLOT for ${checkKeys.length} keys\n`,
    );

    interface Variant {
      id: 'single' | 'replicated' | 'cluster' | 'skewed' | 'rebalanced';
      label: string;
      target: Target;
      ns: string;
    }
    const variants: Variant[] = [
      { id: 'single', label: 'single redis-server', target: single, ns: balancedNs },
      { id: 'replicated', label: 'single redis-server + 1 replica', target: replicated, ns: balancedNs },
      { id: 'cluster', label: `cluster, \`${balancedNs}\` (shards ${perMaster(balancedNs).join('/')})`, target: clusterTarget, ns: balancedNs },
      { id: 'skewed', label: `cluster, \`${skewedNs}\` (shards ${perMaster(skewedNs).join('/')})`, target: clusterTarget, ns: skewedNs },
    ];
    // Background CPU of idle servers (cron, cluster bus, replication pings), to judge the per-record numbers.
    const idleTargets = [single, replicated, clusterTarget];
    const idleBefore = await Promise.all(idleTargets.map((t) => nodeCounters(t)));
    const idleT0 = performance.now();
    await new Promise((r) => setTimeout(r, 2_000));
    const idleAfter = await Promise.all(idleTargets.map((t) => nodeCounters(t)));
    const idleSec = (performance.now() - idleT0) / 1000;
    const idleCpuMsPerSec = Object.fromEntries(
      idleTargets.map((t, i) => {
        const ms = [...idleAfter[i]!].reduce((a, [port, c]) => a + (c.cpuSec - idleBefore[i]!.get(port)!.cpuSec) * 1000, 0);
        return [t.id, ms / idleSec];
      }),
    ) as Record<Target['id'], number>;
    process.stderr.write(
      `idle server CPU: single ${idleCpuMsPerSec.single.toFixed(2)} ms/s, single + replica ${idleCpuMsPerSec.replicated.toFixed(2)} ms/s, cluster (6 processes) ${idleCpuMsPerSec.cluster.toFixed(2)} ms/s\n`,
    );

    const w = makeWorkload(opts.records, opts.seed);

    // ---- balanceTopic: the rebalanced namespace gets one run's records, then its slots move with
    // the records in place; records per master are counted (XLEN per shard) before and after.
    await deleteNamespace(clusterTarget, rebalancedNs);
    await fireAndForget(clusterTarget, w, rebalancedNs, opts.records);
    const lensBefore = await streamLengths(clusterTarget, rebalancedNs);
    const balanceT0 = performance.now();
    const balanced: BalanceResult = await balanceTopic(clusterData, { namespace: rebalancedNs, topic: TOPIC, execute: true });
    const balanceMs = performance.now() - balanceT0;
    const portOf = (nodeId: string) => Number(balanced.addresses[nodeId]!.split(':').pop());
    for (const move of balanced.moves) {
      slotOwner[move.slot] = portOf(move.to);
      for (const n of clusterNodes) {
        if (n.port === portOf(move.to)) n.slots += `,+${move.slot}`;
        if (n.port === portOf(move.from)) n.slots += `,−${move.slot}`;
      }
    }
    const lensAfter = await streamLengths(clusterTarget, rebalancedNs);
    if (lensBefore.total !== opts.records || lensAfter.total !== opts.records) {
      throw new Error(`VERIFY FAILED for balanceTopic: ${lensBefore.total} records before, ${lensAfter.total} after, expected ${opts.records}`);
    }
    const spreadRow = (lens: Awaited<ReturnType<typeof streamLengths>>) => {
      const shards = masterPorts.map((p) => lens.shardsByNode.get(p) ?? 0);
      const records = masterPorts.map((p) => lens.byNode.get(p) ?? 0);
      return { shardsPerMaster: shards, recordsPerMaster: records, shardRatio: ratioOf(shards), recordRatio: ratioOf(records) };
    };
    const balanceReport = {
      namespace: rebalancedNs,
      masters: masterPorts,
      before: spreadRow(lensBefore),
      after: spreadRow(lensAfter),
      moves: balanced.moves.map((m) => ({ slot: m.slot, shards: m.shards, from: portOf(m.from), to: portOf(m.to) })),
      keysMoved: balanced.keysMoved,
      elapsedMs: balanceMs,
    };
    process.stderr.write(
      `balanceTopic ${rebalancedNs}: shards per master ${balanceReport.before.shardsPerMaster.join('/')} → ${balanceReport.after.shardsPerMaster.join('/')}, ` +
        `records per master ${balanceReport.before.recordsPerMaster.join('/')} (${fmtRatio(balanceReport.before.recordRatio)}) → ` +
        `${balanceReport.after.recordsPerMaster.join('/')} (${fmtRatio(balanceReport.after.recordRatio)}); ${balanced.moves.length} slot moves, ` +
        `${balanced.keysMoved} keys, ${balanceMs.toFixed(0)} ms\n`,
    );
    variants.push({
      id: 'rebalanced',
      label: `cluster, \`${rebalancedNs}\` after balanceTopic (shards ${balanceReport.after.shardsPerMaster.join('/')}, was ${balanceReport.before.shardsPerMaster.join('/')})`,
      target: clusterTarget,
      ns: rebalancedNs,
    });
    // Cases grouped per mode (single, single + replica, cluster, skewed cluster), so each group runs
    // in the same surroundings; the order reverses every other repetition.
    const cases = MODES.flatMap((mode) => variants.map((v) => ({ mode, v, id: `${mode.id}:${v.id}` })));

    if (opts.warmup) {
      const n = Math.min(opts.records, 10_000);
      process.stderr.write(`warm-up: every case once with ${n} records (not recorded)\n`);
      for (const c of cases) await runCase(c.v.target, c.mode, w, c.v.ns, n);
    }

    const results = new Map<string, RepResult[]>(cases.map((c) => [c.id, []]));
    for (let rep = 1; rep <= opts.reps; rep++) {
      const order = rep % 2 === 1 ? cases : [...cases].reverse();
      for (const c of order) {
        const r = await runCase(c.v.target, c.mode, w, c.v.ns, opts.records);
        results.get(c.id)!.push({ rep, ...r });
        const masters = r.nodes.filter((x) => x.role === 'master');
        process.stderr.write(
          `[rep ${rep}/${opts.reps}] ${c.mode.name} → ${c.v.label}: ${r.records} records in ${(r.elapsedMs / 1000).toFixed(2)} s = ${fmtInt(r.recordsPerSec)} rec/s ` +
            `(client CPU ${r.clientCpuUsPerRecord.toFixed(2)} µs/rec, server CPU ${r.serverCpuUsPerRecord.toFixed(2)} µs/rec` +
            (masters.length ? `: masters ${masters.map((m) => m.cpuUsPerRecord.toFixed(2)).join(' + ')}` : '') +
            (r.nodes.some((x) => x.role === 'replica') ? `, replicas ${r.replicasCpuUsPerRecord.toFixed(2)}` : '') +
            `; other processes ${fmtPct(r.otherCpuShare)} of the machine) verified\n`,
        );
      }
    }

    // ---- spread
    const names = randomNames(opts.names, opts.seed + 1);
    const spread = spreadAnalysis(names, masterPorts, (slot) => createdOwner[slot]!);
    process.stderr.write(`spread: ${opts.names} random namespaces × shard counts ${SPREAD_SHARDS.join(', ')} done\n`);

    // ---- report
    const med = (id: string, f: (r: RepResult) => number) => median(results.get(id)!.map(f));
    const medNode = (id: string, port: number, f: (r: NodeResult) => number) => median(results.get(id)!.map((r) => f(r.nodes.find((x) => x.port === port)!)));
    const rows = cases.map((c) => {
      const rate = med(c.id, (r) => r.recordsPerSec);
      return {
        id: c.id,
        mode: c.mode.name,
        target: c.v.label,
        namespace: c.v.ns,
        records: opts.records,
        medianRecordsPerSec: rate,
        ratioToSingle: rate / med(`${c.mode.id}:single`, (r) => r.recordsPerSec),
        // Cases of one mode run next to each other, so a repetition's ratio cancels slow drift in load.
        ratioToSinglePairedMedian: median(results.get(c.id)!.map((r, i) => r.recordsPerSec / results.get(`${c.mode.id}:single`)![i]!.recordsPerSec)),
        otherCpuShareMedian: med(c.id, (r) => r.otherCpuShare),
        clientCpuUsPerRecord: med(c.id, (r) => r.clientCpuUsPerRecord),
        serverCpuUsPerRecord: med(c.id, (r) => r.serverCpuUsPerRecord),
        mastersCpuUsPerRecord: med(c.id, (r) => r.mastersCpuUsPerRecord),
        replicasCpuUsPerRecord: med(c.id, (r) => r.replicasCpuUsPerRecord),
        reps: results.get(c.id)!,
      };
    });

    const lines: string[] = [];
    lines.push(
      `### Throughput (median of ${opts.reps} reps, ${fmtInt(opts.records)} records, ${SHARDS} shards, ${VALUE_BYTES}-byte values, random keys)`,
      '',
      `Cluster = ${MASTERS} masters + ${MASTERS * REPLICAS_PER_MASTER} replicas. Namespace \`${balancedNs}\` puts ${perMaster(balancedNs).join('/')} shards on the masters (the best possible), ` +
        `\`${skewedNs}\` puts ${perMaster(skewedNs).join('/')}. Server CPU = \`used_cpu_sys + used_cpu_user\` deltas from INFO, summed over the target's processes.`,
      '',
    );
    lines.push('| case | target | median records/s | vs single | client CPU µs/rec | server CPU µs/rec: masters + replicas = all | other load |');
    lines.push('|---|---|---:|---:|---:|---:|---:|');
    for (const r of rows) {
      const server = r.reps[0]!.nodes.some((x) => x.role === 'replica')
        ? `${r.mastersCpuUsPerRecord.toFixed(2)} + ${r.replicasCpuUsPerRecord.toFixed(2)} = ${r.serverCpuUsPerRecord.toFixed(2)}`
        : r.serverCpuUsPerRecord.toFixed(2);
      lines.push(
        `| ${r.mode} | ${r.target} | ${fmtInt(r.medianRecordsPerSec)} | ${fmtRatio(r.ratioToSinglePairedMedian)} | ${r.clientCpuUsPerRecord.toFixed(2)} | ${server} | ${fmtPct(r.otherCpuShareMedian)} |`,
      );
    }
    lines.push(
      '',
      '"vs single" is the median over repetitions of records/s ÷ the single server\'s records/s in the same repetition. ' +
        '"other load" is the median share of the machine (all cores) used by other processes during the case: other sessions\' work, the idle targets.',
    );

    lines.push(
      '',
      `### Server CPU per node (median of ${opts.reps} reps)`,
      '',
      `µs/rec sent = the node's CPU over the case ÷ all ${fmtInt(opts.records)} records, so a target's rows add up; ` +
        `µs/rec stored = the node's CPU ÷ the records it stores (a replica: its master's records).`,
      '',
    );
    lines.push(`| target | node | shards / records stored | ${MODES.map((m) => `${m.name}: µs/rec sent | µs/rec stored`).join(' | ')} |`);
    lines.push(`|---|---|---:|${MODES.map(() => '---:|---:').join('|')}|`);
    for (const v of variants) {
      for (const node of v.target.nodes) {
        const first = results.get(`${MODES[0]!.id}:${v.id}`)![0]!.nodes.find((x) => x.port === node.port)!;
        const role = node.role === 'master' ? `master :${node.port} (slots ${node.slots})` : node.role === 'replica' ? `replica :${node.port} of :${node.masterPort}` : `standalone :${node.port}`;
        const share = `${first.shardsStored} / ${fmtPct(first.recordsStored / opts.records)}`;
        const cells = MODES.map((m) => {
          const id = `${m.id}:${v.id}`;
          return `${medNode(id, node.port, (x) => x.cpuUsPerRecord).toFixed(2)} | ${medNode(id, node.port, (x) => x.cpuUsPerRecordStored).toFixed(2)}`;
        });
        lines.push(`| ${v.label} | ${role} | ${node.role === 'replica' ? `(${share})` : share} | ${cells.join(' | ')} |`);
      }
      if (v.target.nodes.length > 2) {
        const total = (label: string, f: (r: RepResult) => number) => lines.push(`| ${v.label} | ${label} | | ${MODES.map((m) => `**${med(`${m.id}:${v.id}`, f).toFixed(2)}** | `).join('| ')}|`);
        total('masters together', (r) => r.mastersCpuUsPerRecord);
        total('replicas together', (r) => r.replicasCpuUsPerRecord);
        total(`all ${v.target.nodes.length} processes`, (r) => r.serverCpuUsPerRecord);
      }
    }

    lines.push('', `### Records per master in the throughput runs (from XLEN of each shard, whose slot gives its master)`, '');
    lines.push(`| namespace | ${masterList.map((m) => `master :${m.port}`).join(' | ')} | max/min | busiest master's share |`);
    lines.push(`|---|${masterList.map(() => '---:').join('|')}|---:|---:|`);
    const placement = variants
      .filter((v) => v.target.id === 'cluster')
      .map((v) => {
        const first = results.get(`${MODES[0]!.id}:${v.id}`)![0]!;
        const recs = masterList.map((m) => first.nodes.find((x) => x.port === m.port)!.recordsStored);
        const shards = masterList.map((m) => first.nodes.find((x) => x.port === m.port)!.shardsStored);
        return { namespace: v.ns, masters: masterList.map((m) => m.port), recordsPerMaster: recs, shardsPerMaster: shards, maxMinRatio: ratioOf(recs), busiestShare: Math.max(...recs) / opts.records };
      });
    for (const p of placement) {
      lines.push(`| \`${p.namespace}\` | ${p.recordsPerMaster.map((r, i) => `${fmtInt(r)} (${p.shardsPerMaster[i]} shards)`).join(' | ')} | ${fmtRatio(p.maxMinRatio)} | ${fmtPct(p.busiestShare)} |`);
    }

    const b = balanceReport;
    lines.push(
      '',
      `### Balancing \`${b.namespace}\` with balanceTopic (redis-stream-producer/admin)`,
      '',
      `${fmtInt(opts.records)} records written first, then ${b.moves.length} slot move${b.moves.length === 1 ? '' : 's'} (${b.moves.map((m) => `slot ${m.slot}: :${m.from} → :${m.to}`).join(', ')}; ` +
        `${b.keysMoved} keys) in ${b.elapsedMs.toFixed(0)} ms with the records in place. Records per master from XLEN of each shard.`,
      '',
      `| | ${masterList.map((m) => `master :${m.port}`).join(' | ')} | max/min shards | max/min records |`,
      `|---|${masterList.map(() => '---:').join('|')}|---:|---:|`,
      ...(['before', 'after'] as const).map((when) => {
        const row = b[when];
        const cells = masterList.map((m) => {
          const i = b.masters.indexOf(m.port);
          return `${fmtInt(row.recordsPerMaster[i]!)} (${row.shardsPerMaster[i]} shards)`;
        });
        return `| ${when} | ${cells.join(' | ')} | ${fmtRatio(row.shardRatio)} | ${fmtRatio(row.recordRatio)} |`;
      }),
      '',
      'The throughput rows for this namespace above ran with the placement after balancing.',
    );

    lines.push(
      '',
      `### Shard spread over ${MASTERS} masters for ${opts.names} random namespace names`,
      '',
      `Slot of \`{ns:${TOPIC}:shard}\` by CRC16, masters by the cluster's slot ranges (redis-cli's even split); ratio = max/min shards per master. ` + 'Records follow shards when keys are uniform.',
      '',
    );
    lines.push(
      "| shards | best possible max/min | median max/min | p90 max/min | names with max/min ≤ 1.5 | busiest master's share, median | busiest master's share, p90 | names leaving a master empty |",
    );
    lines.push('|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const r of spread) {
      lines.push(
        `| ${r.shards} | ${fmtRatio(r.bestRatio)} | ${fmtRatio(r.medianRatio)} | ${fmtRatio(r.p90Ratio)} | ${fmtPct(r.shareRatioAtMost1_5)} | ` +
          `${fmtPct(r.medianBusiestShare)} | ${fmtPct(r.p90BusiestShare)} | ${r.namesWithEmptyMaster} |`,
      );
    }
    lines.push(
      '',
      `Idle servers burn CPU too (cron, cluster bus, replication pings): single ${idleCpuMsPerSec.single.toFixed(2)} ms/s, ` +
        `single + replica ${idleCpuMsPerSec.replicated.toFixed(2)} ms/s, cluster ${idleCpuMsPerSec.cluster.toFixed(2)} ms/s (all processes, measured over ${idleSec.toFixed(1)} s before the cases); ` +
        `at the cluster's fire-and-forget rate (${fmtInt(rows.find((r) => r.id === 'ff:cluster')!.medianRecordsPerSec)} records/s) that is ` +
        `${((idleCpuMsPerSec.cluster * 1000) / rows.find((r) => r.id === 'ff:cluster')!.medianRecordsPerSec).toFixed(3)} µs/rec of the cluster's server CPU.`,
    );
    const elapsedSec = (performance.now() - t0) / 1000;
    const loadAtEnd = os.loadavg().map((x) => Number(x.toFixed(2)));
    lines.push(
      '',
      `${new Date().toISOString().slice(0, 10)} · ${machine.cpu}, ${machine.cores} cores · node ${machine.node} · redis ${machine.redis} · ` +
        `persistence ${opts.aof ? 'AOF everysec' : 'none'} on every server · load average at start ${machine.loadAverageAtStart.join(' ')}, at end ${loadAtEnd.join(' ')} · \`${command}\` · ${elapsedSec.toFixed(0)} s`,
    );
    const processes = MASTERS * (1 + REPLICAS_PER_MASTER);
    if (machine.cores < processes + 1) {
      lines.push(
        '',
        `Note: ${machine.cores} cores for ${processes} redis-server processes plus the benchmark, so the cluster cannot scale linearly here: ` +
          'these numbers show what the cluster costs per record (replication, client-side routing, more processes sharing the cores) and how evenly the work spreads, not cluster capacity.',
      );
    }
    process.stdout.write(lines.join('\n') + '\n');

    mkdirSync(dirname(opts.out), { recursive: true });
    writeFileSync(
      opts.out,
      JSON.stringify(
        {
          date: new Date().toISOString(),
          command,
          machine,
          settings: {
            ...opts,
            out: undefined,
            namespace: balancedNs,
            skewedNamespace: skewedNs,
            rebalancedNamespace: rebalancedNs,
            shards: SHARDS,
            topic: TOPIC,
            valueBytes: VALUE_BYTES,
            keySpace: KEY_SPACE,
            masters: MASTERS,
            replicasPerMaster: REPLICAS_PER_MASTER,
            persistence: opts.aof ? 'AOF everysec' : 'none',
          },
          topology: {
            single: { port: server.port },
            replicated: { master: replMaster.port, replica: replReplica.port },
            cluster: clusterNodes.map(({ client: _c, ...n }) => n),
          },
          crc16CheckedKeys: checkKeys,
          throughput: rows,
          placement,
          balance: balanceReport,
          idleServerCpuMsPerSec: idleCpuMsPerSec,
          spread: { names: opts.names, topic: TOPIC, rows: spread },
          elapsedSec,
          loadAverageAtEnd: loadAtEnd,
        },
        (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v),
        2,
      ) + '\n',
    );
    process.stderr.write(`raw results: ${opts.out}\n`);
  } finally {
    await cleanup();
  }
}

main().catch((err: unknown) => {
  if (err instanceof UsageError) {
    process.stderr.write(`${err.message}\n`);
    process.exitCode = 2;
    return;
  }
  process.stderr.write(`benchmark failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
