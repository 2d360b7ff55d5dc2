import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { BufferFullError, InvalidRecordError, type SendAck } from '../../../src/index.js';
import { Resources } from '../../support/helpers.js';
import { startRedisServer, type ServerProcess } from '../../support/redis-server.js';

const res = new Resources();
let server: ServerProcess | undefined;
afterEach(async () => {
  server?.process.kill('SIGCONT');
  await res.closeAll();
  await server?.stop();
  server = undefined;
});

const MiB = 1024 * 1024;

/**
 * Live memory: V8 heap plus Buffers. Not RSS: the allocator keeps the pages of the test's own
 * refused records after they are freed, so RSS shows what the test allocated, not what is held.
 */
function liveBytes(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** A full garbage collection, so live memory shows what is still referenced. */
function collectGarbage(): void {
  setFlagsFromString('--expose_gc');
  (runInNewContext('gc') as () => void)();
}

describe('resource abuse is bounded by config', () => {
  it('a flood of produce() and send() from many callers while Redis is stalled: live memory stays within a bound set by bufferMaxBytes, nothing accepted is lost', async () => {
    server = await startRedisServer();
    const bufferMaxBytes = 8 * MiB;
    const producer = res.producer({
      redis: `redis://127.0.0.1:${server.port}`,
      bufferMaxBytes,
      maxRecordBytes: 64 * 1024,
      maxBlockMs: 0, // a full buffer refuses send() at once, so only accepted records are held below
      requestTimeoutMs: 10_000,
      deliveryTimeoutMs: 60_000,
      defaultShards: 4,
    });
    await producer.connect();
    await producer.send({ topic: 'flood', value: 'warm-up' });
    server.process.kill('SIGSTOP'); // Redis takes nothing: the buffer can only fill up

    // Oversized records and huge header maps are refused before they take any memory.
    expect(() => producer.produce({ topic: 'flood', value: Buffer.alloc(65 * 1024) })).toThrow(InvalidRecordError);
    const headers = Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`h${i}`, 'v']));
    expect(() => producer.produce({ topic: 'flood', value: 'v', headers })).toThrow(/maxHeaders/);

    collectGarbage();
    const liveBefore = liveBytes();
    let accepted = 0;
    let refused = 0;
    let peakBuffered = 0;
    const recordBytes = 10 * 1024;
    const perCaller = (64 * MiB) / recordBytes / 100; // 64 MiB offered (8× the buffer) by 100 callers
    const sends: Promise<SendAck>[] = [];
    await Promise.all(
      Array.from({ length: 100 }, async (_, caller) => {
        for (let i = 0; i < perCaller; i++) {
          const record = { topic: 'flood', key: `c${caller}`, value: Buffer.alloc(recordBytes, i) };
          if (i % 2 === 0) {
            try {
              producer.produce(record);
              accepted++;
            } catch (err) {
              expect(err).toBeInstanceOf(BufferFullError);
              refused++;
            }
          } else {
            const sent = producer.send(record); // refused at once when full, else delivered after SIGCONT
            sent.catch(() => undefined); // inspected below, with allSettled
            sends.push(sent);
          }
          peakBuffered = Math.max(peakBuffered, producer.bufferedBytes);
          if (i % 10 === 0) await new Promise((r) => setImmediate(r));
        }
      }),
    );
    // The test's own refused records are garbage by now; what stays is what the producer holds.
    collectGarbage();
    const growth = liveBytes() - liveBefore;
    expect(peakBuffered).toBeLessThanOrEqual(bufferMaxBytes);
    expect(refused).toBeGreaterThan(0);
    // Stated bound: the buffered records (≤ bufferMaxBytes), ioredis' serialized copies of the batches
    // in flight (they count against the same buffer, so ≤ bufferMaxBytes), and 16 MiB of allocator
    // and V8 slack. Without back-pressure the 64 MiB offered would all be held.
    expect(growth, `live memory grew ${(growth / MiB).toFixed(1)} MiB`).toBeLessThan(2 * bufferMaxBytes + 16 * MiB);

    server.process.kill('SIGCONT');
    const results = await Promise.allSettled(sends);
    const sentOk = results.filter((r) => r.status === 'fulfilled' && r.value.status === 'delivered').length;
    const sendRefused = results.filter((r) => r.status === 'rejected' && r.reason instanceof BufferFullError).length;
    expect(sentOk + sendRefused).toBe(sends.length); // every send either delivered or refused as full
    expect(sendRefused).toBeGreaterThan(0);
    await producer.flush();
    expect(producer.bufferedBytes).toBe(0);
    // Everything accepted is in the stream: warm-up + accepted produce()s + delivered sends.
    const admin = res.admin(`redis://127.0.0.1:${server.port}`);
    let total = 0;
    for (let shard = 0; shard < 4; shard++) total += await admin.xlen(`{${(producer as unknown as { config: { namespace: string } }).config.namespace}:flood:${shard}}`);
    expect(total).toBe(1 + accepted + sentOk);
  });
});
