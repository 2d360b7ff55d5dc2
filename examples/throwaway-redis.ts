/**
 * For the examples: use `REDIS_URL` (or `REDIS_CLUSTER_NODES`) when set, otherwise start a throwaway
 * `redis-server` (or a 3-master cluster) on free loopback ports and stop it afterwards.
 */
import { startRedisCluster } from '../test/support/redis-cluster.js';
import { startRedisServer } from '../test/support/redis-server.js';

export async function withRedis(run: (url: string) => Promise<void>): Promise<void> {
  if (process.env.REDIS_URL) return run(process.env.REDIS_URL);
  const server = await startRedisServer().catch((err: unknown) => {
    throw new Error(
      `REDIS_URL is unset and no redis-server could be started (${err instanceof Error ? err.message : String(err)}). ` +
        'Install it (Debian/Ubuntu: apt-get install -y redis-server) or set REDIS_URL=redis://host:port.',
    );
  });
  console.log(`Started a throwaway redis-server on 127.0.0.1:${server.port} (set REDIS_URL to use your own).`);
  try {
    await run(`redis://127.0.0.1:${server.port}`);
  } finally {
    await server.stop();
  }
}

/** A cluster node as ioredis `Cluster` takes it. */
export interface ClusterNode {
  host: string;
  port: number;
}

/**
 * Runs `run` with the nodes of `REDIS_CLUSTER_NODES` (`host:port,host:port,…`), or of a throwaway
 * 3-master/3-replica cluster started from `redis-server` and `redis-cli` and removed afterwards.
 */
export async function withRedisCluster(run: (nodes: ClusterNode[]) => Promise<void>): Promise<void> {
  const fromEnv = process.env.REDIS_CLUSTER_NODES;
  if (fromEnv) {
    return run(
      fromEnv.split(',').map((hostPort) => {
        const [host, port] = hostPort.trim().split(':');
        return { host: host || '127.0.0.1', port: Number(port) };
      }),
    );
  }
  console.log('Starting a throwaway 3-master Redis Cluster (set REDIS_CLUSTER_NODES=host:port,… to use your own)…');
  const cluster = await startRedisCluster().catch((err: unknown) => {
    throw new Error(
      `REDIS_CLUSTER_NODES is unset and no cluster could be started (${err instanceof Error ? err.message : String(err)}). ` +
        'Install redis-server and redis-cli (Debian/Ubuntu: apt-get install -y redis-server redis-tools) or set REDIS_CLUSTER_NODES.',
    );
  });
  try {
    await run(cluster.startupNodes);
  } finally {
    await cluster.stop();
  }
}
