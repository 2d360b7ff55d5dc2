/**
 * The benchmark's cases: the producer in its modes and its peers, each a function that writes the
 * first `n` records of the workload to the streams of namespace `ns`, times only that (connection
 * set-up excluded) and records an ack latency per send, record, command or batch.
 * A case runs inside `run-case.ts`, in a process of its own.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { decodeReply, encodeBatch, type RecordFields } from '../src/batch-codec.js';
import { Producer, type DeliveryEvent, type ProducerConfig, type ProducerError } from '../src/index.js';
import { NO_TRIM, publishBatchArgs, registerScript } from '../src/scripts.js';
import type { LatencyRecorder, LatencySummary } from './latency.js';
import { streamTotals } from './server-stats.js';
import { type Client, connect, producerRedis, standaloneUrl, type Target } from './target.js';
import { fieldsAt, PEER_BATCH, peerShardOf, produceAll, recordAt, streamKey, TOPIC, valueAt, type Workload } from './workload.js';

/** Calls in flight for the peers that batch (explicit pipeline, bare EVALSHA). */
export const PEER_IN_FLIGHT = 8;
/** Concurrent commands of the auto-pipelining peers: a bounded window, like 1000 awaited callers. */
export const AUTO_PIPELINE_WINDOW = 1000;
/**
 * The concurrent cases time one record in this many (by workload index): a histogram sample and
 * two clock reads per record cost about 0.3 µs, 8 % of the 1000-caller case's throughput, and
 * 1 in 8 of 500,000 records still gives 62,500 samples. Sequential cases time every call.
 */
export const LATENCY_SAMPLE_EVERY = 8;
/** redis-benchmark's pipeline depth (`-P`) and connections (`-c`, its default). */
export const REDIS_BENCHMARK_PIPELINE = 512;
export const REDIS_BENCHMARK_CLIENTS = 50;
/** The producer's default `batchMaxBytes`: the bare EVALSHA loop cuts its batches at the same size. */
const BARE_BATCH_MAX_BYTES = 1024 * 1024;

/** Times the measured part of a case: wall clock and this process's CPU. */
export class Stopwatch {
  private startedAt = NaN;
  private cpuAtStart: NodeJS.CpuUsage | undefined;
  elapsedMs = NaN;
  cpuUs = NaN;

  start(): void {
    this.cpuAtStart = process.cpuUsage();
    this.startedAt = performance.now();
  }

  stop(): void {
    if (this.cpuAtStart === undefined) throw new Error('Stopwatch.stop() without start()');
    this.elapsedMs = performance.now() - this.startedAt;
    const cpu = process.cpuUsage(this.cpuAtStart);
    this.cpuUs = cpu.user + cpu.system;
  }
}

/** What a case runs with. */
export interface CaseEnv {
  target: Target;
  w: Workload;
  ns: string;
  /** Records to write (the first n of the workload). */
  n: number;
  latency: LatencyRecorder;
  clock: Stopwatch;
  /** Records done so far, read by the progress reporter. */
  progress: { done: number };
  /** Extra producer options (the sweep's grid point); ignored by the peers. */
  producerConfig: Partial<ProducerConfig>;
  /** False: the fire-and-forget latency twin runs without its `delivery` listener too (`--no-delivery-latency`). */
  deliveryLatency: boolean;
}

/** What a case measured itself instead of the defaults (records = n, this process's CPU and RSS, `env.latency`). */
export interface CaseOverrides {
  /** Records actually written, when the tool cannot write exactly n (redis-benchmark). */
  records?: number;
  clientCpuUs?: number;
  peakRssKiB?: number;
  latency?: LatencySummary;
}

/** What a case is, for the chart's colours: a plain client, a limit to compare with, or the producer. */
export type CaseKind = 'peer' | 'limit' | 'producer';

