/**
 * Throughput and latency benchmark: the producer against its peers on one workload, in one run
 * (DESIGN.md §1, §5). Run with `npm run bench` or `npx tsx bench/throughput.ts [flags]`.
 *
 *   --records N   records per throughput case (default 200000)
 *   --reps N      repetitions; cases alternate within each repetition (default 3)
 *   --await-records N   records for the slow `ioredis await XADD` case (default min(N, 20000))
 *   --latency N   sequential calls per latency subject (default 2000, plus 1000 warm-up calls)
 *   --no-warmup   skip the short unrecorded warm-up pass over every case
 *   --seed N      workload seed (default 1)
 *   --out FILE    raw results (default bench/results/latest.json)
 *
 * Uses `REDIS_URL` when set (writes and deletes only its own `{b…}` keys), otherwise starts a
 * throwaway `redis-server` and stops it at the end. Every case writes to fresh streams and then
 * checks that the sum of XLEN over its 16 streams equals the records it sent.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, resolve } from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { fileURLToPath } from 'node:url';
import { crc32 } from 'node:zlib';
import { Redis } from 'ioredis';
import { Producer, type ProducerConfig, type ProducerError } from '../src/index.js';
import { startRedisServer, type ServerProcess } from '../test/support/redis-server.js';
import { Flags } from './flags.js';
import { fmtInt, produceAll, KEY_SPACE, makeWorkload, median, percentile, SHARDS, TOPIC, VALUE_BYTES, valueAt, type Workload } from './workload.js';

// ---------------------------------------------------------------------------------------------
// Settings

const BATCH = 1000;
const IN_FLIGHT = 8;

// A full GC before each timed case, so no case pays for the garbage of the one before it.
v8.setFlagsFromString('--expose-gc');
const collectGarbage = vm.runInNewContext('gc') as () => void;

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');

interface Options {
  records: number;
  reps: number;
  awaitRecords: number;
  latencyCalls: number;
  warmup: boolean;
  seed: number;
  out: string;
}

function parseArgs(argv: string[]): Options {
  const flags = new Flags(argv, ['no-warmup'], import.meta.url);
  const records = flags.int('records', 200_000);
  const opts: Options = {
    records,
    reps: flags.int('reps', 3),
    awaitRecords: flags.int('await-records', Math.min(records, 20_000)),
    latencyCalls: flags.int('latency', 2000),
    warmup: !flags.has('no-warmup'),
    seed: flags.int('seed', 1, 0),
    out: resolve(flags.string('out') ?? resolve(root, 'bench/results/latest.json')),
  };
  flags.done();
  return opts;
}

// ---------------------------------------------------------------------------------------------
// Workload: the same keys and values for every case.




const shardOf = (key: string): number => crc32(key) % SHARDS;
const streamKey = (ns: string, shard: number): string => `{${ns}:${TOPIC}:${shard}}`;

// ---------------------------------------------------------------------------------------------
// Measurement helpers

interface ServerCounters {
  cpuSec: number;
  inBytes: number;
}

async function serverCounters(admin: Redis): Promise<ServerCounters> {
  const info = await admin.info();
  const field = (name: string): number => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? NaN);
  return { cpuSec: field('used_cpu_sys') + field('used_cpu_user'), inBytes: field('total_net_input_bytes') };
}

async function deleteNamespace(admin: Redis, ns: string): Promise<void> {
  const keys = Array.from({ length: SHARDS }, (_, s) => streamKey(ns, s));
  await admin.del(...keys, `{${ns}:${TOPIC}}:meta`);
  // The producer's idempotence state keys ({ns:t:shard}:p:<producerId>) and anything else of ns.
  let cursor = '0';
  do {
    const [next, found] = await admin.scan(cursor, 'MATCH', `{${ns}:*`, 'COUNT', 1000);
    if (found.length > 0) await admin.del(...found);
    cursor = next;
  } while (cursor !== '0');
}

/** Sum of XLEN over the namespace's 16 streams; throws unless it equals `expected`. */
async function verify(admin: Redis, ns: string, expected: number, label: string): Promise<void> {
  const pipe = admin.pipeline();
  for (let s = 0; s < SHARDS; s++) pipe.xlen(streamKey(ns, s));
  const replies = (await pipe.exec()) ?? [];
  let total = 0;
  for (const [err, len] of replies) {
    if (err) throw err;
    total += Number(len);
  }
  if (total !== expected) {
    throw new Error(`VERIFY FAILED for "${label}" (namespace ${ns}): the streams hold ${total} entries, expected ${expected}`);
  }
}


