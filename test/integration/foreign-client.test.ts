/**
 * A client from ioredis 5, the version most applications already have (a separate copy of ioredis,
 * so `instanceof` against this package's ioredis 6 fails): accepted as it is, on a standalone
 * server and on a cluster, and left open by close().
 */
import { Cluster as Cluster5, Redis as Redis5 } from 'ioredis5';
import { afterEach, describe, expect, it } from 'vitest';
import { Producer } from '../../src/index.js';
import { readStream, redisTarget, Resources, uniqueNamespace } from '../support/helpers.js';

const res = new Resources();
const clients: (Redis5 | Cluster5)[] = [];
afterEach(async () => {
  await res.closeAll();
  for (const c of clients.splice(0)) c.disconnect();
});

function ioredis5Client(): Redis5 | Cluster5 {
  const target = redisTarget();
  const client = target.kind === 'standalone' ? new Redis5(target.url) : new Cluster5(target.nodes);
  clients.push(client);
  return client;
}

describe('an ioredis 5 client the caller owns', () => {
  it('is accepted: send and sendBatch deliver through it, close() leaves it open', async () => {
    const client = ioredis5Client();
    const namespace = uniqueNamespace();
    const producer = new Producer({ redis: client as never, namespace, defaultShards: 4 });
    const ack = await producer.send({ topic: 't', key: 'k', value: 'from ioredis 5', headers: { via: '5' } });
    expect(ack.status).toBe('delivered');
    const results = await producer.sendBatch([1, 2, 3].map((i) => ({ topic: 't', key: `k${i}`, value: `v${i}` })));
    expect(results.map((r) => r.status)).toEqual(['delivered', 'delivered', 'delivered']);
    await producer.close();
    expect(client.status).toBe('ready');
    const entries = await readStream(res.admin(), ack.stream);
    expect(entries.some(([, fields]) => fields.includes('from ioredis 5'))).toBe(true);
  });
});
