/**
 * Server settings that put records at risk, read when the producer connects: each check asks every
 * master (the server, standalone) for one `INFO` section and names the masters it finds wanting.
 */
import type { Cluster, Redis } from 'ioredis';
import { connectionAddress, isCluster } from './client-kind.js';
import { withDeadline } from './connection.js';
import { onlineReplicas } from './scripts.js';

/** Every master's `INFO <section>`, judged: those `judge` finds wanting, as `"host:port <what it says>"`. */
async function mastersWhere(client: Redis | Cluster, section: string, timeoutMs: number, judge: (info: string) => string | undefined): Promise<string[]> {
  const masters = isCluster(client) ? client.nodes('master') : [client];
  const verdicts = await Promise.all(masters.map(async (master) => judge(await withDeadline(master.info(section), timeoutMs, `INFO ${section}`))));
  return masters.flatMap((master, i) => (verdicts[i] === undefined ? [] : [`${connectionAddress(master)} ${verdicts[i]}`]));
}

/**
 * The masters with fewer than `needed` online replicas, as `"host:port has N"`: with `acks: 'all'`
 * their batches can only retry until `deliveryTimeoutMs` and park, so the producer says so when it
 * connects rather than after the first timeout.
 */
export function mastersShortOfReplicas(client: Redis | Cluster, needed: number, timeoutMs: number): Promise<string[]> {
  return mastersWhere(client, 'replication', timeoutMs, (info) => {
    const online = onlineReplicas(info);
    return online < needed ? `has ${online}` : undefined;
  });
}

/**
 * The masters that may evict keys, as `"host:port evicts keys (maxmemory-policy allkeys-lru)"`.
 * Eviction drops streams, parked records or idempotence state without an error anyone sees.
 */
export function mastersThatEvict(client: Redis | Cluster, timeoutMs: number): Promise<string[]> {
  return mastersWhere(client, 'memory', timeoutMs, (info) => {
    const policy = evictionPolicy(info);
    return policy === undefined ? undefined : `evicts keys (maxmemory-policy ${policy})`;
  });
}

/**
 * The eviction policy an `INFO memory` reply says the server applies when memory runs out, or
 * undefined when it never evicts (no `maxmemory`, or `noeviction`).
 */
export function evictionPolicy(info: string): string | undefined {
  const field = (name: string) => new RegExp(`^${name}:(\\S*)`, 'm').exec(info)?.[1];
  const maxmemory = Number(field('maxmemory') ?? '0');
  const policy = field('maxmemory_policy');
  return maxmemory > 0 && policy !== undefined && policy !== 'noeviction' ? policy : undefined;
}