const fmtRatio = (n: number): string => (Number.isFinite(n) ? `${n.toFixed(2)}×` : 'n/a');

// ---------------------------------------------------------------------------------------------
// Cases

interface Ctx {
  url: string;
  admin: Redis;
  w: Workload;
}

type RunFn = (ctx: Ctx, ns: string, n: number) => Promise<void>;

interface CaseDef {
  id: string;
  name: string;
  /** Records for this case at full size. */
  records: (o: Options) => number;
  run: RunFn;
}

async function withClient<T>(url: string, fn: (client: Redis) => Promise<T>): Promise<T> {
  const client = new Redis(url);
  try {
    await client.ping();
    return await fn(client);
  } finally {
    client.disconnect();
  }
}

const awaitXadd: RunFn = async ({ url, w }, ns, n) =>
  withClient(url, async (client) => {
    const start = begin();
    for (let i = 0; i < n; i++) {
      const key = w.keys[i]!;
      await client.xadd(streamKey(ns, shardOf(key)), '*', 'payload', valueAt(w, i), 'key', key);
    }
    end(start);
  });

const pipeline: RunFn = async ({ url, w }, ns, n) =>
  withClient(url, async (client) => {
    const start = begin();
    let next = 0;
    const worker = async () => {
      while (next < n) {
        const from = next;
        const to = Math.min(n, from + BATCH);
        next = to;
        const pipe = client.pipeline();
        for (let i = from; i < to; i++) {
          const key = w.keys[i]!;
          pipe.xadd(streamKey(ns, shardOf(key)), '*', 'payload', valueAt(w, i), 'key', key);
        }
        const replies = await pipe.exec();
        if (!replies) throw new Error('pipeline.exec() returned null');
        for (const [err] of replies) if (err) throw err;
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    end(start);
  });

const LUA = readFileSync(resolve(root, 'lua/publish-batch.lua'), 'utf8');
type PublishFn = (stream: string, stateKey: string, ...args: (string | number)[]) => Promise<(number | string)[]>;

const bareEvalsha: RunFn = async ({ url, w }, ns, n) =>
  withClient(url, async (client) => {
    client.defineCommand('benchPublishBatch', { numberOfKeys: 2, lua: LUA });
    await client.script('LOAD', LUA); // so the timed calls hit EVALSHA, never the EVAL fallback
    const publish = (client as unknown as { benchPublishBatch: PublishFn }).benchPublishBatch.bind(client);
    const start = begin();
    // Batches are cut lazily while calls are in flight: scan records into per-shard buckets until
    // one holds BATCH records, hand that one out; at the end hand out the partial buckets.
    const buckets: (string | number)[][] = Array.from({ length: SHARDS }, () => []);
    const counts = new Array<number>(SHARDS).fill(0);
    let cursor = 0;
    let drain = 0;
    const nextBatch = (): { shard: number; count: number; args: (string | number)[] } | undefined => {
      while (cursor < n) {
        const i = cursor++;
        const key = w.keys[i]!;
        const s = shardOf(key);
        const b = buckets[s]!;
        b.push(4, 'payload', valueAt(w, i), 'key', key);
        if (++counts[s]! === BATCH) {
          buckets[s] = [];
          counts[s] = 0;
          return { shard: s, count: BATCH, args: b };
        }
      }
      while (drain < SHARDS) {
        const s = drain++;
        if (counts[s]! > 0) return { shard: s, count: counts[s]!, args: buckets[s]! };
      }
      return undefined;
    };
    // Idempotent like the producer's default: same script work per batch (GET + SET of the state).
    const seqs = new Array<number>(SHARDS).fill(0);
    const worker = async () => {
      for (let batch = nextBatch(); batch; batch = nextBatch()) {
        const stream = streamKey(ns, batch.shard);
        const seq = ++seqs[batch.shard]!;
        const reply = await publish(stream, `${stream}:p:bench`, '', '', '', '1', seq, 86_400_000, batch.count, ...batch.args);
        if (reply.length - 1 !== batch.count) throw new Error(`publish-batch returned ${reply.length - 1} ids for ${batch.count} records`);
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    end(start);
  });

async function withProducer(url: string, ns: string, extra: Partial<ProducerConfig>, fn: (p: Producer) => Promise<void>): Promise<void> {
  const producer = new Producer({ redis: url, namespace: ns, defaultShards: SHARDS, ...extra });
  const errors: ProducerError[] = [];
  producer.on('error', (e) => errors.push(e));
  try {
    await producer.connect();
    await fn(producer);
  } finally {
    await producer.close();
  }
  if (errors.length > 0) throw new Error(`producer emitted ${errors.length} error event(s), first: ${errors[0]!.message}`);
}

const fireAndForget =
  (extra: Partial<ProducerConfig>): RunFn =>
  async ({ url, w }, ns, n) => {
    let start = 0;
    await withProducer(url, ns, extra, async (producer) => {
      start = begin();
      await produceAll(producer, w, n);
      end(start);
    });
  };

const awaitedCallers =
  (callers: number, extra: Partial<ProducerConfig>): RunFn =>
  async ({ url, w }, ns, n) => {
    await withProducer(url, ns, extra, async (producer) => {
      const start = begin();
      let next = 0;
      let acked = 0;
      const caller = async () => {
        while (next < n) {
          const i = next++;
          const ack = await producer.send({ topic: TOPIC, key: w.keys[i]!, value: valueAt(w, i) });
          if (ack.status === 'delivered') acked++;
        }
      };
      await Promise.all(Array.from({ length: callers }, caller));
      end(start);
      if (acked !== n) throw new Error(`${acked} of ${n} sends resolved as delivered`);
    });
  };

// Timing state of the running case (cases run one at a time).
let timed: { startedAt: number; cpu: NodeJS.CpuUsage; elapsedMs: number; cpuUs: number } | undefined;
const lastTiming = () => timed;
function begin(): number {
  const startedAt = performance.now();
  timed = { startedAt, cpu: process.cpuUsage(), elapsedMs: NaN, cpuUs: NaN };
  return startedAt;
}
function end(_start: number): void {
  if (!timed) throw new Error('end() without begin()');
  const cpu = process.cpuUsage(timed.cpu);
  timed.elapsedMs = performance.now() - timed.startedAt;
  timed.cpuUs = cpu.user + cpu.system;
}

const PIPELINE = 'ioredis pipeline 1000×8';
const EVALSHA = 'bare EVALSHA 1000×8';
const PLAIN: Partial<ProducerConfig> = { adaptiveLinger: false, lingerMs: 5 };
// The producer's cases run with idempotence on (the default), as users run it; these twins
// measure what it costs.
const NO_IDEM: Partial<ProducerConfig> = { idempotent: false };

const CASES: CaseDef[] = [
  // Each adaptiveLinger:false case sits next to its adaptive twin, so both run in the same
  // surroundings (the order alternates between repetitions).
  { id: 'xadd', name: 'ioredis await XADD', records: (o) => o.awaitRecords, run: awaitXadd },
  { id: 'pipe', name: PIPELINE, records: (o) => o.records, run: pipeline },
  { id: 'eval', name: EVALSHA, records: (o) => o.records, run: bareEvalsha },
  { id: 'ff', name: 'producer fire-and-forget', records: (o) => o.records, run: fireAndForget({}) },
  { id: 'ffn', name: 'producer fire-and-forget, idempotent:false', records: (o) => o.records, run: fireAndForget(NO_IDEM) },
  { id: 'ffp', name: 'producer fire-and-forget, adaptiveLinger:false lingerMs:5', records: (o) => o.records, run: fireAndForget(PLAIN) },
  { id: 'c1000', name: 'producer 1000 awaited callers', records: (o) => o.records, run: awaitedCallers(1000, {}) },
  { id: 'c1000n', name: 'producer 1000 awaited callers, idempotent:false', records: (o) => o.records, run: awaitedCallers(1000, NO_IDEM) },
  { id: 'c1000p', name: 'producer 1000 awaited callers, adaptiveLinger:false lingerMs:5', records: (o) => o.records, run: awaitedCallers(1000, PLAIN) },
  { id: 'c100', name: 'producer 100 awaited callers', records: (o) => o.records, run: awaitedCallers(100, {}) },
];

interface RepResult {
  rep: number;
  namespace: string;
  records: number;
  elapsedMs: number;
  recordsPerSec: number;
  clientCpuUsPerRecord: number;
  serverCpuUsPerRecord: number;
  serverInBytesPerRecord: number;
}

async function runCase(ctx: Ctx, def: CaseDef, ns: string, n: number): Promise<Omit<RepResult, 'rep'>> {
  await deleteNamespace(ctx.admin, ns);
  collectGarbage();
  const before = await serverCounters(ctx.admin);
  timed = undefined;
  await def.run(ctx, ns, n);
  const after = await serverCounters(ctx.admin);
  const t = lastTiming();
  if (!t || !Number.isFinite(t.elapsedMs)) throw new Error(`case "${def.name}" did not record its time`);
  await verify(ctx.admin, ns, n, def.name);
  await deleteNamespace(ctx.admin, ns);
  return {
    namespace: ns,
    records: n,
    elapsedMs: t.elapsedMs,
    recordsPerSec: n / (t.elapsedMs / 1000),
    clientCpuUsPerRecord: t.cpuUs / n,
    // The counters also include this run's INFO/DEL calls and connection set-up: negligible per record.
    serverCpuUsPerRecord: ((after.cpuSec - before.cpuSec) * 1e6) / n,
    serverInBytesPerRecord: (after.inBytes - before.inBytes) / n,
  };
}

// ---------------------------------------------------------------------------------------------
// Latency of a lone call on an idle connection

interface LatencySubject {
  name: string;
  call: (i: number) => Promise<unknown>;
  close: () => Promise<void>;
  ns: string;
  samplesUs: number[];
  errors: ProducerError[];
}

async function latency(ctx: Ctx, runTag: string, calls: number): Promise<{ name: string; calls: number; p50Us: number; p90Us: number; p99Us: number; maxUs: number }[]> {
  const { url, w } = ctx;
  const warm = 1000;
  const subjects: LatencySubject[] = [];
  const key = (i: number) => w.keys[i % w.keys.length]!;

  const xns = `${runTag}lx`;
  await deleteNamespace(ctx.admin, xns);
  const client = new Redis(url);
  await client.ping();
  subjects.push({
    name: 'ioredis await XADD',
    ns: xns,
    call: (i) => client.xadd(streamKey(xns, shardOf(key(i))), '*', 'payload', valueAt(w, i), 'key', key(i)),
    close: async () => client.disconnect(),
    samplesUs: [],
    errors: [],
  });
  for (const [suffix, label, extra] of [
    ['la', 'producer send, adaptiveLinger:true', {}],
    ['lp', 'producer send, adaptiveLinger:false lingerMs:5', PLAIN],
  ] as const) {
    const ns = `${runTag}${suffix}`;
    await deleteNamespace(ctx.admin, ns);
    const producer = new Producer({ redis: url, namespace: ns, defaultShards: SHARDS, ...extra });
    const subject: LatencySubject = {
      name: label,
      ns,
      call: (i) => producer.send({ topic: TOPIC, key: key(i), value: valueAt(w, i) }),
      close: () => producer.close(),
      samplesUs: [],
      errors: [],
    };
    producer.on('error', (e) => subject.errors.push(e));
    await producer.connect();
    subjects.push(subject);
  }

  try {
    for (const s of subjects) for (let i = 0; i < warm; i++) await s.call(i);
    // Interleave in blocks so drift (other load, CPU frequency) hits every subject alike.
    const blocks = 4;
    let done = 0;
    for (let b = 0; b < blocks; b++) {
      const size = Math.floor((calls * (b + 1)) / blocks) - Math.floor((calls * b) / blocks);
      for (const s of subjects) {
        for (let j = 0; j < size; j++) {
          const i = warm + done + j;
          const t0 = performance.now();
          await s.call(i);
          s.samplesUs.push((performance.now() - t0) * 1000);
        }
      }
      done += size;
    }
  } finally {
    for (const s of subjects) await s.close();
  }
  const out = [];
  for (const s of subjects) {
    if (s.errors.length > 0) throw new Error(`latency "${s.name}": ${s.errors.length} error event(s), first: ${s.errors[0]!.message}`);
    await verify(ctx.admin, s.ns, warm + calls, `latency ${s.name}`);
    await deleteNamespace(ctx.admin, s.ns);
    const sorted = [...s.samplesUs].sort((a, b) => a - b);
    out.push({ name: s.name, calls: sorted.length, p50Us: percentile(sorted, 50), p90Us: percentile(sorted, 90), p99Us: percentile(sorted, 99), maxUs: sorted[sorted.length - 1]! });
    process.stderr.write(`latency ${s.name}: p50 ${percentile(sorted, 50).toFixed(0)} µs, p99 ${percentile(sorted, 99).toFixed(0)} µs\n`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Main

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  let server: ServerProcess | undefined;
  const stopServer = async () => {
    const s = server;
    server = undefined;
    await s?.stop();
  };
  // `on`, not `once`: with `npx tsx` a Ctrl-C can arrive twice (from the terminal and relayed by
  // tsx's parent), and a second signal without a listener would exit before the server is stopped.
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      process.stderr.write(`\n${signal}: stopping redis-server\n`);
      void stopServer().finally(() => process.exit(130));
    });
  }

  const command = `npx tsx bench/throughput.ts${process.argv.length > 2 ? ` ${process.argv.slice(2).join(' ')}` : ''}`;
  let url = process.env.REDIS_URL;
  let redisSource = 'REDIS_URL';
  let admin: Redis | undefined;
  try {
    if (!url) {
      server = await startRedisServer();
      url = `redis://127.0.0.1:${server.port}`;
      redisSource = 'throwaway redis-server started by the benchmark';
    }
    admin = new Redis(url);
    const info = await admin.info('server');
    const redisVersion = /^redis_version:(\S+)/m.exec(info)?.[1] ?? 'unknown';
    const machine = {
      cpu: os.cpus()[0]?.model ?? 'unknown',
      cores: os.cpus().length,
      memoryMiB: Math.round(os.totalmem() / 2 ** 20),
      platform: `${os.platform()} ${os.release()} ${os.arch()}`,
      node: process.version,
      redis: redisVersion,
      redisSource,
    };
    process.stderr.write(
      `redis ${redisVersion} at ${url} (${redisSource}); ${machine.cpu}, ${machine.cores} cores, node ${machine.node}\n` +
        `${opts.records} records × ${opts.reps} reps (await XADD: ${opts.awaitRecords}), ${SHARDS} shards, ${VALUE_BYTES}-byte values\n`,
    );

    const ctx: Ctx = { url, admin, w: makeWorkload(Math.max(opts.records, opts.awaitRecords), opts.seed) };
    const runTag = `b${Date.now().toString(36)}`;

    if (opts.warmup) {
      const n = Math.min(opts.records, 10_000);
      process.stderr.write(`warm-up: every case once with ${Math.min(n, opts.awaitRecords, 2000)}–${n} records (not recorded)\n`);
      for (const [c, def] of CASES.entries()) {
        await runCase(ctx, def, `${runTag}w${c}`, def.id === 'xadd' ? Math.min(n, opts.awaitRecords, 2000) : n);
      }
    }

    const results = new Map<string, RepResult[]>(CASES.map((c) => [c.id, []]));
    for (let rep = 1; rep <= opts.reps; rep++) {
      // Alternate the order across repetitions so no case always runs first or last.
      const order = rep % 2 === 1 ? CASES : [...CASES].reverse();
      for (const def of order) {
        const c = CASES.indexOf(def);
        const r = await runCase(ctx, def, `${runTag}c${c}r${rep}`, def.records(opts));
        results.get(def.id)!.push({ rep, ...r });
        process.stderr.write(
          `[rep ${rep}/${opts.reps}] ${def.name}: ${r.records} records in ${(r.elapsedMs / 1000).toFixed(2)} s = ${fmtInt(r.recordsPerSec)} rec/s ` +
            `(client CPU ${r.clientCpuUsPerRecord.toFixed(2)} µs/rec, server CPU ${r.serverCpuUsPerRecord.toFixed(2)} µs/rec) verified\n`,
        );
      }
    }

    const lat = await latency(ctx, runTag, opts.latencyCalls);

    // ---- report
    const med = (id: string, f: (r: RepResult) => number) => median(results.get(id)!.map(f));
    const pipeRate = med('pipe', (r) => r.recordsPerSec);
    const evalRate = med('eval', (r) => r.recordsPerSec);
    const rows = CASES.map((def) => {
      const rate = med(def.id, (r) => r.recordsPerSec);
      return {
        id: def.id,
        name: def.name,
        records: def.records(opts),
        medianRecordsPerSec: rate,
        ratioToPipeline: rate / pipeRate,
        ratioToBareEvalsha: rate / evalRate,
        clientCpuUsPerRecord: med(def.id, (r) => r.clientCpuUsPerRecord),
        serverCpuUsPerRecord: med(def.id, (r) => r.serverCpuUsPerRecord),
        serverInBytesPerRecord: med(def.id, (r) => r.serverInBytesPerRecord),
      };
    });
    const xaddLat = lat.find((l) => l.name === 'ioredis await XADD')!;

    const lines: string[] = [];
    lines.push(`### Throughput (median of ${opts.reps} reps, ${SHARDS} shards, ${VALUE_BYTES}-byte values, random keys)`, '');
    lines.push(`| case | records | median records/s | vs ${PIPELINE} | vs ${EVALSHA} | client CPU µs/rec | server CPU µs/rec | bytes in/rec |`);
    lines.push('|---|---:|---:|---:|---:|---:|---:|---:|');
    for (const r of rows) {
      const recs = r.id === 'xadd' && r.records !== opts.records ? `${fmtInt(r.records)} (fewer: slow case)` : fmtInt(r.records);
      lines.push(
        `| ${r.name} | ${recs} | ${fmtInt(r.medianRecordsPerSec)} | ${fmtRatio(r.ratioToPipeline)} | ${fmtRatio(r.ratioToBareEvalsha)} | ` +
          `${r.clientCpuUsPerRecord.toFixed(2)} | ${r.serverCpuUsPerRecord.toFixed(2)} | ${r.serverInBytesPerRecord.toFixed(0)} |`,
      );
    }
    lines.push('', `### Latency of a lone call on an idle connection (${opts.latencyCalls} sequential calls each, after 1000 warm-up calls)`, '');
    lines.push('| call | p50 µs | p90 µs | p99 µs | max µs | p50 vs ioredis await XADD |');
    lines.push('|---|---:|---:|---:|---:|---:|');
    for (const l of lat) {
      lines.push(`| ${l.name} | ${l.p50Us.toFixed(0)} | ${l.p90Us.toFixed(0)} | ${l.p99Us.toFixed(0)} | ${l.maxUs.toFixed(0)} | ${fmtRatio(l.p50Us / xaddLat.p50Us)} |`);
    }
    lines.push(
      '',
      `${new Date().toISOString().slice(0, 10)} · ${machine.cpu}, ${machine.cores} cores · node ${machine.node} · redis ${machine.redis} (${redisSource}) · \`${command}\``,
    );
    process.stdout.write(lines.join('\n') + '\n');

    mkdirSync(dirname(opts.out), { recursive: true });
    writeFileSync(
      opts.out,
      JSON.stringify(
        {
          date: new Date().toISOString(),
          command,
          machine,
          settings: { ...opts, out: undefined, shards: SHARDS, valueBytes: VALUE_BYTES, keySpace: KEY_SPACE, batch: BATCH, inFlight: IN_FLIGHT },
          throughput: rows.map((r) => ({ ...r, reps: results.get(r.id) })),
          latency: lat,
        },
        null,
        2,
      ) + '\n',
    );
    process.stderr.write(`raw results: ${opts.out}\n`);
  } finally {
    admin?.disconnect();
    await stopServer();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`benchmark failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