export interface CaseDef {
  id: string;
  name: string;
  kind: CaseKind;
  /** What one latency sample is. */
  latencyOf: string;
  /** Slow case: runs `--await-records` records instead of `--records`. */
  slow?: boolean;
  /** Runs on a standalone server only (`--target cluster` leaves it out). */
  standaloneOnly?: boolean;
  // biome-ignore lint/suspicious/noConfusingVoidType: most cases return nothing
  run(env: CaseEnv): Promise<CaseOverrides | void>;
}

const now = (): number => performance.now();

/** An ioredis client for the target (a `Cluster` on a cluster) around `fn`. */
async function withIoredis<T>(target: Target, options: { enableAutoPipelining?: boolean }, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = await connect(target, options);
  try {
    return await fn(client);
  } finally {
    client.disconnect();
  }
}

/**
 * Runs `workers` loops that each take the next record index until n are taken and await
 * `call(i)`, as a request handler awaits its send; `onResult` sees each result. `call` returns the
 * client's own promise (no async wrapper of ours per record: that cost ≈0.3 µs a record). One
 * record in `sampleEvery` is timed into `latency`.
 */
async function concurrently<T>(
  workers: number,
  n: number,
  sampleEvery: number,
  { latency, progress }: Pick<CaseEnv, 'latency' | 'progress'>,
  call: (i: number) => Promise<T>,
  onResult?: (result: T) => void,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      const timed = i % sampleEvery === 0;
      const t0 = timed ? now() : 0;
      const result = await call(i);
      if (timed) latency.record((now() - t0) * 1000);
      onResult?.(result);
      progress.done++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(workers, n) }, worker));
}

// ---------------------------------------------------------------------------------------------
// Peers

const awaitXadd: CaseDef['run'] = ({ target, w, ns, n, latency, clock, progress }) =>
  withIoredis(target, {}, async (client) => {
    clock.start();
    for (let i = 0; i < n; i++) {
      const t0 = now();
      await client.xadd(streamKey(ns, peerShardOf(w, i)), '*', ...fieldsAt(w, i));
      latency.record((now() - t0) * 1000);
      progress.done = i + 1;
    }
    clock.stop();
  });

const autoPipelining: CaseDef['run'] = (env) =>
  withIoredis(env.target, { enableAutoPipelining: true }, async (client) => {
    const { w, ns, n, clock } = env;
    clock.start();
    await concurrently(AUTO_PIPELINE_WINDOW, n, LATENCY_SAMPLE_EVERY, env, (i) => client.xadd(streamKey(ns, peerShardOf(w, i)), '*', ...fieldsAt(w, i)));
    clock.stop();
  });

/**
 * Pipelines of `PEER_BATCH` `XADD`s, `PEER_IN_FLIGHT` in flight. On a standalone server each takes
 * the next records in workload order; a cluster pipeline must stay on one node, so there each holds
 * records of one shard (cut as the bare EVALSHA loop cuts its batches).
 */
const explicitPipeline: CaseDef['run'] = ({ target, w, ns, n, latency, clock, progress }) =>
  withIoredis(target, {}, async (client) => {
    clock.start();
    const add = (pipe: ReturnType<Client['pipeline']>, i: number) => pipe.xadd(streamKey(ns, peerShardOf(w, i)), '*', ...fieldsAt(w, i));
    let next = 0;
    const perShard = target.kind === 'cluster' ? shardBatches(w, n, PEER_BATCH, (i) => i) : undefined;
    // Queues the next batch on `pipe`; returns its records (0: none left).
    const fill = (pipe: ReturnType<Client['pipeline']>): number => {
      if (perShard) {
        const batch = perShard()?.records ?? [];
        for (const i of batch) add(pipe, i);
        return batch.length;
      }
      const from = next;
      const to = Math.min(n, from + PEER_BATCH);
      next = to;
      for (let i = from; i < to; i++) add(pipe, i);
      return to - from;
    };
    const worker = async (): Promise<void> => {
      for (;;) {
        const pipe = client.pipeline();
        const count = fill(pipe);
        if (count === 0) return;
        const t0 = now();
        const replies = await pipe.exec();
        latency.record((now() - t0) * 1000);
        if (!replies) throw new Error('pipeline.exec() returned null');
        for (const [err] of replies) if (err) throw err;
        progress.done += count;
      }
    };
    await Promise.all(Array.from({ length: PEER_IN_FLIGHT }, worker));
    clock.stop();
  });

