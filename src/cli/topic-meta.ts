import type { Cluster, Redis } from 'ioredis';
import { withDeadline } from '../connection.js';
import { topicMetaKey } from '../keys.js';
import { CliFailure } from './errors.js';

const TIMEOUT_MS = 5_000;

/** The shard count recorded in `{ns:topic}:meta`, or undefined when the topic was never produced to. */
export async function storedShards(client: Redis | Cluster, namespace: string, topic: string): Promise<number | undefined> {
  const raw = await withDeadline(client.hget(topicMetaKey(namespace, topic), 'shards'), TIMEOUT_MS, 'HGET topic metadata');
  if (raw === null) return undefined;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) throw new CliFailure(`${topicMetaKey(namespace, topic)} holds shards=${JSON.stringify(raw)}, not a shard count`);
  return n;
}

/** The recorded shard count; a topic without metadata is a failure that says what to check. */
export async function requireShards(client: Redis | Cluster, namespace: string, topic: string): Promise<number> {
  const shards = await storedShards(client, namespace, topic);
  if (shards === undefined) {
    throw new CliFailure(`topic "${topic}" does not exist in namespace "${namespace}" (no ${topicMetaKey(namespace, topic)}): nothing was produced to it yet, or it lives in another --namespace`);
  }
  return shards;
}
