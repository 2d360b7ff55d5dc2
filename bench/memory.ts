/**
 * `--memory` mode: is the producer's memory bounded by `bufferMaxBytes` when callers produce faster
 * than Redis absorbs? Many concurrent callers `produce()` records whose values are Buffers of
 * their own (as real records are: no value shared between records), waiting on `waitForRoom()`
 * after each `BufferFullError`; RSS, heap and the buffer are sampled while it runs. Runs in a
 * process of its own (`run-case.ts`), so RSS is this run's alone.
 */
import { BufferFullError, Producer, type ProducerError } from '../src/index.js';
import { deleteNamespace, verifyStreams } from './server-stats.js';
import { connect, producerRedis, type Target } from './target.js';
import { type KeyMode, makeWorkload, median, recordAt, TOPIC } from './workload.js';

export interface MemoryJob {
  kind: 'memory';
  target: Target;
  ns: string;
  /** Records to produce in all. */
  n: number;
  seed: number;
  valueBytes: number;
  keys: KeyMode;
  /** Headers per record (0–4). */
  headers: number;
  shards: number;
  /** Concurrent produce() loops. */
  callers: number;
  bufferMaxBytes: number;
  /** Sampling period of RSS/heap/buffer. */
  sampleMs: number;
}

/** One reading; `live` ones are taken right after a full GC (garbage excluded). */
interface Sample {
  atMs: number;
  rss: number;
  heapUsed: number;
  /** Off-heap memory of Buffers (`memoryUsage().arrayBuffers`): the buffered values live here. */
  arrayBuffers: number;
  bufferedBytes: number;
  bufferedRecords: number;
  live: boolean;
}

export interface MemoryResult {
  records: number;
  elapsedMs: number;
  recordsPerSec: number;
  bufferMaxBytes: number;
  /** After connecting, before producing, after a full GC. */
  baseline: { rssMiB: number; heapUsedMiB: number; arrayBuffersMiB: number };
  peakRssMiB: number;
  /** `process.resourceUsage().maxRSS` at the end: the kernel's peak, between samples too. */
  maxRssMiB: number;
  peakHeapUsedMiB: number;
  peakArrayBuffersMiB: number;
  /** The buffer at the sample with the peak RSS. */
  atPeakRss: { bufferedBytes: number; bufferedRecords: number };
  /** The most buffered at any sample. */
  maxBufferedBytes: number;
  maxBufferedRecords: number;
  /** Share of samples with the buffer ≥ 90 % full: near 1 means the callers did outrun Redis. */
  fullShare: number;
  /**
   * Median over the post-GC samples with a well-filled buffer (≥ half of the most buffered records) of
   * (heap used − baseline) ÷ buffered records: the producer's per-record bookkeeping on the JS heap.
   */
  heapBytesPerBufferedRecord: number;
  /** The same for Buffer memory: the values themselves plus what ioredis copies for sending. */
  arrayBufferBytesPerBufferedRecord: number;
  liveSamples: number;
  samples: number;
}

const MiB = 2 ** 20;