const nodeRedis: CaseDef['run'] = async (env) => {
  const { target, w, ns, n, clock } = env;
  // Imported here, so the other cases' processes never load it (their RSS stays theirs).
  const { createClient, createCluster } = await import('redis');
  const client = target.kind === 'standalone' ? createClient({ url: target.url }) : createCluster({ rootNodes: target.nodes.map(({ host, port }) => ({ url: `redis://${host}:${port}` })) });
  client.on('error', () => {}); // a failed command rejects its own promise; this only silences the emitter
  await client.connect();
  try {
    clock.start();
    // node-redis writes every command issued in the same tick in one go: auto-pipelining is its default.
    const message = (i: number): Record<string, string> => {
      const fields = fieldsAt(w, i);
      const entry: Record<string, string> = {};
      for (let f = 0; f < fields.length; f += 2) entry[fields[f]!] = fields[f + 1]!;
      return entry;
    };
    await concurrently(AUTO_PIPELINE_WINDOW, n, LATENCY_SAMPLE_EVERY, env, (i) => client.xAdd(streamKey(ns, peerShardOf(w, i)), '*', message(i)));
    clock.stop();
  } finally {
    client.destroy();
  }
};

/**
 * The script arguments of one bare batch: the producer's own encoder, so the bare loop always sends
 * what the producer sends. This is the one place to adapt when `publish-batch.lua`'s wire format changes.
 */
export function bareEvalshaArgs(records: readonly RecordFields[]): (string | Buffer | number)[] {
  return encodeBatch(records);
}

/**
 * Cuts the first `n` records into per-shard batches lazily, while calls are in flight: records go
 * into per-shard buckets (as `item(i)`) as they are scanned; a bucket is handed out at
 * `batchRecords` records or at `bytes.max` (as `bytes.of` counts them), and the partial ones at the end.
 */
function shardBatches<T>(
  w: Workload,
  n: number,
  batchRecords: number,
  item: (i: number) => T,
  bytes: { max: number; of: (item: T) => number } = { max: Infinity, of: () => 0 },
): () => { shard: number; records: T[] } | undefined {
  const buckets: T[][] = Array.from({ length: w.shards }, () => []);
  const size = new Array<number>(w.shards).fill(0);
  let cursor = 0;
  let drain = 0;
  return () => {
    while (cursor < n) {
      const i = cursor++;
      const shard = peerShardOf(w, i);
      const record = item(i);
      const bucket = buckets[shard]!;
      bucket.push(record);
      size[shard]! += bytes.of(record);
      if (bucket.length === batchRecords || size[shard]! >= bytes.max) {
        buckets[shard] = [];
        size[shard] = 0;
        return { shard, records: bucket };
      }
    }
    while (drain < w.shards) {
      const shard = drain++;
      if (buckets[shard]!.length > 0) return { shard, records: buckets[shard]! };
    }
    return undefined;
  };
}

/**
 * `lua/publish-batch.lua` called the plain ioredis way (a `defineCommand` script: EVALSHA with every
 * argument in its array, ioredis encoding them), with the producer's argument layout: no producer
 * around it.
 */
