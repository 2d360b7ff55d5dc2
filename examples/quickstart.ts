/**
 * Quickstart: awaited sends, a batch, fire-and-forget, then read the stream back.
 *   npm run demo            (starts a throwaway redis-server when REDIS_URL is unset)
 */
import { Redis } from 'ioredis';
import { Producer } from '../src/index.js';
import { withRedis } from './throwaway-redis.js';

await withRedis(async (url) => {
  const producer = new Producer({ redis: url, namespace: 'demo', topics: { orders: { shards: 4 } } });
  producer.on('error', (err) => console.error('producer error:', err.message));

  // 1. One awaited send: resolves once the record is in Redis.
  const ack = await producer.send({ topic: 'orders', key: 'user-42', value: JSON.stringify({ total: 12 }), headers: { source: 'api' } });
  if (ack.status === 'delivered') console.log(`send       → delivered to ${ack.stream} as ${ack.id} (shard ${ack.shard})`);
  else console.log(`send       → parked for replay as ${ack.compensationId}: ${ack.error.message}`);

  // 2. Many records, one result each, in input order.
  const results = await producer.sendBatch(Array.from({ length: 5 }, (_, i) => ({ topic: 'orders', key: `user-${i}`, value: JSON.stringify({ total: i }) })));
  console.log(`sendBatch  → ${results.map((r) => (r.status === 'delivered' ? `${r.stream}@${r.id}` : r.status)).join(', ')}`);

  // 3. Fire-and-forget: produce() returns at once; outcomes arrive as events.
  let delivered = 0;
  let batches = 0;
  producer.on('delivery', (e) => {
    delivered += e.ids.length;
    batches++;
  });
  for (let i = 0; i < 10_000; i++) producer.produce({ topic: 'clicks', value: `click-${i}` });
  await producer.flush();
  console.log(`produce    → ${delivered} records delivered in ${batches} Lua calls`);

  await producer.close();

  // Read back what the first send wrote: the entry layout is payload / key / h:<name>.
  const reader = new Redis(url);
  const entries = await reader.xrange(ack.stream, '-', '+', 'COUNT', 1);
  console.log(`XRANGE ${ack.stream} →`, JSON.stringify(entries));
  let total = 0;
  for (const key of await reader.keys('{demo:*')) if ((await reader.type(key)) === 'stream') total += await reader.xlen(key);
  console.log(`streams under {demo:…} now hold ${total} entries in total`);
  await reader.quit();
});
