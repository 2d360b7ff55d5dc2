import type { TestProject } from 'vitest/node';
import './provided-context.js';
import { findOrStartRedis, type RedisHandle } from './redis-server.js';

let redis: RedisHandle | undefined;

/** Starts (or finds) the one standalone Redis every integration test file shares; each test uses its own namespace. */
export async function setup(project: TestProject): Promise<void> {
  redis = await findOrStartRedis();
  project.provide('redisTarget', { kind: 'standalone', url: redis.url });
}

export async function teardown(): Promise<void> {
  await redis?.stop();
}