const bareEvalsha =
  (batchRecords: number, inFlight: number): CaseDef['run'] =>
  ({ target, w, ns, n, latency, clock, progress }) =>
    withIoredis(target, {}, async (client) => {
      const publish = registerScript(client, 'publish-batch');
      clock.start();
      const nextBatch = shardBatches(w, n, batchRecords, (i) => fieldsAt(w, i), { max: BARE_BATCH_MAX_BYTES, of: recordBytes });
      // Idempotent like the producer's default: the same script work per batch (state GET + SET).
      const seqs = new Array<number>(w.shards).fill(0);
      const worker = async (): Promise<void> => {
        for (let batch = nextBatch(); batch; batch = nextBatch()) {
          const stream = streamKey(ns, batch.shard);
          const idem = { stateKey: `${stream}:p:bench`, seq: ++seqs[batch.shard]!, stateTtlMs: 86_400_000 };
          const count = batch.records.length;
          const t0 = now();
          const reply = decodeReply(await publish(...publishBatchArgs(stream, NO_TRIM, idem, count, bareEvalshaArgs(batch.records))), count);
          latency.record((now() - t0) * 1000);
          if (!reply.written || reply.count !== count) throw new Error(`publish-batch answered ${reply.count} ids (written: ${reply.written}) for ${count} records`);
          progress.done += count;
        }
      };
      await Promise.all(Array.from({ length: inFlight }, worker));
      clock.stop();
    });

/** Value + key + header bytes, as the producer counts them (the workload is ASCII: characters = bytes). */
function recordBytes(fields: RecordFields): number {
  let size = fields[1]!.length + (fields[3]?.length ?? 0);
  for (let f = 4; f < fields.length; f += 2) size += fields[f]!.length - 2 + fields[f + 1]!.length;
  return size;
}

const BARE_LOOP_LUA = readFileSync(new URL('lua/bare-xadd-loop.lua', import.meta.url), 'utf8');

/**
 * The reference the targets are stated against: `bench/lua/bare-xadd-loop.lua`, the smallest
 * script that writes the same entries (every field name and value per record, one XADD each, no
 * checks, no idempotence), cut into batches as the bare EVALSHA loop cuts them.
 */
const bareLuaLoop =
  (batchRecords: number, inFlight: number): CaseDef['run'] =>
  ({ target, w, ns, n, latency, clock, progress }) =>
    withIoredis(target, {}, async (client) => {
      client.defineCommand('bareXaddLoop', { lua: BARE_LOOP_LUA, numberOfKeys: 1 });
      const loop = (client as unknown as Record<string, (...args: (string | number)[]) => Promise<number>>).bareXaddLoop!.bind(client);
      clock.start();
      const nextBatch = shardBatches(w, n, batchRecords, (i) => fieldsAt(w, i), { max: BARE_BATCH_MAX_BYTES, of: recordBytes });
      const worker = async (): Promise<void> => {
        for (let batch = nextBatch(); batch; batch = nextBatch()) {
          const args: (string | number)[] = [streamKey(ns, batch.shard), batch.records[0]!.length];
          for (const fields of batch.records) for (const f of fields) args.push(f);
          const t0 = now();
          const written = await loop(...args);
          latency.record((now() - t0) * 1000);
          if (written !== batch.records.length) throw new Error(`bare-xadd-loop wrote ${written} of ${batch.records.length} records`);
          progress.done += written;
        }
      };
      await Promise.all(Array.from({ length: inFlight }, worker));
      clock.stop();
    });

/**
 * Records redis-benchmark may write for `-n n`: at least n, and its clients stop only between
 * pipelines, so at most one pipeline of `-P` more per client (seen: 500,224 and 500,210 for 500,000).
 */
export const redisBenchmarkRecordBounds = (n: number): [min: number, max: number] => [n, n + REDIS_BENCHMARK_CLIENTS * REDIS_BENCHMARK_PIPELINE];

/**
 * `redis-benchmark -P 512` with a custom XADD of the workload's shape (redis-benchmark 7.0 has no
 * `-t xadd`): 16 streams `{ns:t:<12-digit shard>}` via `-r 16`, one value of the workload's size,
 * a fixed 10-byte key. Its own client CPU and peak RSS come from GNU time, its latency percentiles
 * from its CSV output (per pipelined request, up to p99).
 */
