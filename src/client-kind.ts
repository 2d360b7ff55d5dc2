import { Cluster, type Redis } from 'ioredis';
import { keySlot } from './admin/key-slot.js';

/** What the producer calls on a client it is given. */
const CLIENT_METHODS = ['defineCommand', 'pipeline', 'sendCommand', 'call', 'on', 'once', 'off', 'disconnect', 'quit'] as const;

/**
 * An ioredis `Redis` or `Cluster` of version 5 or 6. Checked by what it can do, not `instanceof`:
 * an application's own ioredis is often another copy (another major version) than this package's.
 */
export function isIoredisClient(value: unknown): value is Redis | Cluster {
  if (typeof value !== 'object' || value === null) return false;
  const client = value as Record<string, unknown>;
  return CLIENT_METHODS.every((method) => typeof client[method] === 'function') && typeof client.status === 'string';
}

/** An ioredis `Cluster` of any version (ioredis marks its Cluster instances with `isCluster`). */
export function isCluster(client: Redis | Cluster): client is Cluster {
  return client instanceof Cluster || (client as { isCluster?: unknown }).isCluster === true;
}

/** `host:port` of one connection, as a cluster's slot map names its nodes. */
export function connectionAddress(connection: Redis): string {
  return `${String(connection.options.host)}:${String(connection.options.port)}`;
}

/** `host:port` of the master a cluster routes `key` to now (its slot map); '' for a standalone client. */
export function nodeOfKey(client: Redis | Cluster, key: string): string {
  return isCluster(client) ? (client.slots[keySlot(key)]?.[0] ?? '') : '';
}
