/**
 * Fire-and-forget at a high rate: produce() until the buffer is full, wait for room, go on;
 * flush() at the end. Records are never dropped: a full buffer makes produce() throw, not lose.
 *   npx tsx examples/firehose.ts [records]
 */
import { BufferFullError, Producer } from '../src/index.js';
import { withRedis } from './throwaway-redis.js';

const total = Number(process.argv[2] ?? 200_000);

await withRedis(async (url) => {
  const producer = new Producer({ redis: url, namespace: 'firehose', defaultShards: 16, bufferMaxBytes: 8 * 1024 * 1024 });
  let delivered = 0;
  let failed = 0;
  producer.on('delivery', (e) => (delivered += e.ids.length));
  producer.on('error', (err) => {
    failed++;
    console.error(err.message);
  });
  const value = 'x'.repeat(100);
  let waits = 0;
  const started = performance.now();
  for (let i = 0; i < total; i++) {
    const record = { topic: 'metrics', key: `sensor-${i % 5000}`, value };
    try {
      producer.produce(record);
    } catch (err) {
      if (!(err instanceof BufferFullError)) throw err;
      waits++;
      await producer.waitForRoom(); // back-pressure: Redis is behind, let it catch up
      producer.produce(record);
    }
  }
  await producer.flush();
  const seconds = (performance.now() - started) / 1000;
  console.log(`produced ${total} records in ${seconds.toFixed(2)} s: ${Math.round(total / seconds)} records/s; delivered ${delivered}, failed batches ${failed}, waited for room ${waits} times`);
  await producer.close();
  if (delivered !== total) process.exitCode = 1;
});
