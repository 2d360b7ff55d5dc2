/**
 * A server that may evict keys when memory runs out (`maxmemory` set, a policy other than
 * `noeviction`) can drop streams, parked records and idempotence state without anyone being told:
 * the producer says so when it connects. Each test starts its own redis-server.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ProducerError } from '../../../src/index.js';
import { Resources, uniqueNamespace } from '../../support/helpers.js';
import { startRedisServer, type ServerProcess } from '../../support/redis-server.js';

const res = new Resources();
const servers: ServerProcess[] = [];
afterEach(async () => {
  await res.closeAll();
  for (const s of servers.splice(0)) await s.stop();
});

/** A producer connected to a server of its own started with `args`: its `error` events, and a delivered send. */
async function producerOn(args: string[]): Promise<ProducerError[]> {
  const server = await startRedisServer(args);
  servers.push(server);
  const producer = res.producer({ redis: `redis://127.0.0.1:${server.port}`, namespace: uniqueNamespace() });
  const errors: ProducerError[] = [];
  producer.on('error', (e) => errors.push(e));
  await producer.connect(); // resolves once the server's settings have been checked
  expect(await producer.send({ topic: 't', value: 'v' })).toMatchObject({ status: 'delivered' });
  return errors;
}

describe('a server that may evict keys', () => {
  it.each(['allkeys-lru', 'volatile-ttl'])('maxmemory with %s: an error event names the server and the policy when the producer connects', async (policy) => {
    const errors = await producerOn(['--maxmemory', '100mb', '--maxmemory-policy', policy]);
    const warning = errors.find((e) => e.code === 'ERR_EVICTION_POLICY');
    expect(warning, 'an eviction warning by the time connect() resolved').toBeDefined();
    expect(warning!.message).toMatch(new RegExp(`127\\.0\\.0\\.1:\\d+ evicts keys \\(maxmemory-policy ${policy}\\)`));
    expect(warning!.message).toContain('noeviction');
    expect(warning!.retriable).toBe(false);
    // Advice, not a failure: sending goes on.
    expect(errors.filter((e) => e.code !== 'ERR_EVICTION_POLICY')).toEqual([]);
  });

  it.each([
    ['noeviction with maxmemory', ['--maxmemory', '100mb', '--maxmemory-policy', 'noeviction']],
    ['an eviction policy without maxmemory (nothing is ever evicted)', ['--maxmemory-policy', 'allkeys-lru']],
  ])('%s: no warning', async (_title, args) => {
    const errors = await producerOn(args);
    expect(errors).toEqual([]);
  });
});
