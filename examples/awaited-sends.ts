/**
 * Awaited sends from many concurrent callers (like request handlers): each `await send()` resolves
 * when its record is in Redis; concurrent sends to a busy shard share one Lua call.
 *   npx tsx examples/awaited-sends.ts
 */
import { Producer } from '../src/index.js';
import { withRedis } from './throwaway-redis.js';

await withRedis(async (url) => {
  const producer = new Producer({ redis: url, namespace: 'awaited', defaultShards: 8 });
  let calls = 0;
  producer.on('delivery', () => calls++);
  const callers = 200;
  const perCaller = 50;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: callers }, async (_, c) => {
      for (let i = 0; i < perCaller; i++) {
        await producer.send({ topic: 'events', key: `caller-${c}`, value: JSON.stringify({ caller: c, i }) });
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const records = callers * perCaller;
  console.log(
    `${callers} callers awaited ${records} sends in ${seconds.toFixed(2)} s (${Math.round(records / seconds)} records/s), ${calls} Lua calls (${(records / calls).toFixed(1)} records per call)`,
  );
  await producer.close();
});
