/**
 * Compression benchmark: for 1 KiB and 10 KiB JSON values and each codec (`none`, gzip, deflate,
 * brotli, and zstd where the running Node has it), the producer writes the same records and the
 * run reports, per record: bytes the server received, Redis memory (`MEMORY USAGE` of the streams),
 * records/s, and the event loop's delay (p99, max; `monitorEventLoopDelay`) while producing. It also
 * times what compressing one full batch synchronously would have held the event loop for, the
 * alternative the producer does not take, and compares where a batch's values can be compressed:
 * on the event loop thread in slices (what the producer does) or with zlib's async API
 * (docs/decisions.md).
 *
 *   npx tsx bench/compression.ts                 both sizes, every codec, 3 reps (≈ 1–2 min on 2 cores)
 *   npx tsx bench/compression.ts --records 5000 --reps 1
 *   REDIS_URL=redis://127.0.0.1:6379 npx tsx bench/compression.ts
 *
 * Flags: --records N (default 10000, capped at --max-mib of values per case), --max-mib N (64),
 * --reps N (3; the codec order alternates between reps), --shards N (4), --out FILE
 * (bench/results/compression-latest.json). Without REDIS_URL it starts a throwaway redis-server
 * and stops it at the end. Values: JSON documents of users with a few fields each, as an API would
 * send; 256 different ones, cycled.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';
import zlib from 'node:zlib';
import { Redis } from 'ioredis';
import { startRedisServer, type ServerProcess } from '../test/support/redis-server.js';
import { compressBatch } from '../src/compress-batch.js';
import { codecAvailable, compress, LEVELS, type Codec, type CompressionSettings } from '../src/compression.js';
import { BufferFullError, Producer } from '../src/index.js';
import { Flags, UsageError } from './flags.js';
import { deleteNamespace, serverCounters } from './server-stats.js';
import { describeMachine, fmtInt, median } from './workload.js';

const SIZES = [1024, 10240] as const;
const TOPIC = 'c';
/** Records produced before the loop yields, as an application handling requests would. */
const CHUNK = 64;
const BATCH_MAX_RECORDS = 500;
const BATCH_MAX_BYTES = 1024 * 1024;
/** Batches each compression strategy compresses in the strategy table. */
const STRATEGY_BATCHES = 10;

type Subject = 'none' | Codec;

interface Sample {
  subject: Subject;
  valueBytes: number;
  records: number;
  recordsPerSec: number;
  /** Server `total_net_input_bytes` delta ÷ records: values, field names and protocol. */
  bytesInPerRecord: number;
  /** Σ `MEMORY USAGE <stream> SAMPLES 0` ÷ records. */
  memoryPerRecord: number;
  /** Stored `payload` bytes ÷ value bytes, over the sampled entries. */
  payloadRatio: number;
  loopDelayP50Ms: number;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
}

const WORDS = ['order', 'shipped', 'pending', 'paid', 'refund', 'express', 'standard', 'gift', 'note', 'customer', 'address', 'city'];

/** A JSON document of exactly `bytes` bytes: users with a few fields each, different per `seed`. */
function jsonValue(bytes: number, seed: number): string {
  const rows: string[] = [];
  let length = 2 + 12; // `[` `]` and the closing note row's `{"note":""}` plus its comma
  for (let i = 0; ; i++) {
    const id = seed * 10_000 + i;
    const row = JSON.stringify({ id, name: `user-${id}`, email: `user${id}@example.com`, active: id % 3 !== 0, score: (id * 7919) % 1000, tags: ['a', 'b', 'c'].slice(0, (id % 3) + 1) });
    if (length + row.length + 1 > bytes) break;
    rows.push(row);
    length += row.length + 1;
  }
  let note = '';
  for (let i = seed; note.length < bytes - length; i++) note += `${WORDS[(i * 7) % WORDS.length]} `;
  rows.push(JSON.stringify({ note: note.slice(0, bytes - length) }));
  return `[${rows.join(',')}]`;
}

