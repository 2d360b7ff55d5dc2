import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, Redis } from 'ioredis';
import { inject } from 'vitest';
import { Producer, type ProducerConfig } from '../../src/index.js';
import type { RedisTarget } from './provided-context.js';

/** The Redis this test project runs against (see the global setups). */
export const redisTarget = (): RedisTarget => inject('redisTarget');

/** URL of the shared standalone Redis; only for tests of the standalone project. */
export function redisUrl(): string {
  const target = redisTarget();
  if (target.kind !== 'standalone') throw new Error('redisUrl() is for standalone-only tests; use redisConfig() or adminClient()');
  return target.url;
}

/** The producer's `redis` option for the target: a URL, or `{ cluster: nodes }`. */
export function redisConfig(): ProducerConfig['redis'] {
  const target = redisTarget();
  return target.kind === 'standalone' ? target.url : { cluster: target.nodes };
}

/** A namespace no other test uses, so tests run in any order without cleanup races. */
export const uniqueNamespace = (): string => `t${randomUUID().slice(0, 12)}`;

/** A client on the target (a `Cluster` on a cluster: commands are routed by key). */
export type AdminClient = Redis | Cluster;

/** A plain client for checking what the producer wrote; `url` picks a standalone server instead. */
export function adminClient(url?: string): AdminClient {
  if (url !== undefined) return new Redis(url, { maxRetriesPerRequest: 1 });
  const target = redisTarget();
  return target.kind === 'standalone' ? new Redis(target.url, { maxRetriesPerRequest: 1 }) : new Cluster(target.nodes, { redisOptions: { maxRetriesPerRequest: 1 } });
}

/** Runs `command` on every master: server-wide commands (SCRIPT FLUSH, CLIENT PAUSE) on a cluster. */
export async function onEveryMaster(admin: AdminClient, command: (node: Redis) => Promise<unknown>): Promise<void> {
  if (admin instanceof Cluster) {
    await admin.ping(); // connects and loads the slot map, so nodes() knows every master
    await Promise.all(admin.nodes('master').map(command));
  } else {
    await command(admin);
  }
}

/** Tracks producers and clients a test opens and closes them after it. */
export class Resources {
  private readonly producers: Producer[] = [];
  private readonly clients: AdminClient[] = [];
  private readonly dirs: string[] = [];
  private readonly cleanups: (() => Promise<unknown>)[] = [];

  /** Runs `cleanup` after the test (proxies, servers). */
  defer(cleanup: () => Promise<unknown>): void {
    this.cleanups.push(cleanup);
  }

  producer(config: ProducerConfig = {}): Producer {
    // Each test journals into its own temp dir, removed afterwards.
    const journalDir = mkdtempSync(join(tmpdir(), 'rsp-test-journal-'));
    this.dirs.push(journalDir);
    const p = new Producer({ redis: redisConfig(), namespace: uniqueNamespace(), ...config, compensation: { journalDir, ...config.compensation } });
    this.producers.push(p);
    return p;
  }

  admin(url?: string): AdminClient {
    const c = adminClient(url);
    this.clients.push(c);
    return c;
  }

  async closeAll(): Promise<void> {
    await Promise.allSettled(this.producers.splice(0).map((p) => p.close()));
    await Promise.allSettled(this.clients.splice(0).map((c) => c.quit()));
    await Promise.allSettled(this.cleanups.splice(0).map((cleanup) => cleanup()));
    for (const dir of this.dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  }
}

/** Every entry of a stream as `[id, fields]`. */
export async function readStream(client: AdminClient, stream: string): Promise<[string, string[]][]> {
  return (await client.xrange(stream, '-', '+')) as [string, string[]][];
}

/** Producer options for a Redis that is not there yet (`port` free): short deadlines, so records park in the journal fast. */
export function unreachableRedis(port: number) {
  return { redis: `redis://127.0.0.1:${port}`, requestTimeoutMs: 200, deliveryTimeoutMs: 500, retryBackoffMs: 50, retryBackoffMaxMs: 100 };
}

/** Whether `producer.connect()` succeeds now: for `eventually(() => connects(p), …)` after an outage. */
export function connects(producer: { connect(): Promise<void> }): Promise<boolean> {
  return producer.connect().then(
    () => true,
    () => false,
  );
}

/** Polls `check` until it returns true, or fails after `timeoutMs` with `what`. */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
