/**
 * Where the benchmark writes: one standalone server or a Redis Cluster. A `Target` is plain data, so
 * it travels to each case's process in the job's JSON; the helpers here turn it into the clients a
 * case needs (ioredis `Redis` or `Cluster`, the producer's `redis` option). Starting one is the
 * harness's job (`startTarget`).
 */
import { Cluster, Redis } from 'ioredis';
import type { ProducerConfig } from '../src/index.js';

export interface HostPort {
  host: string;
  port: number;
}

/** A standalone server by URL, or a cluster by its startup nodes. */
export type Target = { kind: 'standalone'; url: string } | { kind: 'cluster'; nodes: HostPort[] };

/** A data client of either kind: the commands a case sends exist on both. */
export type Client = Redis | Cluster;

/** The producer's `redis` option for the target. */
export const producerRedis = (target: Target): ProducerConfig['redis'] => (target.kind === 'standalone' ? target.url : { cluster: target.nodes });

/** `redis://…` or `cluster 127.0.0.1:7000,…`, for the progress line. */
export const targetAddress = (target: Target): string => (target.kind === 'standalone' ? target.url : `cluster ${target.nodes.map((n) => `${n.host}:${n.port}`).join(',')}`);

/** The URL of a standalone target; throws for a cluster (for the parts that need one server). */
export function standaloneUrl(target: Target): string {
  if (target.kind !== 'standalone') throw new Error('this part of the benchmark needs a standalone server');
  return target.url;
}

/** A connected ioredis client for the target (a `Cluster` has loaded its slot map and nodes). */
export async function connect(target: Target, options: { enableAutoPipelining?: boolean } = {}): Promise<Client> {
  const client = target.kind === 'standalone' ? new Redis(target.url, options) : new Cluster(target.nodes, options);
  try {
    await client.ping();
  } catch (err) {
    client.disconnect();
    throw err;
  }
  return client;
}

export const isCluster = (client: Client): client is Cluster => client instanceof Cluster;

/** The nodes that hold data: the standalone client itself, or a cluster's masters. */
export const dataNodes = (client: Client): Redis[] => (isCluster(client) ? client.nodes('master') : [client]);

/** One server process of the target, with a connection of its own. */
export interface ServerNode {
  /** `host:port`. */
  address: string;
  role: 'master' | 'replica';
  /** A replica's master. */
  master?: string;
  client: Redis;
}

/**
 * Every server process of the target: the standalone server (its client itself), or a cluster's
 * masters and replicas from `CLUSTER NODES` (`CLUSTER SLOTS` leaves out replicas that hold no data
 * yet), each on a connection of its own that `close()` ends.
 */
export async function serverNodes(client: Client): Promise<{ nodes: ServerNode[]; close(): void }> {
  if (!isCluster(client)) return { nodes: [{ address: nodeAddress(client), role: 'master', client }], close: () => {} };
  const text = String(await client.nodes('master')[0]!.call('CLUSTER', 'NODES'));
  const lines = text
    .trim()
    .split('\n')
    .map((line) => line.split(' '))
    .filter(([, , flags]) => !/fail|noaddr|handshake/.test(flags!));
  const addressOf = new Map(lines.map(([id, addr]) => [id!, addr!.split('@')[0]!]));
  const nodes = lines.map(([, addr, flags, masterId]): ServerNode => {
    const address = addr!.split('@')[0]!;
    const colon = address.lastIndexOf(':');
    const replica = flags!.includes('slave');
    return {
      address,
      role: replica ? 'replica' : 'master',
      master: replica ? addressOf.get(masterId!) : undefined,
      client: new Redis({ host: address.slice(0, colon), port: Number(address.slice(colon + 1)) }),
    };
  });
  return {
    nodes,
    close: () => {
      for (const n of nodes) n.client.disconnect();
    },
  };
}

/** `host:port` of a node client. */
export const nodeAddress = (node: Redis): string => `${node.options.host}:${node.options.port}`;
