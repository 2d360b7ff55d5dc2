import type { Cluster, Redis } from 'ioredis';
import { connectionAddress, isCluster } from './client-kind.js';
import { withDeadline } from './connection.js';

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

/**
 * The masters (the server, standalone) that may evict keys, as `"host:port evicts keys
 * (maxmemory-policy allkeys-lru)"`. Eviction drops streams, parked records or idempotence state
 * without an error anyone sees, so the producer says so when it connects.
 */
export async function mastersThatEvict(client: Redis | Cluster, timeoutMs: number): Promise<string[]> {
  const masters = isCluster(client) ? client.nodes('master') : [client];
  const policies = await Promise.all(masters.map(async (master) => evictionPolicy(await withDeadline(master.info('memory'), timeoutMs, 'INFO memory'))));
  return masters.flatMap((master, i) => (policies[i] === undefined ? [] : [`${connectionAddress(master)} evicts keys (maxmemory-policy ${policies[i]})`]));
}
