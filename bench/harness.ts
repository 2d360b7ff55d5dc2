/**
 * What the benchmark's modes share: the options, the target and run they belong to, how a case
 * becomes a child job, the progress line around it, and writing the raw results.
 */
import type { Placement } from './lone-latency.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { startRedisCluster } from '../test/support/redis-cluster.js';
import { startRedisServer } from '../test/support/redis-server.js';
import { PEER_IN_FLIGHT, REDIS_BENCHMARK_PIPELINE, type CaseDef } from './cases.js';
import { runChild } from './child.js';
import type { Progress } from './progress.js';
import { fmtLatency } from './report.js';
import type { CaseJob, CaseResult } from './run-case.js';
import type { Client, Target } from './target.js';
import { fmtInt, KEY_SPACE, PEER_BATCH, type KeyMode } from './workload.js';

/** `default` runs every case; the others are `--sizes`, `--sweep`, `--memory` and `--balance`. */
export type Mode = 'default' | 'sizes' | 'sweep' | 'memory' | 'balance';

/** The parsed command line; each flag is described in `throughput.ts`'s header and bench/README.md. */
export interface Options {
  mode: Mode;
  target: Target['kind'];
  /** The throwaway cluster's masters and replicas per master. */
  masters: number;
  replicas: number;
  records: number;
  awaitRecords: number;
  valueBytes: number;
  keys: KeyMode;
  /** Headers per record (0–4). */
  headers: number;
  shards: number;
  maxMiB: number;
  reps: number;
  cases: string[] | undefined;
  latencyCalls: number;
  /** Placements of the lone-call latency job, one table each. */
  pin: Placement[];
  warmup: boolean;
  /** Fire-and-forget cases listen to `delivery` for per-record latency. */
  deliveryLatency: boolean;
  seed: number;
  out: string;
  slowlogUs: number;
  callers: number;
  bufferMiB: number;
  sampleMs: number;
  /** `--balance`: random namespace names of the shard-spread table, and the namespaces of its cases. */
  names: number;
  namespace: string | undefined;
  skewedNamespace: string | undefined;
  rebalancedNamespace: string | undefined;
}

/** What every mode gets. */
export interface Run {
  opts: Options;
  target: Target;
  /** A client of the target (a `Cluster` on a cluster). */
  admin: Client;
  progress: Progress;
  /** Prefix of this run's namespaces: `b<time>`. */
  runTag: string;
  machine: Record<string, string | number>;
  command: string;
  /** The dated footer line under the tables. */
  footer: string;
  /** Date, machine, Node and Redis in one line, for chart subtitles. */
  where: string;
}

/** A target the run uses, where it came from, and how to stop what was started for it. */
export interface StartedTarget {
  target: Target;
  source: string;
  stop(): Promise<void>;
}

/** The throwaway cluster's shape: masters and replicas per master. */
export interface ClusterShape {
  masters: number;
  replicas: number;
}

/**
 * Standalone: `REDIS_URL`, else a throwaway `redis-server`. Cluster: `REDIS_CLUSTER_NODES`
 * (`host:port,…`), else a throwaway cluster of `shape` (test/support), without persistence like
 * the standalone server. What was started stops with `stop()`.
 */
export async function startTarget(kind: Target['kind'], shape: ClusterShape): Promise<StartedTarget> {
  if (kind === 'standalone') {
    const url = process.env.REDIS_URL;
    if (url) return { target: { kind, url }, source: 'REDIS_URL', stop: async () => {} };
    const server = await startRedisServer();
    return { target: { kind, url: `redis://127.0.0.1:${server.port}` }, source: 'throwaway redis-server started by the benchmark', stop: () => server.stop() };
  }
  const given = process.env.REDIS_CLUSTER_NODES;
  if (given) {
    const nodes = given.split(',').map((hostPort) => {
      const [host, port] = hostPort.trim().split(':');
      return { host: host!, port: Number(port) };
    });
    return { target: { kind, nodes }, source: 'REDIS_CLUSTER_NODES', stop: async () => {} };
  }
  // The last `--appendonly` wins: no persistence, as on the standalone server.
  const cluster = await startRedisCluster({ masters: shape.masters, replicasPerMaster: shape.replicas, extraArgs: ['--appendonly', 'no'] });
  return {
    target: { kind, nodes: cluster.startupNodes },
    source: `throwaway cluster of ${shape.masters} masters × ${shape.replicas} replica${shape.replicas === 1 ? '' : 's'} started by the benchmark`,
    stop: () => cluster.stop(),
  };
}

