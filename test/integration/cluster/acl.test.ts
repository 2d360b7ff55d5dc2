/**
 * The least-privilege ACL rule of docs/security.md on Redis Cluster: the standalone rule plus
 * `+cluster|slots +cluster|info +readonly +readwrite +client|setname`, created on every node. The producer delivers
 * batches to shards on every master, waits for replicas (`acks: 'all'`, so `WAIT` runs), parks and
 * replays a record, and no node logs an ACL refusal for the user.
 */
import type { Cluster, Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { streamKey } from '../../../src/keys.js';
import { aclRule, CLUSTER_COMMANDS, versionAdditions } from '../../support/acl-rule.js';
import { redisTarget, Resources, uniqueNamespace } from '../../support/helpers.js';

const res = new Resources();
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await res.closeAll();
  await Promise.allSettled(cleanups.splice(0).map((c) => c()));
});

/** ACL entries of `username` on `node`, as objects. */
async function aclLogOf(node: Redis, username: string): Promise<Record<string, unknown>[]> {
  const raw = (await node.call('ACL', 'LOG')) as unknown[][];
  return raw
    .map((entry) => {
      const obj: Record<string, unknown> = {};
      for (let i = 0; i < entry.length; i += 2) obj[String(entry[i])] = entry[i + 1];
      return obj;
    })
    .filter((e) => e.username === username);
}

describe('least-privilege ACL on Redis Cluster', () => {
  it('the rule plus the cluster additions: delivers (acks all), parks and replays, and no node refuses anything', async () => {
    const target = redisTarget();
    if (target.kind !== 'cluster') throw new Error('cluster-only test');
    const namespace = uniqueNamespace();
    const username = `producer-${namespace}`;
    const password = `pw-${namespace}`;
    const admin = res.admin() as Cluster;
    await admin.ping();
    const nodes = admin.nodes('all');
    expect(nodes.length).toBeGreaterThanOrEqual(3);
    // ACLs are per server: every node, replicas included (a failover promotes one).
    await Promise.all(nodes.map(async (node) => node.call('ACL', 'SETUSER', username, ...aclRule(namespace, password, [...CLUSTER_COMMANDS, ...(await versionAdditions(node))]))));
    cleanups.push(() => Promise.all(nodes.map((node) => node.call('ACL', 'DELUSER', username))));

    const cluster = { cluster: target.nodes, options: { redisOptions: { username, password } } };
    const producer = res.producer({ redis: cluster, namespace, defaultShards: 8, compensation: { replay: { enabled: false } } });
    producer.on('error', () => {});
    const acks = await producer.sendBatch(Array.from({ length: 200 }, (_, i) => ({ topic: 'orders', key: `k${i}`, value: `v${i}` })));
    expect(acks.every((a) => a.status === 'delivered')).toBe(true);
    const shards = new Set(acks.map((a) => (a.status === 'delivered' ? a.shard : -1)));
    expect(shards.size).toBe(8);

    const durable = res.producer({ redis: cluster, namespace, defaultShards: 8, acks: 'all', ackReplicas: 1, compensation: { replay: { enabled: false } } });
    durable.on('error', () => {});
    expect(await durable.send({ topic: 'orders', key: 'w', value: 'waited for a replica' })).toMatchObject({ status: 'delivered' });

    await admin.set(streamKey(namespace, 'refusing', 0), 'not a stream');
    expect(await producer.send({ topic: 'refusing', value: 'parked', shard: 0 })).toMatchObject({ status: 'spilled', parkedIn: 'redis' });
    expect(await producer.compensation.stats('refusing')).toMatchObject({ pending: 1 });
    await admin.del(streamKey(namespace, 'refusing', 0));
    expect(await producer.compensation.replayNow()).toMatchObject({ replayed: 1 });
    expect(await admin.xlen(streamKey(namespace, 'refusing', 0))).toBe(1);

    await producer.close();
    await durable.close();
    const refusals = (await Promise.all(nodes.map((node) => aclLogOf(node, username)))).flat();
    expect(refusals).toEqual([]);
  });
});