/** Runs the memory job; `progress` gets the records delivered so far. */
export async function runMemory(job: MemoryJob, progress: { done: number }, collectGarbage: () => void): Promise<MemoryResult> {
  const w = makeWorkload(job.n, job.seed, { valueBytes: job.valueBytes, keys: job.keys, shards: job.shards, headers: job.headers });
  const admin = await connect(job.target);
  const template = Buffer.from(w.values[0]!);
  // Trimmed streams keep Redis small (n × 10 KiB would not fit); entries-added still counts every record.
  const producer = new Producer({
    redis: producerRedis(job.target),
    namespace: job.ns,
    defaultShards: job.shards,
    bufferMaxBytes: job.bufferMaxBytes,
    topics: { [TOPIC]: { trim: { strategy: 'maxlen', threshold: 1000 } } },
  });
  const errors: ProducerError[] = [];
  producer.on('error', (e) => errors.push(e));
  let accepted = 0;
  let delivered = 0;
  producer.on('delivery', (e) => {
    delivered += e.ids.length;
    progress.done = delivered;
  });
  const samples: Sample[] = [];
  let timer: NodeJS.Timeout | undefined;
  try {
    await deleteNamespace(admin, job.ns);
    await producer.connect();
    collectGarbage();
    const base = process.memoryUsage();
    const startedAt = performance.now();
    let lastLive = startedAt;
    const sample = (): void => {
      const t = performance.now();
      // Every 500 ms a reading after a full GC: what is really held, not garbage awaiting collection.
      const live = t - lastLive >= 500;
      if (live) {
        collectGarbage();
        lastLive = t;
      }
      const m = process.memoryUsage();
      samples.push({ atMs: t - startedAt, rss: m.rss, heapUsed: m.heapUsed, arrayBuffers: m.arrayBuffers, bufferedBytes: producer.bufferedBytes, bufferedRecords: accepted - delivered, live });
    };
    timer = setInterval(sample, job.sampleMs);

    let next = 0;
    const caller = async (): Promise<void> => {
      while (next < job.n) {
        const i = next++;
        // A value of its own per record (a copy of the template), as an application's records have.
        const value = Buffer.allocUnsafe(template.length);
        template.copy(value);
        const record = { ...recordAt(w, i), value };
        for (;;) {
          try {
            producer.produce(record);
            accepted++;
            break;
          } catch (err) {
            if (!(err instanceof BufferFullError)) throw err;
            await producer.waitForRoom();
          }
        }
        // Yield now and then, so the callers interleave and the sampler runs.
        if ((i & 63) === 63) await new Promise<void>((r) => setImmediate(r));
      }
    };
    await Promise.all(Array.from({ length: job.callers }, caller));
    await producer.flush();
    const elapsedMs = performance.now() - startedAt;
    clearInterval(timer);
    timer = undefined;
    sample();

    if (errors.length > 0) throw new Error(`producer emitted ${errors.length} error event(s), first: ${errors[0]!.message}`);
    if (delivered !== job.n) throw new Error(`VERIFY FAILED for the memory run: ${delivered} of ${job.n} records delivered`);
    await verifyStreams(admin, job.ns, job.shards, job.n, 'memory run', 'entries-added');

    const peakRss = samples.reduce((a, b) => (b.rss > a.rss ? b : a));
    const maxBufferedRecords = Math.max(...samples.map((s) => s.bufferedRecords));
    const filled = samples.filter((s) => s.live && s.bufferedRecords >= maxBufferedRecords / 2 && s.bufferedRecords > 0);
    return {
      records: job.n,
      elapsedMs,
      recordsPerSec: job.n / (elapsedMs / 1000),
      bufferMaxBytes: job.bufferMaxBytes,
      baseline: { rssMiB: base.rss / MiB, heapUsedMiB: base.heapUsed / MiB, arrayBuffersMiB: base.arrayBuffers / MiB },
      peakRssMiB: peakRss.rss / MiB,
      maxRssMiB: (process.resourceUsage().maxRSS * 1024) / MiB,
      peakHeapUsedMiB: Math.max(...samples.map((s) => s.heapUsed)) / MiB,
      peakArrayBuffersMiB: Math.max(...samples.map((s) => s.arrayBuffers)) / MiB,
      atPeakRss: { bufferedBytes: peakRss.bufferedBytes, bufferedRecords: peakRss.bufferedRecords },
      maxBufferedBytes: Math.max(...samples.map((s) => s.bufferedBytes)),
      maxBufferedRecords,
      fullShare: samples.filter((s) => s.bufferedBytes >= 0.9 * job.bufferMaxBytes).length / samples.length,
      heapBytesPerBufferedRecord: filled.length > 0 ? median(filled.map((s) => (s.heapUsed - base.heapUsed) / s.bufferedRecords)) : NaN,
      arrayBufferBytesPerBufferedRecord: filled.length > 0 ? median(filled.map((s) => (s.arrayBuffers - base.arrayBuffers) / s.bufferedRecords)) : NaN,
      liveSamples: samples.filter((s) => s.live).length,
      samples: samples.length,
    };
  } finally {
    if (timer) clearInterval(timer);
    await producer.close();
    await deleteNamespace(admin, job.ns).catch(() => {});
    admin.disconnect();
  }
}