const redisBenchmark: CaseDef['run'] = async ({ target, w, ns, n, clock, progress }) => {
  const url = standaloneUrl(target);
  const fields = w.keyless ? ['payload', valueAt(w, 0)] : ['payload', valueAt(w, 0), 'key', 'user-12345'];
  const args = ['-u', url, '-n', String(n), '-P', String(REDIS_BENCHMARK_PIPELINE), '-c', String(REDIS_BENCHMARK_CLIENTS), '-r', String(w.shards), '--csv'];
  args.push('XADD', `{${ns}:${TOPIC}:__rand_int__}`, '*', ...fields);
  const timed = existsSync('/usr/bin/time');
  const [command, argv] = timed ? ['/usr/bin/time', ['-f', 'GNUTIME %U %S %M', 'redis-benchmark', ...args]] : ['redis-benchmark', args];
  clock.start();
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(command, argv as string[], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (c) => resolve({ code: c, stdout: out, stderr: err }));
  });
  clock.stop();
  if (code !== 0) throw new Error(`redis-benchmark exited with ${code}: ${stderr.trim() || stdout.trim()}`);
  progress.done = n;
  // CSV: "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
  const row = stdout.trim().split('\n').pop()!;
  const cells = [...row.matchAll(/"([^"]*)"/g)].map((m) => m[1]!);
  const ms = (i: number): number => Number(cells[i]) * 1000;
  if (cells.length < 8 || !Number.isFinite(ms(4))) throw new Error(`unexpected redis-benchmark output: ${row}`);
  // The count it wrote is what the streams hold, if that lies within what `-n` allows.
  const written = await withIoredis(target, {}, async (admin) => (await streamTotals(admin, ns)).entries);
  const [min, max] = redisBenchmarkRecordBounds(n);
  if (written < min || written > max) throw new Error(`VERIFY FAILED for redis-benchmark (namespace ${ns}): the streams hold ${written} entries, expected ${min}…${max}`);
  const overrides: CaseOverrides = {
    records: written,
    latency: { samples: written, p50Us: ms(4), p99Us: ms(6), p999Us: NaN, maxUs: ms(7) },
  };
  const gnuTime = /GNUTIME ([\d.]+) ([\d.]+) (\d+)/.exec(stderr);
  if (gnuTime) {
    overrides.clientCpuUs = (Number(gnuTime[1]) + Number(gnuTime[2])) * 1e6;
    overrides.peakRssKiB = Number(gnuTime[3]);
  } else {
    overrides.clientCpuUs = NaN;
    overrides.peakRssKiB = NaN;
  }
  return overrides;
};

// ---------------------------------------------------------------------------------------------
// The producer

