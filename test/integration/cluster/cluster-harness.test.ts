/**
 * The Redis Cluster test harness itself (test/support/redis-cluster.ts): a real 3-master cluster that a
 * client can use, that reports its masters and slot owners, fails a killed master over to its
 * replica, lets the killed node rejoin, and leaves no process behind.
 */
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../support/helpers.js';
import { startRedisCluster, type ClusterNodeProcess, type RedisClusterHandle } from '../../support/redis-cluster.js';

let cluster: RedisClusterHandle;
let client: Cluster;
const pids = new Set<number>();

const admin = (port: number) => new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1, lazyConnect: true });

async function onNode<T>(port: number, run: (r: Redis) => Promise<T>): Promise<T> {
  const r = admin(port);
  try {
    return await run(r);
  } finally {
    r.disconnect();
  }
}

/** One key per master (by port), found by asking the cluster which slot each candidate hashes to. */
async function keyPerMaster(prefix: string): Promise<Map<number, string>> {
  const masters = await cluster.masters();
  const keys = new Map<number, string>();
  for (let i = 0; keys.size < masters.length; i++) {
    if (i > 1_000) throw new Error('no key found for some master');
    const key = `${prefix}:${i}`;
    const slot = Number(await client.cluster('KEYSLOT', key));
    const port = await cluster.masterOfSlot(slot);
    if (!keys.has(port)) keys.set(port, key);
  }
  return keys;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const remember = (n: ClusterNodeProcess) => n.process.pid !== undefined && pids.add(n.process.pid);

beforeAll(async () => {
  const t0 = Date.now();
  cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1, nodeTimeoutMs: 1_000 });
  console.log(`cluster started in ${Date.now() - t0} ms`);
  cluster.nodes.forEach(remember);
  client = new Cluster(cluster.startupNodes, { redisOptions: { maxRetriesPerRequest: 3 } });
});

afterAll(async () => {
  client?.disconnect();
  await cluster?.stop();
});

describe('startRedisCluster', () => {
  it('starts 3 masters with one replica each, on the ports it reports', async () => {
    expect(cluster.nodes).toHaveLength(6);
    expect(cluster.startupNodes.map((n) => n.port)).toEqual(cluster.nodes.map((n) => n.port));
    const roles = await Promise.all(cluster.nodes.map((n) => n.role()));
    expect(roles.filter((r) => r === 'master')).toHaveLength(3);
    expect(roles.filter((r) => r === 'replica')).toHaveLength(3);
    const masters = await cluster.masters();
    expect(masters).toHaveLength(3);
    expect(masters.sort()).toEqual(
      cluster.nodes
        .filter((_, i) => roles[i] === 'master')
        .map((n) => n.port)
        .sort(),
    );
  });

  it('serves SET/GET through an ioredis Cluster client in every master’s slots', async () => {
    const keys = await keyPerMaster('harness:a');
    expect(keys.size).toBe(3);
    for (const [port, key] of keys) {
      await client.set(key, `v-${port}`);
      expect(await client.get(key)).toBe(`v-${port}`);
      // The value really lives on that master.
      expect(await onNode(port, (r) => r.get(key))).toBe(`v-${port}`);
    }
  });

  it('masterOfSlot agrees with CLUSTER SLOTS', async () => {
    const ranges = await onNode(cluster.nodes[0]!.port, (r) => r.cluster('SLOTS'));
    const covered = ranges.reduce((n, [start, end]) => n + end - start + 1, 0);
    expect(covered).toBe(16_384);
    for (const [start, end, master] of ranges) {
      const port = master![1];
      for (const slot of [start, Math.floor((start + end) / 2), end]) expect(await cluster.masterOfSlot(slot)).toBe(port);
    }
  });

  it('promotes the replica of a SIGKILLed master, and the client keeps working', async () => {
    const before = await cluster.masters();
    const victimPort = before[0]!;
    const victim = cluster.nodes.find((n) => n.port === victimPort)!;
    const key = (await keyPerMaster('harness:b')).get(victimPort)!;
    await client.set(key, 'before');
    // Make sure the replica has the write before the master dies (replication is asynchronous).
    expect(await onNode(victimPort, (r) => r.call('WAIT', 1, 2_000))).toBe(1);
    const replicaPorts: number[] = [];
    for (const n of cluster.nodes) {
      if (n === victim) continue;
      const masterPort = await onNode(n.port, async (r) => /master_port:(\d+)/.exec(await r.info('replication'))?.[1]);
      if (Number(masterPort) === victimPort) replicaPorts.push(n.port);
    }
    expect(replicaPorts).toHaveLength(1);

    const t0 = Date.now();
    await victim.kill('SIGKILL');
    expect(victim.process.signalCode).toBe('SIGKILL');
    await cluster.waitUntilOk(20_000);
    await eventually(async () => !(await cluster.masters()).includes(victimPort), 'masters() no longer lists the killed master');
    console.log(`failover took ${Date.now() - t0} ms with cluster-node-timeout 1000`);

    const after = await cluster.masters();
    expect(after).toHaveLength(3);
    expect(after).toContain(replicaPorts[0]);
    expect(after.filter((p) => !before.includes(p))).toEqual(replicaPorts);
    expect(await cluster.nodes.find((n) => n.port === replicaPorts[0])!.role()).toBe('master');

    expect(await client.get(key)).toBe('before');
    await client.set(key, 'after');
    expect(await client.get(key)).toBe('after');
    for (const [port, k] of await keyPerMaster('harness:c')) {
      await client.set(k, String(port));
      expect(await client.get(k)).toBe(String(port));
    }
  });

  it('restarts the killed node on its port and dir; it rejoins as a replica', async () => {
    const masters = await cluster.masters();
    const killed = cluster.nodes.find((n) => n.process.signalCode === 'SIGKILL')!;
    await killed.restart();
    remember(killed);
    await cluster.waitUntilOk(20_000);
    expect(await killed.role()).toBe('replica');
    expect(await cluster.masters()).toEqual(masters);
  });

  it('stop() leaves no redis-server of the cluster running', async () => {
    expect(pids.size).toBe(7);
    expect([...pids].filter(isAlive)).toHaveLength(6);
    client.disconnect();
    await cluster.stop();
    expect([...pids].filter(isAlive)).toEqual([]);
    for (const n of cluster.nodes) expect(n.process.exitCode !== null || n.process.signalCode !== null).toBe(true);
  });
});
