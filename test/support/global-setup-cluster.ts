import type { TestProject } from 'vitest/node';
import './provided-context.js';
import { startRedisCluster, type RedisClusterHandle } from './redis-cluster.js';
import { HOW_TO_GET_REDIS } from './redis-server.js';

let cluster: RedisClusterHandle | undefined;

/**
 * Starts a real 3-master cluster (1 replica each) from `redis-server` binaries, or uses
 * `REDIS_CLUSTER_NODES` (`host:port,host:port,…`) when set. The shared integration tests then run
 * against it exactly as they run against a standalone server.
 */
export async function setup(project: TestProject): Promise<void> {
  const fromEnv = process.env.REDIS_CLUSTER_NODES;
  if (fromEnv) {
    const nodes = fromEnv.split(',').map((hostPort) => {
      const [host, port] = hostPort.trim().split(':');
      return { host: host!, port: Number(port) };
    });
    project.provide('redisTarget', { kind: 'cluster', nodes });
    return;
  }
  try {
    cluster = await startRedisCluster();
  } catch (err) {
    throw new Error(`Could not start a Redis Cluster for the tests: ${err instanceof Error ? err.message : String(err)}\n${HOW_TO_GET_REDIS} (or set REDIS_CLUSTER_NODES=host:port,…)`);
  }
  project.provide('redisTarget', { kind: 'cluster', nodes: cluster.startupNodes });
}

export async function teardown(): Promise<void> {
  await cluster?.stop();
}