async function withProducer(target: Target, ns: string, shards: number, config: Partial<ProducerConfig>, fn: (p: Producer) => Promise<void>): Promise<void> {
  const producer = new Producer({ redis: producerRedis(target), namespace: ns, defaultShards: shards, ...config });
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

/**
 * Fire-and-forget latency, per record from the moment `produce()` accepted it to its batch's
 * `delivery` event. Keyed records: exact, since a shard's records are delivered in the order they
 * were produced (one batch per shard in flight), so the i-th id delivered on a shard is the i-th
 * record produced for it. Keyless records (the sticky partitioner's shard is not visible from
 * outside): every record of a batch gets the batch's `latencyMs` (its oldest record's), an upper bound.
 */
class DeliveryLatency {
  private readonly acceptedAt: Float64Array;
  private readonly shardRecords: Int32Array[] = [];
  private readonly cursor: number[];

  constructor(
    private readonly w: Workload,
    n: number,
    private readonly latency: LatencyRecorder,
    private readonly progress: { done: number },
  ) {
    this.acceptedAt = new Float64Array(w.keyless ? 0 : n);
    this.cursor = new Array<number>(w.shards).fill(0);
    if (w.keyless) return;
    // Each shard's record indexes in produce order, worked out before the clock starts.
    const counts = new Array<number>(w.shards).fill(0);
    for (let i = 0; i < n; i++) counts[peerShardOf(w, i)]!++;
    for (let s = 0; s < w.shards; s++) this.shardRecords.push(new Int32Array(counts[s]!));
    counts.fill(0);
    for (let i = 0; i < n; i++) {
      const s = peerShardOf(w, i);
      this.shardRecords[s]![counts[s]!++] = i;
    }
  }

  accepted = (i: number): void => {
    if (!this.w.keyless) this.acceptedAt[i] = now();
  };

  delivered = (event: DeliveryEvent): void => {
    const k = event.ids.length;
    this.progress.done += k;
    if (this.w.keyless) {
      this.latency.record(event.latencyMs * 1000, k);
      return;
    }
    const t = now();
    const order = this.shardRecords[event.shard]!;
    let c = this.cursor[event.shard]!;
    for (let j = 0; j < k; j++) this.latency.record((t - this.acceptedAt[order[c++]!]!) * 1000);
    this.cursor[event.shard] = c;
  };
}

/**
 * `listen`: time each record from produce() to its `delivery` event. The listener makes the
 * producer build every batch's ids, which a fire-and-forget user without a listener never pays, so
 * the throughput cases run without it and one twin measures the latency.
 */
const fireAndForget =
  (extra: Partial<ProducerConfig>, listen = false): CaseDef['run'] =>
  ({ target, w, ns, n, latency, clock, progress, producerConfig, deliveryLatency }) =>
    withProducer(target, ns, w.shards, { ...extra, ...producerConfig }, async (producer) => {
      if (!listen || !deliveryLatency) {
        clock.start();
        await produceAll(producer, w, n, (i) => (progress.done = i + 1));
        clock.stop();
        return;
      }
      const tracker = new DeliveryLatency(w, n, latency, progress);
      producer.on('delivery', tracker.delivered);
      clock.start();
      await produceAll(producer, w, n, tracker.accepted);
      clock.stop();
    });

const awaitedCallers =
  (callers: number, extra: Partial<ProducerConfig>): CaseDef['run'] =>
  (env) =>
    withProducer(env.target, env.ns, env.w.shards, { ...extra, ...env.producerConfig }, async (producer) => {
      const { w, n, clock } = env;
      let acked = 0;
      clock.start();
      await concurrently(
        callers,
        n,
        callers === 1 ? 1 : LATENCY_SAMPLE_EVERY,
        env,
        (i) => producer.send(recordAt(w, i)),
        (ack) => {
          if (ack.status === 'delivered') acked++;
        },
      );
      clock.stop();
      if (acked !== n) throw new Error(`${acked} of ${n} sends resolved as delivered`);
    });

/**
 * `callers` loops that each await `sendBatch()` of the next `size` records, the KafkaJS way of
 * awaiting many records at once: `callers` × `size` records outstanding. Latency is per call.
 */
const awaitedBatches = (callers: number, size: number) => (env: CaseEnv) =>
  withProducer(env.target, env.ns, env.w.shards, env.producerConfig, async (producer) => {
    const { w, n, clock } = env;
    let delivered = 0;
    clock.start();
    await concurrently(
      callers,
      Math.ceil(n / size),
      1,
      env,
      (b) => producer.sendBatch(Array.from({ length: Math.min(size, n - b * size) }, (_, k) => recordAt(w, b * size + k))),
      (results) => {
        for (const r of results) if (r.status === 'delivered') delivered++;
        env.progress.done += results.length - 1; // the harness counts one per call
      },
    );
    clock.stop();
    if (delivered !== n) throw new Error(`${delivered} of ${n} records of sendBatch() delivered`);
  });

// ---------------------------------------------------------------------------------------------
// The list

export const PIPELINE = 'ioredis pipeline 1000×8';
export const BARE_LOOP = 'bare Lua XADD loop 1000×8';
const PLAIN: Partial<ProducerConfig> = { adaptiveLinger: false, lingerMs: 5 };
// The producer's cases run with idempotence on (the default), as users run it; these twins
// measure what it costs.
const NO_IDEM: Partial<ProducerConfig> = { idempotent: false };

/** Every case of the default run, in the order of the first repetition. */
export const CASES: CaseDef[] = [
  { id: 'xadd', kind: 'peer', name: 'ioredis await XADD', latencyOf: 'command', slow: true, run: awaitXadd },
  { id: 'c1', kind: 'producer', name: 'producer 1 awaited caller', latencyOf: 'send', slow: true, run: awaitedCallers(1, {}) },
  { id: 'auto', kind: 'peer', name: 'ioredis auto-pipelining, 1000 in flight', latencyOf: 'command', run: autoPipelining },
  { id: 'node', kind: 'peer', name: 'node-redis auto-pipelining, 1000 in flight', latencyOf: 'command', run: nodeRedis },
  { id: 'pipe', kind: 'peer', name: PIPELINE, latencyOf: 'batch', run: explicitPipeline },
  { id: 'lua', kind: 'limit', name: BARE_LOOP, latencyOf: 'batch', run: bareLuaLoop(PEER_BATCH, PEER_IN_FLIGHT) },
  { id: 'eval', kind: 'limit', name: "producer's script, bare EVALSHA 1000×8", latencyOf: 'batch', run: bareEvalsha(PEER_BATCH, PEER_IN_FLIGHT) },
  // The same loop with only ≈1000 records outstanding, as many as 1000 awaited callers have: 72
  // records a call (what they make on 16 shards) × 14 calls in flight.
  { id: 'eval72', kind: 'limit', name: "producer's script, bare EVALSHA 72×14 (1000 outstanding)", latencyOf: 'batch', run: bareEvalsha(72, 14) },
  // Also ≈1000 outstanding, in fewer and larger calls: what calls spanning several shards could give.
  { id: 'eval250', kind: 'limit', name: "producer's script, bare EVALSHA 250×4 (1000 outstanding)", latencyOf: 'batch', run: bareEvalsha(250, 4) },
  { id: 'rb', kind: 'limit', name: 'redis-benchmark XADD -P 512', latencyOf: 'request', standaloneOnly: true, run: redisBenchmark },
  // Each twin sits next to the case it varies, so both run in the same surroundings (the order
  // alternates between repetitions).
  { id: 'ff', kind: 'producer', name: 'producer fire-and-forget', latencyOf: 'record', run: fireAndForget({}) },
  { id: 'ffl', kind: 'producer', name: 'producer fire-and-forget, delivery listener (latency)', latencyOf: 'record', run: fireAndForget({}, true) },
  { id: 'ffn', kind: 'producer', name: 'producer fire-and-forget, idempotent:false', latencyOf: 'record', run: fireAndForget(NO_IDEM) },
  { id: 'ffp', kind: 'producer', name: 'producer fire-and-forget, adaptiveLinger:false lingerMs:5', latencyOf: 'record', run: fireAndForget(PLAIN) },
  { id: 'c1000', kind: 'producer', name: 'producer 1000 awaited callers', latencyOf: 'send', run: awaitedCallers(1000, {}) },
  { id: 'c1000n', kind: 'producer', name: 'producer 1000 awaited callers, idempotent:false', latencyOf: 'send', run: awaitedCallers(1000, NO_IDEM) },
  { id: 'c1000p', kind: 'producer', name: 'producer 1000 awaited callers, adaptiveLinger:false lingerMs:5', latencyOf: 'send', run: awaitedCallers(1000, PLAIN) },
  { id: 'c100', kind: 'producer', name: 'producer 100 awaited callers', latencyOf: 'send', run: awaitedCallers(100, {}) },
  { id: 'sb', kind: 'producer', name: 'producer 10 callers awaiting sendBatch of 100', latencyOf: 'sendBatch', run: awaitedBatches(10, 100) },
];

export function caseById(id: string): CaseDef {
  const def = CASES.find((c) => c.id === id);
  if (!def) throw new Error(`unknown case ${JSON.stringify(id)}; known: ${CASES.map((c) => c.id).join(', ')}`);
  return def;
}