async function runCase(url: string, admin: Redis, ns: string, subject: Subject, valueBytes: number, n: number, shards: number): Promise<Sample> {
  const values = Array.from({ length: 256 }, (_, i) => jsonValue(valueBytes, i));
  const producer = new Producer({
    redis: url,
    namespace: ns,
    defaultShards: shards,
    statsIntervalMs: 0,
    compression: subject === 'none' ? { codec: 'none' } : { codec: subject, minBytes: 512 },
    compensation: { enabled: false },
  });
  await producer.connect();
  await producer.send({ topic: TOPIC, value: 'warm-up' }); // topic metadata and scripts loaded
  const before = await serverCounters(admin);
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const startedAt = performance.now();
  for (let i = 0; i < n; ) {
    const end = Math.min(n, i + CHUNK);
    while (i < end) {
      try {
        producer.produce({ topic: TOPIC, key: `user-${i % 997}`, value: values[i & 255]! });
        i++;
      } catch (err) {
        if (!(err instanceof BufferFullError)) throw err;
        await producer.waitForRoom();
      }
    }
    await nextTurn();
  }
  await producer.flush();
  const elapsedMs = performance.now() - startedAt;
  delay.disable();
  const after = await serverCounters(admin);
  await producer.close();

  let memory = 0;
  let stored = 0;
  let original = 0;
  for (let shard = 0; shard < shards; shard++) {
    const stream = `{${ns}:${TOPIC}:${shard}}`;
    memory += Number((await admin.call('MEMORY', 'USAGE', stream, 'SAMPLES', '0')) ?? 0);
    for (const [, fields] of (await admin.xrangeBuffer(stream, '-', '+', 'COUNT', 50)) as [Buffer, Buffer[]][]) {
      if (fields[1]!.toString() === 'warm-up') continue;
      stored += fields[1]!.length;
      original += valueBytes;
    }
  }
  await deleteNamespace(admin, ns);
  return {
    subject,
    valueBytes,
    records: n,
    recordsPerSec: (n / elapsedMs) * 1000,
    bytesInPerRecord: (after.inBytes - before.inBytes) / n,
    memoryPerRecord: memory / (n + 1),
    payloadRatio: stored / original,
    loopDelayP50Ms: delay.percentile(50) / 1e6,
    loopDelayP99Ms: delay.percentile(99) / 1e6,
    loopDelayMaxMs: delay.max / 1e6,
  };
}

/** Milliseconds one full batch of these values takes to compress with the synchronous zlib API. */
function syncBatchMs(subject: Codec, valueBytes: number): number {
  const perBatch = Math.min(BATCH_MAX_RECORDS, Math.floor(BATCH_MAX_BYTES / (valueBytes + 64)));
  const values = Array.from({ length: perBatch }, (_, i) => Buffer.from(jsonValue(valueBytes, i)));
  const level = LEVELS[subject].default;
  const once = (v: Buffer): Buffer => {
    if (subject === 'gzip') return zlib.gzipSync(v, { level });
    if (subject === 'deflate') return zlib.deflateSync(v, { level });
    if (subject === 'brotli') return zlib.brotliCompressSync(v, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: level } });
    const z = zlib as unknown as { zstdCompressSync(v: Buffer, o: object): Buffer; constants: Record<string, number> };
    return z.zstdCompressSync(v, { params: { [z.constants.ZSTD_c_compressionLevel!]: level } });
  };
  for (const v of values.slice(0, 20)) once(v); // warm
  const times: number[] = [];
  for (let rep = 0; rep < 3; rep++) {
    const t = performance.now();
    for (const v of values) once(v);
    times.push(performance.now() - t);
  }
  return median(times);
}

