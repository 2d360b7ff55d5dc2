/**
 * Runs one benchmark case (or the memory job, or the lone-call latency job) in a process of its
 * own, started by `child.ts` from the compiled copy in `.bench-build/`: a fresh heap, JIT and RSS
 * per case, so one case's garbage or peak memory never shows in another's. The job arrives as JSON
 * in argv[2]; the result goes back over the IPC channel (or to stdout when started by hand, after a
 * benchmark run compiled it: `node --expose-gc .bench-build/bench/run-case.js '<job json>'`).
 *
 * A case job: an unrecorded warm-up run on its own namespace (JIT, script cache, connections),
 * a full GC, then the timed run between two `INFO` readings, then the check that the streams hold
 * exactly the records written.
 */
import type { ProducerConfig } from '../src/index.js';
import { caseById, Stopwatch, type CaseOverrides } from './cases.js';
import { LatencyRecorder, type LatencySummary } from './latency.js';
import { runLoneLatency, type LatencyJob, type LoneLatency } from './lone-latency.js';
import { runMemory, type MemoryJob, type MemoryResult } from './memory.js';
import { counterDelta, deleteNamespace, nodeCounters, replicasCaughtUp, scriptCalls, type ServerCounters, slowCallStats, slowScriptCalls, sumCounters, verifyStreams } from './server-stats.js';
import { connect, isCluster, type ServerNode, serverNodes, type Target } from './target.js';
import { makeWorkload, type KeyMode } from './workload.js';

export interface CaseJob {
  kind: 'case';
  caseId: string;
  target: Target;
  ns: string;
  n: number;
  /** Records of the unrecorded warm-up run (0: none). */
  warmup: number;
  seed: number;
  valueBytes: number;
  keys: KeyMode;
  /** Headers per record (0–4). */
  headers: number;
  shards: number;
  producerConfig: Partial<ProducerConfig>;
  /** Read the script calls' times from SLOWLOG (the parent configured it). */
  slowlog: boolean;
  /** Fire-and-forget cases: measure per-record latency through `delivery` events. */
  deliveryLatency: boolean;
}

export type ChildJob = CaseJob | MemoryJob | LatencyJob;

/** What one run of a case cost, per record, and its memory: a run has them, and so has a table row (their medians). */
export interface CaseCosts {
  clientCpuUsPerRecord: number;
  serverCpuUsPerRecord: number;
  serverInBytesPerRecord: number;
  serverOutBytesPerRecord: number;
  /** Peak RSS of the process that ran the case (redis-benchmark's own for that case). */
  peakRssMiB: number;
  /** RSS of the case's process once loaded, with the workload built, before the case ran (NaN for redis-benchmark). */
  baselineRssMiB: number;
  latency: LatencySummary | undefined;
}

/** One timed run of a case. */
export interface CaseResult extends CaseCosts {
  records: number;
  elapsedMs: number;
  recordsPerSec: number;
  /** EVALSHA/EVAL calls during the timed run, and their mean time inside the server. */
  scriptCalls: number;
  scriptUsecPerCall: number;
  /**
   * With `slowlog` (script calls of at least `slowlogUs` are logged): the longest script call, the
   * 99th percentile of the calls' times (both µs; undefined when below the log's threshold) and the
   * calls over 2 ms.
   */
  slowestScriptCallUs?: number;
  scriptCallP99Us?: number;
  scriptCallsOver2ms?: number;
  /** Other commands' calls during the timed run (e.g. `xadd`), for the raw results. */
  commands: Record<string, { calls: number; usec: number }>;
  /** On a cluster: each server process's share (the server columns above are their sums). */
  nodes?: NodeCost[];
}

/** What one cluster node did during the timed run. */
export interface NodeCost {
  /** `host:port`. */
  address: string;
  role: 'master' | 'replica';
  /** A replica's master. */
  master?: string;
  /** The node's CPU ÷ all records of the run: a target's nodes add up to its server CPU. */
  cpuUsPerRecord: number;
  /** Records in the streams the node holds (a replica: its master's), and those streams. */
  records: number;
  streams: number;
}

/** Messages from the child to the parent. */
export type ChildMessage = { type: 'progress'; done: number } | { type: 'result'; result: CaseResult | MemoryResult | LoneLatency[] } | { type: 'error'; message: string };

const gc = (globalThis as { gc?: () => void }).gc;
const collectGarbage = (): void => {
  if (!gc) throw new Error('run-case.ts needs node --expose-gc');
  gc();
};

