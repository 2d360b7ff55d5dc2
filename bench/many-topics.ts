/**
 * Memory per topic and per shard, and its release: one producer sends a few records to each of
 * many topics (10,000 topics of 16 shards by default), as a service that touches many topics over
 * a day does, then stops. Reports the heap the producer keeps per topic and per shard (its
 * accumulators, stream keys, `stats` counters: everything, measured after a full GC), the records/s
 * of the run, and what is left once `metadataMaxIdleMs` passed and the idle state was forgotten.
 * Run with `npm run bench:topics` or `npx tsx bench/many-topics.ts [flags]`.
 *
 *   --topics N     topics (default 10000)
 *   --shards N     shards per topic (default 16)
 *   --idle-ms N    metadataMaxIdleMs of the second producer, whose release is watched (default 2000)
 *
 * The first producer (metadataMaxIdleMs one day, so nothing is released while it is measured) sends
 * one record to shard 0 of every topic (the cost of a topic with one shard in use), then one record
 * to each other shard (the cost of each further shard). A second producer sends one record to shard
 * 0 of every topic and stops; the run then waits until it forgot every topic. Uses `REDIS_URL` when
 * set, else a throwaway redis-server.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Redis } from 'ioredis';
import { Producer, type ProducerRecord } from '../src/index.js';
import { startRedisServer, type ServerProcess } from '../test/support/redis-server.js';
import { Flags, UsageError } from './flags.js';
import { deleteNamespace } from './server-stats.js';
import { fmtInt } from './workload.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Heap and RSS after a full GC, in bytes. */
async function settledMemory(): Promise<{ heap: number; rss: number }> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  const m = process.memoryUsage();
  return { heap: m.heapUsed, rss: m.rss };
}

/** Produces `records` (fire-and-forget, waiting for room when full), flushing every 10,000. */
async function produceAll(producer: Producer, records: Iterable<ProducerRecord>): Promise<number> {
  const started = performance.now();
  let n = 0;
  for (const record of records) {
    for (;;) {
      try {
        producer.produce(record);
        break;
      } catch (err) {
        if ((err as { code?: unknown }).code !== 'ERR_BUFFER_FULL') throw err;
        await producer.waitForRoom();
      }
    }
    if (++n % 10_000 === 0) await producer.flush();
  }
  await producer.flush();
  return n / ((performance.now() - started) / 1000);
}

function* oneRecordPerTopic(topics: number, shard: number): Generator<ProducerRecord> {
  for (let t = 0; t < topics; t++) yield { topic: `t${t}`, value: 'x'.repeat(100), shard };
}

/** Entries in every stream of the namespace, whatever its topic. */
async function entriesIn(admin: Redis, ns: string): Promise<number> {
  let entries = 0;
  let cursor = '0';
  do {
    const [next, keys] = await admin.scan(cursor, 'MATCH', `{${ns}:*`, 'COUNT', 1000, 'TYPE', 'stream');
    for (const key of keys) entries += await admin.xlen(key);
    cursor = next;
  } while (cursor !== '0');
  return entries;
}

async function main(): Promise<void> {
  const flags = new Flags(process.argv.slice(2), { topics: 'string', shards: 'string', 'idle-ms': 'string' }, import.meta.url);
  const topics = flags.int('topics', 10_000);
  const shards = flags.int('shards', 16);
  const idleMs = flags.int('idle-ms', 2_000, 100);
  let server: ServerProcess | undefined;
  let url = process.env.REDIS_URL;
  if (!url) {
    server = await startRedisServer(['--save', '', '--appendonly', 'no']);
    url = `redis://127.0.0.1:${server.port}`;
  }
  const ns = `bt${Date.now().toString(36)}`;
  const measured = new Producer({ redis: url, namespace: ns, defaultShards: shards, metadataMaxIdleMs: 86_400_000 });
  const released = new Producer({ redis: url, namespace: ns, defaultShards: shards, metadataMaxIdleMs: idleMs });
  const admin = new Redis(url);
  const kept = (p: Producer) => [...(p as unknown as { topics: { all(): Iterable<unknown> } }).topics.all()].length;
  try {
    await Promise.all([measured.connect(), released.connect()]);
    await produceAll(measured, oneRecordPerTopic(1, 0)); // warm the paths
    const base = await settledMemory();
    const rate1 = await produceAll(measured, oneRecordPerTopic(topics, 0));
    const afterTopics = await settledMemory();
    let rate2 = Number.NaN;
    if (shards > 1) {
      const started = performance.now();
      for (let s = 1; s < shards; s++) await produceAll(measured, oneRecordPerTopic(topics, s));
      rate2 = (topics * (shards - 1)) / ((performance.now() - started) / 1000);
    }
    const afterShards = await settledMemory();
    await measured.close();
    const beforeRelease = await settledMemory();
    await produceAll(released, oneRecordPerTopic(topics, 0));
    const keptBefore = kept(released);
    const waitStarted = performance.now();
    // Shards go after one idle time, their topics one idle time later.
    while (kept(released) > 0 && performance.now() - waitStarted < 2 * idleMs + 10_000) await new Promise((resolve) => setTimeout(resolve, 100));
    const waitedMs = performance.now() - waitStarted;
    const afterRelease = await settledMemory();
    const perTopic = (afterTopics.heap - base.heap) / topics;
    const perShard = shards > 1 ? (afterShards.heap - afterTopics.heap) / (topics * (shards - 1)) : Number.NaN;
    const mib = (b: number) => (b / 2 ** 20).toFixed(1);
    console.log(`### ${fmtInt(topics)} topics × ${shards} shards, one 100 B record per shard`);
    console.log('');
    console.log('| measure | value |');
    console.log('|---|---:|');
    console.log(`| records/s, one record to shard 0 of each topic (first use: the shard-count check, then the batch) | ${fmtInt(rate1)} |`);
    if (shards > 1) console.log(`| records/s, one record to each further shard (one script call each) | ${fmtInt(rate2)} |`);
    console.log(`| heap per topic (with its first shard), bytes | ${fmtInt(perTopic)} |`);
    if (shards > 1) console.log(`| heap per further shard, bytes | ${fmtInt(perShard)} |`);
    console.log(`| heap kept for ${fmtInt(topics)} topics × ${shards} shards, MiB | ${mib(afterShards.heap - base.heap)} |`);
    console.log(`| RSS growth while they were kept, MiB | ${mib(afterShards.rss - base.rss)} |`);
    console.log(`| metadataMaxIdleMs ${idleMs}: topics kept → ${(waitedMs / 1000).toFixed(1)} s after the last record | ${fmtInt(keptBefore)} → ${fmtInt(kept(released))} |`);
    console.log(`| heap kept by that producer after the release, MiB | ${mib(afterRelease.heap - beforeRelease.heap)} |`);
    // A fast wrong answer must not count: every record is in its stream.
    const expected = topics * shards + 1 + topics;
    const written = await entriesIn(admin, ns);
    if (written !== expected) throw new Error(`VERIFY FAILED: the streams of ${ns} hold ${written} entries, expected ${expected}`);
  } finally {
    await Promise.all([measured.close(), released.close()]);
    await deleteNamespace(admin, ns);
    admin.disconnect();
    await server?.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(err instanceof UsageError ? `${err.message}\n` : `${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(err instanceof UsageError ? 2 : 1);
});
