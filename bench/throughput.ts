/**
 * Throughput and latency benchmark: the producer against its peers on one workload, in one run.
 * Run with `npm run bench` (standalone) or `npm run bench:cluster` (= --target cluster), or
 * `npx tsx bench/throughput.ts [flags]`.
 * Each case runs in a fresh Node process (bench/run-case.ts), after a short unrecorded warm-up.
 *
 * Modes (default: every case, --reps times, order alternating between repetitions):
 *   --sizes       the default run for 100 B, 1 KiB and 10 KiB values, one table per size
 *   --sweep       producer fire-and-forget and 1000 awaited callers over a grid of batchMaxRecords,
 *                 lingerMs × adaptiveLinger and maxInFlight, with the server's time per script call
 *   --memory      bufferMaxBytes 64 MiB, callers producing faster than Redis absorbs; peak RSS/heap
 *   --balance     cluster only: how a topic's shards spread over the masters, and what that does to
 *                 each master's records and CPU, before and after balanceTopic
 *
 * Target:
 *   --target standalone|cluster   one redis-server (default) or a Redis Cluster
 *   --masters N, --replicas N     the throwaway cluster: masters (default 3) and replicas per master (default 1)
 *
 * Workload and repetitions:
 *   --records N       records per case (default 500000; --sweep 200000; --memory, --balance 100000)
 *   --await-records N records for the slow sequential cases (default min(N, 20000))
 *   --value-bytes N   bytes per value: 100 (default), 1024 or 10240 (--memory: 10240)
 *   --keys MODE       random (default: key user-<0…99999> per record), keyless, or explicit (shard i % shards)
 *   --headers N       headers per record, 0 (default) to 4: trace-id, content-type, origin, tenant
 *   --shards N        shards (streams) of the topic (default 16)
 *   --max-mib N       cap records so one case writes at most N MiB of values (default 512)
 *   --reps N          repetitions (default 3; --sweep 2)
 *   --cases a,b       only these case ids (default: all; see bench/README.md)
 *   --latency N       sequential calls per lone-call latency subject (default 2000; 0 = skip)
 *   --pin P[,P]       where the lone-call latency job and the server run: none (default), same (both
 *                     on CPU 0) or split (server on CPU 0, client on CPU 1); one table per placement.
 *                     Needs taskset and the throwaway standalone server
 *   --no-warmup       skip each case's unrecorded warm-up run
 *   --no-delivery-latency  run the `ffl` case without its `delivery` listener too (no latency at all)
 *   --seed N          workload seed (default 1)
 *   --out FILE        raw results (default bench/results/latest.json; per mode: sizes-, sweep-, memory-latest.json;
 *                     on a cluster cluster-latest.json, cluster-balance-latest.json, …)
 *
 * --sweep:   --slowlog-us N  SLOWLOG threshold for script calls (default 500)
 * --memory:  --callers N (default 64) · --buffer-mib N (default 64) · --sample-ms N (default 20)
 * --balance: --names N  random namespaces of the shard-spread table (default 200) ·
 *            --namespace S, --skewed-namespace S, --rebalanced-namespace S  the namespaces of its
 *            cases (default: the first bench-<i> whose shards spread best; with a 2× imbalance; the
 *            next such, spread by balanceTopic) · --cases (default ff,c1000)
 *
 * Standalone: uses `REDIS_URL` when set (writes and deletes only its own `{b…}` keys; --sweep
 * changes and restores its SLOWLOG settings), otherwise starts a throwaway `redis-server`.
 * Cluster: uses `REDIS_CLUSTER_NODES` (host:port,…) when set, otherwise starts a throwaway cluster.
 * What the benchmark started stops at the end. Every case writes to fresh streams and then checks
 * that they hold exactly the records it wrote. --sweep runs on a standalone server only.
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runBalance } from './balance.js';
import { BARE_LOOP, CASES, LATENCY_SAMPLE_EVERY, PIPELINE } from './cases.js';
import { runChild } from './child.js';
import { Flags, UsageError } from './flags.js';
import { caseLine, clusterShape, elapsed, recordsFor, caseJob, runWithProgress, sizeLabel, startTarget, writeResults, type Mode, type Options, type Run, type StartedTarget } from './harness.js';
import { LATENCY_SUBJECTS, LINGER_WARMUP, LONE_WARMUP, PLACEMENTS, type LatencyJob, type LoneLatency, type Placement } from './lone-latency.js';
import type { MemoryResult } from './memory.js';
import { Progress } from './progress.js';
import { fmtFixed, fmtRatio, medianLatency, medianOf, throughputTable, type ThroughputRow } from './report.js';
import type { CaseResult } from './run-case.js';
import { runSweep } from './sweep.js';
import { barChartSvg } from './svg.js';
import { connect, type Client, targetAddress } from './target.js';
import { describeMachine, fmtInt } from './workload.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');
const resultsDir = resolve(root, 'bench/results');

const SIZES = [100, 1024, 10240];

function parseArgs(argv: string[]): Options {
  const value = 'string';
  const flags = new Flags(
    argv,
    {
      'no-warmup': 'boolean',
      'no-delivery-latency': 'boolean',
      sizes: 'boolean',
      sweep: 'boolean',
      memory: 'boolean',
      balance: 'boolean',
      target: value,
      masters: value,
      replicas: value,
      names: value,
      namespace: value,
      'skewed-namespace': value,
      'rebalanced-namespace': value,
      records: value,
      'await-records': value,
      'value-bytes': value,
      keys: value,
      headers: value,
      cases: value,
      shards: value,
      'max-mib': value,
      reps: value,
      latency: value,
      pin: value,
      seed: value,
      out: value,
      'slowlog-us': value,
      callers: value,
      'buffer-mib': value,
      'sample-ms': value,
    },
    import.meta.url,
  );
  const modes = (['sizes', 'sweep', 'memory', 'balance'] as const).filter((m) => flags.has(m));
  if (modes.length > 1) throw new UsageError(`--${modes.join(' and --')} are separate modes: choose one`);
  const mode: Mode = modes[0] ?? 'default';
  const target = flags.string('target') ?? (mode === 'balance' ? 'cluster' : 'standalone');
  if (target !== 'standalone' && target !== 'cluster') throw new UsageError(`--target must be "standalone" or "cluster", got ${JSON.stringify(target)}`);
  if (target === 'standalone' && mode === 'balance') throw new UsageError('--balance needs --target cluster');
  if (target === 'cluster' && mode === 'sweep') throw new UsageError('--sweep reads SLOWLOG and sets CONFIG on one server: it needs --target standalone');
  const records = flags.int('records', mode === 'sweep' ? 200_000 : mode === 'memory' || mode === 'balance' ? 100_000 : 500_000);
  const valueBytes = flags.int('value-bytes', mode === 'memory' ? 10240 : 100);
  if (mode !== 'memory' && !SIZES.includes(valueBytes)) throw new UsageError(`--value-bytes must be one of ${SIZES.join(', ')}, got ${valueBytes}`);
  const keys = flags.string('keys') ?? 'random';
  if (keys !== 'random' && keys !== 'keyless' && keys !== 'explicit') throw new UsageError(`--keys must be "random", "keyless" or "explicit", got ${JSON.stringify(keys)}`);
  const headers = flags.int('headers', 0, 0);
  if (headers > 4) throw new UsageError(`--headers must be an integer from 0 to 4, got ${headers}`);
  const cases = flags
    .string('cases')
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const known = CASES.filter((c) => target === 'standalone' || !c.standaloneOnly).map((c) => c.id);
  for (const id of cases ?? []) if (!known.includes(id)) throw new UsageError(`--cases: unknown case ${JSON.stringify(id)} for --target ${target}; known: ${known.join(', ')}`);
  const name = (flag: string): string | undefined => {
    const v = flags.string(flag);
    if (v !== undefined && !/^[^{}:\s*?[\]\\]+$/.test(v)) throw new UsageError(`--${flag} must not contain braces, ':', whitespace or glob characters, got ${JSON.stringify(v)}`);
    return v;
  };
  const pin = (flags.string('pin') ?? 'none').split(',').map((p) => p.trim()) as Placement[];
  for (const p of pin) if (!PLACEMENTS.includes(p)) throw new UsageError(`--pin takes ${PLACEMENTS.join(', ')} (or a comma-separated list), got ${JSON.stringify(p)}`);
  if (pin.some((p) => p !== 'none')) {
    if (target !== 'standalone' || process.env.REDIS_URL) throw new UsageError('--pin pins the throwaway standalone server: it needs --target standalone and no REDIS_URL');
    if (mode !== 'default' && mode !== 'sizes') throw new UsageError(`--pin places the lone-call latency job, which --${mode} does not run`);
    if (flags.int('latency', 2000, 0) === 0) throw new UsageError('--pin places the lone-call latency job, which --latency 0 leaves out');
  }
  const outName = `${target === 'cluster' ? 'cluster-' : ''}${mode === 'default' ? 'latest' : `${mode}-latest`}.json`;
  const opts: Options = {
    mode,
    target,
    masters: flags.int('masters', 3, 3),
    replicas: flags.int('replicas', 1, 0),
    records,
    awaitRecords: flags.int('await-records', Math.min(records, 20_000)),
    valueBytes,
    keys,
    headers,
    shards: flags.int('shards', 16),
    maxMiB: flags.int('max-mib', 512),
    reps: flags.int('reps', mode === 'sweep' ? 2 : 3),
    cases,
    latencyCalls: flags.int('latency', 2000, 0),
    pin,
    warmup: !flags.has('no-warmup'),
    deliveryLatency: !flags.has('no-delivery-latency'),
    seed: flags.int('seed', 1, 0),
    out: resolve(flags.string('out') ?? resolve(resultsDir, outName)),
    slowlogUs: flags.int('slowlog-us', 500, 0),
    callers: flags.int('callers', 64),
    bufferMiB: flags.int('buffer-mib', 64),
    sampleMs: flags.int('sample-ms', 20),
    names: flags.int('names', 200),
    namespace: name('namespace'),
    skewedNamespace: name('skewed-namespace'),
    rebalancedNamespace: name('rebalanced-namespace'),
  };
  return opts;
}

// ---------------------------------------------------------------------------------------------
// Default mode (and --sizes): every case, alternating order over repetitions

interface SuiteResult {
  valueBytes: number;
  rows: ThroughputRow[];
  reps: Record<string, CaseResult[]>;
}

async function runSuite(run: Run, valueBytes: number, startedAt: number, label: string): Promise<SuiteResult> {
  const { opts } = run;
  const cases = CASES.filter((c) => (!opts.cases || opts.cases.includes(c.id)) && (opts.target === 'standalone' || !c.standaloneOnly));
  const results = new Map<string, CaseResult[]>(cases.map((c) => [c.id, []]));
  const total = opts.reps * cases.length;
  let done = 0;
  for (let rep = 1; rep <= opts.reps; rep++) {
    // Alternate the order across repetitions so no case always runs first or last.
    const order = rep % 2 === 1 ? cases : [...cases].reverse();
    for (const def of order) {
      const { n } = recordsFor(def, opts, valueBytes);
      const ns = `${run.runTag}v${valueBytes}c${CASES.indexOf(def)}r${rep}`;
      const prefix = `${label}[rep ${rep}/${opts.reps} · ${++done}/${total}] ${def.name}`;
      const r = await runWithProgress(run, prefix, caseJob(run, def, ns, n, valueBytes), startedAt);
      results.get(def.id)!.push(r);
      run.progress.line(caseLine(prefix, r));
    }
  }
  const rate = (id: string) => (results.has(id) ? medianOf(results.get(id)!, (r) => r.recordsPerSec) : NaN);
  const pipeRate = rate('pipe');
  const bareRate = rate('lua');
  const bareServerCpu = results.has('lua') ? medianOf(results.get('lua')!, (r) => r.serverCpuUsPerRecord) : NaN;
  const rows = cases.map((def): ThroughputRow => {
    const reps = results.get(def.id)!;
    const records = medianOf(reps, (r) => r.records);
    const recordsRate = rate(def.id);
    return {
      id: def.id,
      name: def.name,
      records,
      recordsNote: recordsFor(def, opts, valueBytes).note,
      latencyOf: def.latencyOf,
      medianRecordsPerSec: recordsRate,
      ratioToPipeline: recordsRate / pipeRate,
      ratioToBareLoop: recordsRate / bareRate,
      serverCpuToBareLoop: medianOf(reps, (r) => r.serverCpuUsPerRecord) / bareServerCpu,
      latency: medianLatency(reps),
      clientCpuUsPerRecord: medianOf(reps, (r) => r.clientCpuUsPerRecord),
      serverCpuUsPerRecord: medianOf(reps, (r) => r.serverCpuUsPerRecord),
      serverInBytesPerRecord: medianOf(reps, (r) => r.serverInBytesPerRecord),
      serverOutBytesPerRecord: medianOf(reps, (r) => r.serverOutBytesPerRecord),
      peakRssMiB: medianOf(reps, (r) => r.peakRssMiB),
      baselineRssMiB: medianOf(reps, (r) => r.baselineRssMiB),
      recordsPerScriptCall: medianOf(reps, (r) => (r.scriptCalls > 0 ? r.records / r.scriptCalls : NaN)),
    };
  });
  return { valueBytes, rows, reps: Object.fromEntries(results) };
}

function suiteTable(run: Run, suite: SuiteResult): string[] {
  const { opts } = run;
  const keys = recordShape(opts);
  const baseline = medianOf(Object.values(suite.reps).flat(), (r) => r.baselineRssMiB);
  const onCluster = run.target.kind === 'cluster' ? `, on a cluster of ${clusterShape(Object.values(suite.reps).flat())}` : '';
  return [
    `### Throughput (median of ${opts.reps} reps, ${opts.shards} shards, ${sizeLabel(suite.valueBytes)} values, ${keys}${onCluster})`,
    '',
    ...throughputTable(suite.rows, PIPELINE, BARE_LOOP),
    '',
    `Each case ran in a fresh Node process; its RSS before the case (modules and workload loaded) was ≈${fmtFixed(baseline, 0)} MiB. ` +
      `Latency is per ${['send', 'record', 'command', 'batch', 'request'].join(' / ')} as the "latency of" column says; the concurrent per-send and per-command cases time 1 in ${LATENCY_SAMPLE_EVERY} (bench/README.md).` +
      (onCluster ? ' Server CPU and bytes are summed over every server process (masters and replicas); on a cluster each pipeline and script call holds the records of one shard.' : ''),
  ];
}

function throughputSvg(run: Run, suites: SuiteResult[]): string {
  const { opts } = run;
  const first = suites[0]!;
  return barChartSvg({
    title:
      suites.length === 1 ? `Records/s per case — ${sizeLabel(first.valueBytes)} values, ${opts.shards} shards, ${recordShape(opts)}` : `Records/s per case and value size — ${opts.shards} shards`,
    subtitle: `median of ${opts.reps} reps · ratio = vs ${PIPELINE} · ${run.where}`,
    series: suites.map((s) => sizeLabel(s.valueBytes)),
    kinds: ['plain client', 'limit (no producer)', 'producer'],
    rows: first.rows.map((row, i) => ({
      label: row.name,
      values: suites.map((s) => s.rows[i]!.medianRecordsPerSec),
      note: suites.length === 1 ? fmtRatio(row.ratioToPipeline) : undefined,
      kind: ['peer', 'limit', 'producer'].indexOf(CASES.find((c) => c.id === row.id)!.kind),
    })),
  });
}

async function defaultMode(run: Run): Promise<void> {
  const { opts } = run;
  const startedAt = performance.now();
  const sizes = opts.mode === 'sizes' ? SIZES : [opts.valueBytes];
  const suites: SuiteResult[] = [];
  for (const size of sizes) suites.push(await runSuite(run, size, startedAt, sizes.length > 1 ? `${sizeLabel(size)} ` : ''));
  const lat: { placement: Placement; calls: LoneLatency[] }[] = [];
  if (opts.latencyCalls > 0) for (const placement of opts.pin) lat.push({ placement, calls: await loneCallLatency(run, opts.latencyCalls, placement) });
  run.progress.clear();

  const lines: string[] = [];
  for (const suite of suites) lines.push(...suiteTable(run, suite), '');
  for (const { placement, calls } of lat) {
    const xaddLat = calls.find((l) => l.name === 'ioredis await XADD')!;
    lines.push(
      `### Latency of a lone call on an idle connection, ${PLACEMENT_LABEL[placement]} (${opts.latencyCalls} sequential calls each, after ${LONE_WARMUP} warm-up calls; ${LINGER_WARMUP} for the lingerMs subject)`,
      '',
    );
    lines.push('| call | p50 µs | p90 µs | p99 µs | max µs | p50 vs ioredis await XADD |');
    lines.push('|---|---:|---:|---:|---:|---:|');
    for (const l of calls) lines.push(`| ${l.name} | ${l.p50Us.toFixed(0)} | ${l.p90Us.toFixed(0)} | ${l.p99Us.toFixed(0)} | ${l.maxUs.toFixed(0)} | ${fmtRatio(l.p50Us / xaddLat.p50Us)} |`);
    lines.push('');
  }
  lines.push(`${run.footer} · ${elapsed(startedAt)} (m:ss)`);
  process.stdout.write(lines.join('\n') + '\n');

  const svgPath = resolve(dirname(opts.out), `${run.target.kind === 'cluster' ? 'cluster-' : ''}${opts.mode === 'sizes' ? 'throughput-sizes.svg' : 'throughput.svg'}`);
  writeResults(run, { throughput: suites.map((s) => ({ valueBytes: s.valueBytes, rows: s.rows.map((r) => ({ ...r, reps: s.reps[r.id] })) })), latency: lat }, svgPath, throughputSvg(run, suites));
}

// ---------------------------------------------------------------------------------------------
// Latency of a lone call on an idle connection (bench/lone-latency.ts, in a child of its own)

const PLACEMENT_LABEL: Record<Placement, string> = {
  none: 'placed by the OS',
  same: 'client and server pinned to one CPU',
  split: 'client and server pinned to two CPUs',
};

async function loneCallLatency(run: Run, calls: number, placement: Placement): Promise<LoneLatency[]> {
  const { opts } = run;
  const job: LatencyJob = {
    kind: 'latency',
    target: run.target,
    placement,
    ns: `${run.runTag}l`,
    calls,
    warmup: LONE_WARMUP,
    seed: opts.seed,
    valueBytes: opts.valueBytes,
    keys: opts.keys,
    headers: opts.headers,
    shards: opts.shards,
  };
  const startedAt = performance.now();
  const total = LATENCY_SUBJECTS * calls;
  const out = await runChild(job, (done) => run.progress.update(`lone-call latency: ${fmtInt(done)}/${fmtInt(total)} timed calls · ${elapsed(startedAt)}`));
  for (const l of out) run.progress.line(`lone-call latency (${placement}) ${l.name}: p50 ${l.p50Us.toFixed(0)} µs, p99 ${l.p99Us.toFixed(0)} µs`);
  return out;
}

// ---------------------------------------------------------------------------------------------
// --memory

async function memoryMode(run: Run): Promise<void> {
  const { opts } = run;
  const startedAt = performance.now();
  const bufferMaxBytes = opts.bufferMiB * 2 ** 20;
  run.progress.line(`memory: ${fmtInt(opts.records)} records of ${sizeLabel(opts.valueBytes)} from ${opts.callers} callers, bufferMaxBytes ${opts.bufferMiB} MiB`);
  const job = {
    kind: 'memory',
    target: run.target,
    ns: `${run.runTag}m`,
    n: opts.records,
    seed: opts.seed,
    valueBytes: opts.valueBytes,
    keys: opts.keys,
    headers: opts.headers,
    shards: opts.shards,
    callers: opts.callers,
    bufferMaxBytes,
    sampleMs: opts.sampleMs,
  } as const;
  const r: MemoryResult = await runChild(job, (done) => run.progress.update(`memory: ${fmtInt(done)}/${fmtInt(opts.records)} records delivered · ${elapsed(startedAt)}`));
  run.progress.clear();
  const mib = (b: number) => (b / 2 ** 20).toFixed(1);
  const lines = [
    `### Memory under back-pressure (bufferMaxBytes ${opts.bufferMiB} MiB, ${opts.callers} callers, ${sizeLabel(opts.valueBytes)} Buffer values, ${opts.shards} shards)`,
    '',
    '| measure | value |',
    '|---|---:|',
    `| records, time | ${fmtInt(r.records)} in ${(r.elapsedMs / 1000).toFixed(1)} s (${fmtInt(r.recordsPerSec)} rec/s) |`,
    `| buffer ≥ 90 % full | ${(r.fullShare * 100).toFixed(0)} % of ${r.samples} samples |`,
    `| most buffered | ${mib(r.maxBufferedBytes)} MiB, ${fmtInt(r.maxBufferedRecords)} records |`,
    `| RSS: before → peak (kernel's max) | ${r.baseline.rssMiB.toFixed(0)} → ${r.peakRssMiB.toFixed(0)} MiB (${r.maxRssMiB.toFixed(0)} MiB) |`,
    `| buffered at the RSS peak | ${mib(r.atPeakRss.bufferedBytes)} MiB, ${fmtInt(r.atPeakRss.bufferedRecords)} records |`,
    `| JS heap used: before → peak | ${r.baseline.heapUsedMiB.toFixed(1)} → ${r.peakHeapUsedMiB.toFixed(1)} MiB |`,
    `| Buffer memory (arrayBuffers): before → peak | ${r.baseline.arrayBuffersMiB.toFixed(1)} → ${r.peakArrayBuffersMiB.toFixed(1)} MiB |`,
    `| heap bytes per buffered record (after GC) | ${fmtFixed(r.heapBytesPerBufferedRecord, 0)} |`,
    `| Buffer bytes per buffered record (after GC) | ${fmtFixed(r.arrayBufferBytesPerBufferedRecord, 0)} (value: ${opts.valueBytes}) |`,
    '',
    `${run.footer} · ${elapsed(startedAt)} (m:ss)`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
  writeResults(run, { memory: r });
}

// ---------------------------------------------------------------------------------------------
// Main

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  let started: StartedTarget | undefined;
  const stopTarget = async () => {
    const t = started;
    started = undefined;
    await t?.stop();
  };
  // `on`, not `once`: with `npx tsx` a Ctrl-C can arrive twice (from the terminal and relayed by
  // tsx's parent), and a second signal without a listener would exit before the server is stopped.
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      process.stderr.write(`\n${signal}: stopping ${opts.target === 'cluster' ? 'the cluster' : 'redis-server'}\n`);
      void stopTarget().finally(() => process.exit(130));
    });
  }

  const command = `npx tsx bench/throughput.ts${process.argv.length > 2 ? ` ${process.argv.slice(2).join(' ')}` : ''}`;
  let admin: Client | undefined;
  try {
    started = await startTarget(opts.target, { masters: opts.masters, replicas: opts.replicas });
    const { target, source: redisSource } = started;
    admin = await connect(target);
    const info = await admin.info('server');
    const redisVersion = /^redis_version:(\S+)/m.exec(info)?.[1] ?? 'unknown';
    const machine = { ...describeMachine(redisVersion), redisSource };
    const progress = new Progress();
    const reps = opts.mode === 'memory' ? '' : ` × ${opts.reps} reps${opts.mode === 'sweep' || opts.mode === 'balance' ? '' : ` (slow cases: ${fmtInt(opts.awaitRecords)})`}`;
    progress.line(
      `redis ${redisVersion} at ${targetAddress(target)} (${redisSource}); ${machine.cpu}, ${machine.cores} cores, node ${machine.node}\n` +
        `mode ${opts.mode}: ${fmtInt(opts.records)} records${reps}, ${opts.shards} shards, ${opts.mode === 'sizes' ? SIZES.join('/') : opts.valueBytes}-byte values, keys: ${opts.keys}`,
    );
    const footer = `${new Date().toISOString().slice(0, 10)} · ${machine.cpu}, ${machine.cores} cores · node ${machine.node} · redis ${machine.redis} (${redisSource}) · \`${command}\``;
    const where = `${new Date().toISOString().slice(0, 10)} · ${machine.cpu}, ${machine.cores} cores · node ${machine.node} · redis ${machine.redis}`;
    const run: Run = { opts, target, admin, progress, runTag: `b${Date.now().toString(36)}`, machine, command, footer, where };
    if (opts.mode === 'sweep') await runSweep(run);
    else if (opts.mode === 'memory') await memoryMode(run);
    else if (opts.mode === 'balance') await runBalance(run);
    else await defaultMode(run);
  } finally {
    admin?.disconnect();
    await stopTarget();
  }
}

main().catch((err: unknown) => {
  if (err instanceof UsageError) {
    process.stderr.write(`${err.message}\n`);
    process.exitCode = 2;
    return;
  }
  process.stderr.write(`\nbenchmark failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});

/** How the records look: `random keys, 1 header`. */
function recordShape(opts: Options): string {
  const keys = { random: 'random keys', keyless: 'keyless records', explicit: 'explicit shards' }[opts.keys];
  return opts.headers === 0 ? keys : `${keys}, ${opts.headers} header${opts.headers === 1 ? '' : 's'}`;
}
