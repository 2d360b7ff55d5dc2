import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { inject } from 'vitest';
import { Producer, type ProducerConfig } from '../../src/index.js';

/** URL of the shared test Redis (see global-setup.ts). */
export const redisUrl = (): string => inject('redisUrl');

/** A namespace no other test uses, so tests run in any order without cleanup races. */
export const uniqueNamespace = (): string => `t${randomUUID().slice(0, 12)}`;

/** A plain client for checking what the producer wrote. */
export function adminClient(url = redisUrl()): Redis {
  return new Redis(url, { maxRetriesPerRequest: 1 });
}

/** Tracks producers and clients a test opens and closes them after it. */
export class Resources {
  private readonly producers: Producer[] = [];
  private readonly clients: Redis[] = [];
  private readonly dirs: string[] = [];

  producer(config: ProducerConfig = {}): Producer {
    // Each test journals into its own temp dir, removed afterwards.
    const journalDir = mkdtempSync(join(tmpdir(), 'rsp-test-journal-'));
    this.dirs.push(journalDir);
    const p = new Producer({ redis: redisUrl(), namespace: uniqueNamespace(), ...config, compensation: { journalDir, ...config.compensation } });
    this.producers.push(p);
    return p;
  }

  admin(url?: string): Redis {
    const c = adminClient(url);
    this.clients.push(c);
    return c;
  }

  async closeAll(): Promise<void> {
    await Promise.allSettled(this.producers.splice(0).map((p) => p.close()));
    await Promise.allSettled(this.clients.splice(0).map((c) => c.quit()));
    for (const dir of this.dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  }
}

/** Every entry of a stream as `[id, fields]`. */
export async function readStream(client: Redis, stream: string): Promise<[string, string[]][]> {
  return (await client.xrange(stream, '-', '+')) as [string, string[]][];
}

/** Polls `check` until it returns true, or fails after `timeoutMs` with `what`. */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