async function runCaseJob(job: CaseJob, progress: { done: number }): Promise<CaseResult> {
  const def = caseById(job.caseId);
  const w = makeWorkload(Math.max(job.n, job.warmup), job.seed, { valueBytes: job.valueBytes, keys: job.keys, shards: job.shards, headers: job.headers });
  const admin = await connect(job.target);
  const servers = await serverNodes(admin);
  const baselineRss = process.memoryUsage().rss;
  try {
    const env = (ns: string, n: number) => ({
      target: job.target,
      w,
      ns,
      n,
      latency: new LatencyRecorder(),
      clock: new Stopwatch(),
      progress,
      producerConfig: job.producerConfig,
      deliveryLatency: job.deliveryLatency,
    });
    if (job.warmup > 0) {
      const warm = env(`${job.ns}w`, job.warmup);
      await deleteNamespace(admin, warm.ns);
      const o = (await def.run(warm)) ?? {};
      await verifyStreams(admin, warm.ns, job.shards, o.records ?? warm.n, `${def.name} (warm-up)`);
      await deleteNamespace(admin, warm.ns);
    }
    const run = env(job.ns, job.n);
    await deleteNamespace(admin, run.ns);
    collectGarbage();
    progress.done = 0;
    if (job.slowlog) await admin.call('SLOWLOG', 'RESET');
    const before = await nodeCounters(servers.nodes);
    const overrides: CaseOverrides = (await def.run(run)) ?? {};
    await replicasCaughtUp(servers.nodes);
    const after = await nodeCounters(servers.nodes);
    const slow = job.slowlog && !isCluster(admin) ? await slowScriptCalls(admin) : undefined;
    const records = overrides.records ?? run.n;
    const stored = await verifyStreams(admin, run.ns, job.shards, records, def.name);
    await deleteNamespace(admin, run.ns);
    if (!Number.isFinite(run.clock.elapsedMs)) throw new Error(`case "${def.name}" did not stop its clock`);

    const delta = counterDelta(sumCounters(before.values()), sumCounters(after.values()));
    const script = scriptCalls(delta);
    return {
      records,
      elapsedMs: run.clock.elapsedMs,
      recordsPerSec: records / (run.clock.elapsedMs / 1000),
      clientCpuUsPerRecord: (overrides.clientCpuUs ?? run.clock.cpuUs) / records,
      // The counters also include this process's INFO/SCAN/UNLINK calls: negligible per record.
      serverCpuUsPerRecord: delta.cpuUs / records,
      serverInBytesPerRecord: delta.inBytes / records,
      serverOutBytesPerRecord: delta.outBytes / records,
      peakRssMiB: (overrides.peakRssKiB ?? process.resourceUsage().maxRSS) / 1024,
      baselineRssMiB: overrides.peakRssKiB === undefined ? baselineRss / 2 ** 20 : NaN,
      latency: overrides.latency ?? run.latency.summary(),
      scriptCalls: script.calls,
      scriptUsecPerCall: script.usecPerCall,
      ...(slow ? slowCallStats(slow, script.calls) : {}),
      commands: delta.commands,
      ...(isCluster(admin) ? { nodes: nodeCosts(servers.nodes, before, after, stored.byNode, records) } : {}),
    };
  } finally {
    servers.close();
    admin.disconnect();
  }
}

/** Each cluster node's CPU and records, from its counters before and after and the streams it holds. */
function nodeCosts(
  nodes: ServerNode[],
  before: Map<string, ServerCounters>,
  after: Map<string, ServerCounters>,
  stored: Map<string, { streams: number; entries: number }>,
  records: number,
): NodeCost[] {
  return nodes.map(({ address, role, master }) => {
    const held = stored.get(master ?? address) ?? { streams: 0, entries: 0 };
    const cpuUs = counterDelta(before.get(address)!, after.get(address)!).cpuUs;
    return { address, role, master, cpuUsPerRecord: cpuUs / records, records: held.entries, streams: held.streams };
  });
}

/** Sends a message to the parent (stdout when started by hand); with `exit`, ends the process once it is out. */
function send(m: ChildMessage, exit?: number): void {
  if (process.send) process.send(m, undefined, undefined, exit === undefined ? undefined : () => process.exit(exit));
  else {
    if (m.type === 'result') process.stdout.write(JSON.stringify(m.result, null, 2) + '\n');
    if (m.type === 'error') process.stderr.write(`${m.message}\n`);
    if (exit !== undefined) process.exit(exit);
  }
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2] ?? 'null') as ChildJob | null;
  if (!job) throw new Error('usage: node --expose-gc .bench-build/bench/run-case.js <job json>');
  const progress = { done: 0 };
  const ticker = setInterval(() => {
    if (process.send) send({ type: 'progress', done: progress.done });
  }, 250);
  try {
    const result = job.kind === 'case' ? await runCaseJob(job, progress) : job.kind === 'memory' ? await runMemory(job, progress, collectGarbage) : await runLoneLatency(job, progress);
    // Exit at once: a client's lingering socket or timer must not keep the parent waiting.
    send({ type: 'result', result }, 0);
  } finally {
    clearInterval(ticker);
  }
}

main().catch((err: unknown) => send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) }, 1));