/** Records a case writes: the slow ones fewer; none more than `--max-mib` of values. */
export function recordsFor(def: CaseDef, opts: Options, valueBytes: number): { n: number; note?: string } {
  const cap = Math.max(1000, Math.floor((opts.maxMiB * 2 ** 20) / valueBytes));
  const wanted = def.slow ? opts.awaitRecords : opts.records;
  const n = Math.min(wanted, cap);
  const notes: string[] = [];
  if (def.slow && opts.awaitRecords < opts.records) notes.push('fewer: slow case');
  if (n < wanted) notes.push(`capped at ${opts.maxMiB} MiB of values`);
  if (def.id === 'rb') notes.push(`-n ${fmtInt(n)}; it writes up to one pipeline of ${REDIS_BENCHMARK_PIPELINE} more per client: the count is what the streams hold`);
  return { n, note: notes.length > 0 ? notes.join('; ') : undefined };
}

/** The child job that runs case `def` once (after its warm-up), timed, on namespace `ns`. */
export function caseJob(run: Run, def: CaseDef, ns: string, n: number, valueBytes: number, extra: Partial<CaseJob> = {}): CaseJob {
  const { opts } = run;
  return {
    kind: 'case',
    caseId: def.id,
    target: run.target,
    ns,
    n,
    warmup: opts.warmup ? Math.min(n, def.slow ? 2000 : 10_000) : 0,
    seed: opts.seed,
    valueBytes,
    keys: opts.keys,
    headers: opts.headers,
    shards: opts.shards,
    producerConfig: {},
    slowlog: false,
    deliveryLatency: opts.deliveryLatency,
    ...extra,
  };
}

export const elapsed = (startedAt: number): string => {
  const s = Math.round((performance.now() - startedAt) / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
};

/** The line a finished case leaves in the progress log. */
export const caseLine = (prefix: string, r: CaseResult): string =>
  `${prefix}: ${fmtInt(r.records)} records in ${(r.elapsedMs / 1000).toFixed(2)} s = ${fmtInt(r.recordsPerSec)} rec/s, ` +
  `p99 ${fmtLatency(r.latency?.p99Us)}, client ${r.clientCpuUsPerRecord.toFixed(2)} / server ${r.serverCpuUsPerRecord.toFixed(2)} µs/rec, verified`;

/** Runs a child job with a live progress line `prefix: done/n records · m:ss`. */
export async function runWithProgress(run: Run, prefix: string, job: CaseJob, startedAt: number): Promise<CaseResult> {
  run.progress.update(`${prefix} … (${elapsed(startedAt)})`);
  return runChild(job, (done) => run.progress.update(`${prefix}: ${fmtInt(done)}/${fmtInt(job.n)} records · ${elapsed(startedAt)} elapsed`));
}

/** `3 masters + 3 replicas`: the cluster the results' nodes came from. */
export function clusterShape(results: CaseResult[]): string {
  const nodes = results[0]?.nodes ?? [];
  return `${nodes.filter((n) => n.role === 'master').length} masters + ${nodes.filter((n) => n.role === 'replica').length} replicas`;
}

export const sizeLabel = (bytes: number): string => (bytes >= 1024 ? `${bytes / 1024} KiB` : `${bytes} B`);

export function writeResults(run: Run, body: Record<string, unknown>, svgPath?: string, svg?: string): void {
  const { opts } = run;
  mkdirSync(dirname(opts.out), { recursive: true });
  const settings = { ...opts, out: undefined, keySpace: KEY_SPACE, peerBatch: PEER_BATCH, peerInFlight: PEER_IN_FLIGHT };
  writeFileSync(
    opts.out,
    JSON.stringify(
      { date: new Date().toISOString(), command: run.command, machine: run.machine, settings, ...body },
      (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v),
      2,
    ) + '\n',
  );
  process.stderr.write(`raw results: ${opts.out}\n`);
  if (svgPath && svg) {
    writeFileSync(svgPath, svg);
    process.stderr.write(`chart: ${svgPath}\n`);
  }
}