/** Ways to compress a batch's values: the producer's, and the two it was measured against. */
const STRATEGIES = {
  'this thread, 1 ms slices (the producer)': async (values: Buffer[], settings: CompressionSettings) => {
    const fields = values.map((v) => ['payload', v] as (string | Buffer)[]);
    await compressBatch({ count: fields.length, fieldsAt: (i) => [...fields[i]!], setFieldsAt: (i, f) => (fields[i] = [...f]) }, settings);
  },
  'zlib async API, 4 at a time': async (values: Buffer[], settings: CompressionSettings) => {
    let next = 0;
    const worker = async () => {
      while (next < values.length) await compress(settings, values[next++]!);
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
  },
  'zlib async API, all at once': async (values: Buffer[], settings: CompressionSettings) => {
    await Promise.all(values.map((v) => compress(settings, v)));
  },
} as const;

/**
 * Each strategy compresses `batches` full batches of gzip values one after the other, with nothing
 * else running: µs per value (wall clock) and the event loop's delay meanwhile.
 */
async function strategyTable(batches: number): Promise<string[]> {
  const lines = ['| value | strategy | µs / value | loop delay p50 / p99 / max |', '|---|---|---:|---:|'];
  const settings: CompressionSettings = { codec: 'gzip', minBytes: 0, level: LEVELS.gzip.default };
  for (const size of SIZES) {
    const perBatch = Math.min(BATCH_MAX_RECORDS, Math.floor(BATCH_MAX_BYTES / (size + 64)));
    const values = Array.from({ length: perBatch }, (_, i) => Buffer.from(jsonValue(size, i)));
    for (const [name, run] of Object.entries(STRATEGIES)) {
      await run(values.slice(0, 50), settings); // warm
      const delay = monitorEventLoopDelay({ resolution: 1 });
      delay.enable();
      const t = performance.now();
      for (let b = 0; b < batches; b++) await run(values, settings);
      const us = ((performance.now() - t) * 1000) / (batches * perBatch);
      delay.disable();
      lines.push(`| ${size / 1024} KiB | ${name} | ${fmt(us)} | ${fmt(delay.percentile(50) / 1e6, 1)} / ${fmt(delay.percentile(99) / 1e6, 1)} / ${fmt(delay.max / 1e6, 1)} ms |`);
      process.stderr.write(`strategy ${size} B ${name}: ${fmt(us)} µs/value\n`);
    }
  }
  return lines;
}

const fmt = (n: number, digits = 0): string => (digits === 0 ? fmtInt(n) : n.toFixed(digits));

function table(samples: Sample[], reps: number): string[] {
  const lines: string[] = [];
  for (const size of SIZES) {
    const rows = samples.filter((s) => s.valueBytes === size);
    if (rows.length === 0) continue;
    const subjects = [...new Set(rows.map((r) => r.subject))];
    const none = rows.filter((r) => r.subject === 'none');
    const baseline = median(none.map((r) => r.recordsPerSec));
    lines.push(
      `#### ${size / 1024} KiB JSON values (medians of ${reps} reps)`,
      '',
      '| codec | payload / value | bytes in / record | Redis memory / record | records/s | vs none | loop delay p50 / p99 / max | one batch, sync |',
      '|---|---:|---:|---:|---:|---:|---:|---:|',
    );
    for (const subject of subjects) {
      const of = rows.filter((r) => r.subject === subject);
      const m = (f: (s: Sample) => number) => median(of.map(f));
      const sync = subject === 'none' ? '—' : `${fmt(syncBatchMs(subject, size), 1)} ms`;
      const delay = `${fmt(
        m((s) => s.loopDelayP50Ms),
        1,
      )} / ${fmt(
        m((s) => s.loopDelayP99Ms),
        1,
      )} / ${fmt(
        m((s) => s.loopDelayMaxMs),
        1,
      )} ms`;
      const cells = [
        subject,
        fmt(
          m((s) => s.payloadRatio),
          3,
        ),
        fmt(m((s) => s.bytesInPerRecord)),
        fmt(m((s) => s.memoryPerRecord)),
        fmt(m((s) => s.recordsPerSec)),
        `${fmt(m((s) => s.recordsPerSec) / baseline, 2)}×`,
        delay,
        sync,
      ];
      lines.push(`| ${cells.join(' | ')} |`);
    }
    lines.push('');
  }
  return lines;
}

async function main(): Promise<void> {
  const flags = new Flags(process.argv.slice(2), { records: 'string', 'max-mib': 'string', reps: 'string', shards: 'string', out: 'string' }, import.meta.url);
  const records = flags.int('records', 10_000);
  const maxMiB = flags.int('max-mib', 64);
  const reps = flags.int('reps', 3);
  const shards = flags.int('shards', 4);
  const out = flags.string('out') ?? 'bench/results/compression-latest.json';
  const subjects: Subject[] = ['none', 'gzip', 'deflate', 'brotli', ...(codecAvailable('zstd') ? (['zstd'] as const) : [])];

  let server: ServerProcess | undefined;
  let url = process.env.REDIS_URL;
  const source = url ? 'REDIS_URL' : 'throwaway redis-server started by the benchmark';
  if (!url) {
    server = await startRedisServer();
    url = `redis://127.0.0.1:${server.port}`;
  }
  const admin = new Redis(url);
  try {
    const version = /^redis_version:(\S+)/m.exec(await admin.info('server'))?.[1] ?? 'unknown';
    const machine = describeMachine(version);
    const samples: Sample[] = [];
    const tag = `bc${Date.now().toString(36)}`;
    for (let rep = 0; rep < reps; rep++) {
      const order = rep % 2 === 0 ? subjects : [...subjects].reverse();
      for (const size of SIZES) {
        const n = Math.min(records, Math.floor((maxMiB * 2 ** 20) / size));
        for (const subject of order) {
          const sample = await runCase(url, admin, `${tag}-${rep}-${size}-${subject}`, subject, size, n, shards);
          samples.push(sample);
          process.stderr.write(
            `rep ${rep + 1}/${reps} ${size} B ${subject}: ${fmt(sample.recordsPerSec)} rec/s, ${fmt(sample.memoryPerRecord)} B/record in Redis, loop delay p99 ${fmt(sample.loopDelayP99Ms, 1)} ms\n`,
          );
        }
      }
    }
    const command = `npx tsx bench/compression.ts${process.argv.length > 2 ? ` ${process.argv.slice(2).join(' ')}` : ''}`;
    const lines = [
      ...table(samples, reps),
      `#### Where a batch's values are compressed (gzip, ${STRATEGY_BATCHES} full batches each, nothing else running)`,
      '',
      ...(await strategyTable(STRATEGY_BATCHES)),
      '',
      `${new Date().toISOString().slice(0, 10)} · ${machine.cpu}, ${machine.cores} cores · node ${machine.node} · redis ${machine.redis} (${source}) · \`${command}\``,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, `${JSON.stringify({ machine, command, samples }, null, 2)}\n`);
  } finally {
    admin.disconnect();
    await server?.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(err instanceof UsageError ? `${err.message}\n` : `\nbenchmark failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = err instanceof UsageError ? 2 : 1;
});
