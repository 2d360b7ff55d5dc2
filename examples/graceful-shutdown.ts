/**
 * Graceful shutdown: produce until SIGTERM/SIGINT, then close(), which flushes what is buffered
 * before the process exits, so a deploy or Ctrl-C loses nothing.
 *   npx tsx examples/graceful-shutdown.ts      (stop it with Ctrl-C or `kill <pid>`)
 */
import { BufferFullError, Producer } from '../src/index.js';
import { withRedis } from './throwaway-redis.js';

await withRedis(async (url) => {
  const producer = new Producer({ redis: url, namespace: 'shutdown' });
  let produced = 0;
  let delivered = 0;
  producer.on('delivery', (e) => (delivered += e.ids.length));

  let stopping = false;
  const stopped = new Promise<string>((resolve) => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => resolve(signal));
  });
  void stopped.then(() => (stopping = true));
  console.log(`producing as pid ${process.pid}; send SIGTERM or press Ctrl-C to stop`);

  while (!stopping) {
    try {
      producer.produce({ topic: 'heartbeats', key: `node-${produced % 10}`, value: String(Date.now()) });
      produced++;
    } catch (err) {
      if (!(err instanceof BufferFullError)) throw err;
      await producer.waitForRoom();
    }
    if (produced % 1000 === 0) await new Promise((r) => setImmediate(r)); // let signals and I/O in
  }

  const signal = await stopped;
  console.log(`${signal}: closing, ${produced - delivered} records still buffered`);
  await producer.close(); // flushes, then releases the connection
  console.log(`closed cleanly: produced ${produced}, delivered ${delivered}`);
  if (produced !== delivered) process.exitCode = 1;
});
