import type { Cluster, Redis } from 'ioredis';
import { connectionAddress, isCluster } from './client-kind.js';
import { withDeadline } from './connection.js';
import { onlineReplicas } from './scripts.js';

/**
 * The masters (the server, standalone) with fewer than `needed` online replicas, as
 * `"host:port has N"`: with `acks: 'all'` their batches can only retry until `deliveryTimeoutMs`
 * and park, so the producer says so when it connects rather than after the first timeout.
 */
export async function mastersShortOfReplicas(client: Redis | Cluster, needed: number, timeoutMs: number): Promise<string[]> {
  const masters = isCluster(client) ? client.nodes('master') : [client];
  const counts = await Promise.all(masters.map(async (master) => onlineReplicas(await withDeadline(master.info('replication'), timeoutMs, 'INFO replication'))));
  return masters.flatMap((master, i) => (counts[i]! < needed ? [`${connectionAddress(master)} has ${counts[i]}`] : []));
}
