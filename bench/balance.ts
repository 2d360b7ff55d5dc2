/**
 * `--balance` mode (cluster only): how a topic's shards spread over the masters, and what that does
 * to each master's records and CPU. Where a shard lands depends only on its stream key
 * `{namespace:topic:shard}` (CRC16 of the hash tag), so the mode picks namespaces by placement: the
 * best spread, a 2× skew, and another 2× skew that `balanceTopic` then spreads with one run's records
 * in place. The cases (default `ff`, `c1000`) run on each through the harness's child processes,
 * verified like every case; then a table of the spread for `--names` random names and 16–128 shards.
 */
import { balanceTopic } from '../src/admin/balance.js';
import { keySlot } from '../src/admin/key-slot.js';
import { Producer } from '../src/index.js';
import { caseById } from './cases.js';
import { UsageError } from './flags.js';
import { caseJob, caseLine, clusterShape, elapsed, recordsFor, runWithProgress, writeResults, type Run } from './harness.js';
import { fmtRatio, medianOf } from './report.js';
import type { CaseResult, NodeCost } from './run-case.js';
import { deleteNamespace, streamTotals, type StreamTotals } from './server-stats.js';
import { isCluster, nodeAddress, producerRedis } from './target.js';
import { randomNames, ratioOf, shardsPerMaster, spreadTable } from './spread.js';
import { fmtInt, makeWorkload, median, produceAll, streamKey, TOPIC } from './workload.js';

const SLOTS = 16_384;

const fmtPct = (n: number): string => `${(n * 100).toFixed(1)} %`;

/** The master (`host:port`) of every slot, from `CLUSTER SLOTS`. */
async function slotOwners(run: Run): Promise<string[]> {
  const reply = (await run.admin.call('CLUSTER', 'SLOTS')) as [number, number, [string, number, ...unknown[]], ...unknown[]][];
  const owner = new Array<string>(SLOTS).fill('');
  for (const [start, end, [host, port]] of reply) owner.fill(`${host}:${port}`, Number(start), Number(end) + 1);
  if (owner.includes('')) throw new Error('CLUSTER SLOTS does not cover all 16384 slots');
  return owner;
}

interface Variant {
  label: string;
  ns: string;
}

export async function runBalance(run: Run): Promise<void> {
  const { opts, admin } = run;
  if (!isCluster(admin)) throw new Error('--balance needs a cluster');
  const startedAt = performance.now();
  const owner = await slotOwners(run);
  const created = owner.slice();
  const masters = admin
    .nodes('master')
    .map(nodeAddress)
    .sort((a, b) => Number(a.split(':').pop()) - Number(b.split(':').pop()));
  const port = (address: string) => `:${address.split(':').pop()}`;
  const perMaster = (ns: string) => shardsPerMaster(ns, opts.shards, masters, owner);

  // Namespaces by placement: the best spread, then two with a 2× skew on slots of their own
  // (balanceTopic moves the third one's slots, which must not carry the others' shards).
  const best = Math.ceil(opts.shards / masters.length) / Math.floor(opts.shards / masters.length);
  const slotsOf = (ns: string) => Array.from({ length: opts.shards }, (_, s) => keySlot(streamKey(ns, s)));
  const pick = (want: (ratio: number) => boolean, taken: string[] = []): string => {
    const used = new Set(taken.flatMap(slotsOf));
    for (let i = 0; i < 10_000; i++) {
      const ns = `bench-${i}`;
      if (!taken.includes(ns) && want(ratioOf(perMaster(ns))) && slotsOf(ns).every((slot) => !used.has(slot))) return ns;
    }
    throw new Error('no bench-<i> namespace with the wanted placement');
  };
  const skew = (r: number) => r >= 2 && Number.isFinite(r);
  const balancedNs = opts.namespace ?? pick((r) => r <= best);
  const skewedNs = opts.skewedNamespace ?? pick(skew, [balancedNs]);
  // Moving slots changes a cluster for good: only a throwaway one gets the balanceTopic namespace.
  const movable = !process.env.REDIS_CLUSTER_NODES;
  const rebalancedNs = movable ? (opts.rebalancedNamespace ?? pick(skew, [balancedNs, skewedNs])) : undefined;
  if (rebalancedNs !== undefined && slotsOf(rebalancedNs).some((slot) => [balancedNs, skewedNs].flatMap(slotsOf).includes(slot))) {
    throw new UsageError(`--rebalanced-namespace ${rebalancedNs} shares a slot with ${balancedNs} or ${skewedNs}: balanceTopic would move their shards too`);
  }
  // The placement above is computed locally: check it against the server's CRC16.
  for (const ns of [balancedNs, skewedNs, rebalancedNs]) {
    if (ns === undefined) continue;
    for (let shard = 0; shard < opts.shards; shard++) {
      const key = streamKey(ns, shard);
      const fromServer = Number(await admin.call('CLUSTER', 'KEYSLOT', key));
      if (fromServer !== keySlot(key)) throw new Error(`CRC16 mismatch for ${JSON.stringify(key)}: CLUSTER KEYSLOT says ${fromServer}, local ${keySlot(key)}`);
    }
  }
  const variants: Variant[] = [
    { label: `\`${balancedNs}\` (${perMaster(balancedNs).join('/')})`, ns: balancedNs },
    { label: `\`${skewedNs}\` (${perMaster(skewedNs).join('/')})`, ns: skewedNs },
  ];

  // balanceTopic with one run's records in place; records per master before and after.
  let balance: { ns: string; before: StreamTotals; after: StreamTotals; moves: string[]; keysMoved: number; elapsedMs: number } | undefined;
  if (rebalancedNs !== undefined) {
    run.progress.update(`balanceTopic: writing ${fmtInt(opts.records)} records to ${rebalancedNs} …`);
    const w = makeWorkload(opts.records, opts.seed, { valueBytes: opts.valueBytes, keys: opts.keys, shards: opts.shards, headers: opts.headers });
    const producer = new Producer({ redis: producerRedis(run.target), namespace: rebalancedNs, defaultShards: opts.shards });
    await deleteNamespace(admin, rebalancedNs);
    await producer.connect();
    await produceAll(producer, w, opts.records).finally(() => producer.close());
    const was = perMaster(rebalancedNs).join('/');
    const before = await streamTotals(admin, rebalancedNs);
    const t0 = performance.now();
    const result = await balanceTopic(admin, { namespace: rebalancedNs, topic: TOPIC, execute: true });
    const elapsedMs = performance.now() - t0;
    for (const move of result.moves) owner[move.slot] = result.addresses[move.to]!;
    const after = await streamTotals(admin, rebalancedNs);
    if (before.entries !== opts.records || after.entries !== opts.records) {
      throw new Error(`VERIFY FAILED for balanceTopic: ${before.entries} records before, ${after.entries} after, expected ${opts.records}`);
    }
    await deleteNamespace(admin, rebalancedNs);
    const moves = result.moves.map((m) => `slot ${m.slot}: ${port(result.addresses[m.from]!)} → ${port(result.addresses[m.to]!)}`);
    balance = { ns: rebalancedNs, before, after, moves, keysMoved: result.keysMoved, elapsedMs };
    variants.push({ label: `\`${rebalancedNs}\` after balanceTopic (${perMaster(rebalancedNs).join('/')}, was ${was})`, ns: rebalancedNs });
    run.progress.line(
      `balanceTopic ${rebalancedNs}: shards per master ${was} → ${perMaster(rebalancedNs).join('/')}, ${moves.length} slot moves, ${result.keysMoved} keys, ${elapsedMs.toFixed(0)} ms`,
    );
  }

  // The cases on each namespace, the order alternating between repetitions.
  const defs = (opts.cases ?? ['ff', 'c1000']).map(caseById);
  const cases = defs.flatMap((def) => variants.map((v) => ({ def, v, id: `${def.id}:${v.ns}` })));
  const results = new Map<string, CaseResult[]>(cases.map((c) => [c.id, []]));
  let done = 0;
  for (let rep = 1; rep <= opts.reps; rep++) {
    for (const c of rep % 2 === 1 ? cases : [...cases].reverse()) {
      const prefix = `[rep ${rep}/${opts.reps} · ${++done}/${opts.reps * cases.length}] ${c.def.name} on ${c.v.ns}`;
      const r = await runWithProgress(run, prefix, caseJob(run, c.def, c.v.ns, recordsFor(c.def, opts, opts.valueBytes).n, opts.valueBytes), startedAt);
      results.get(c.id)!.push(r);
      run.progress.line(caseLine(prefix, r));
    }
  }
  run.progress.clear();

  // ---- report
  const names = randomNames(opts.names, opts.seed + 1);
  const spread = spreadTable(names, masters, created);
  const heads = masters.map(port);
  const nodeOf = (r: CaseResult, address: string): NodeCost => r.nodes!.find((x) => x.address === address)!;
  const rows = cases.map((c) => {
    const reps = results.get(c.id)!;
    const sum = (role: NodeCost['role']) => medianOf(reps, (r) => r.nodes!.filter((x) => x.role === role).reduce((a, x) => a + x.cpuUsPerRecord, 0));
    const records = masters.map((m) => nodeOf(reps[0]!, m).records);
    return {
      id: c.id,
      caseName: c.def.name,
      namespace: c.v.ns,
      label: c.v.label,
      recordsPerSec: medianOf(reps, (r) => r.recordsPerSec),
      // Paired per repetition with the best-spread namespace's run of the same case.
      ratioToBalanced: median(reps.map((r, i) => r.recordsPerSec / results.get(`${c.def.id}:${balancedNs}`)![i]!.recordsPerSec)),
      clientCpuUsPerRecord: medianOf(reps, (r) => r.clientCpuUsPerRecord),
      mastersCpuUsPerRecord: sum('master'),
      replicasCpuUsPerRecord: sum('replica'),
      recordsPerMaster: records,
      busiestShare: Math.max(...records) / reps[0]!.records,
      masterCpuUsPerRecord: masters.map((m) => medianOf(reps, (r) => nodeOf(r, m).cpuUsPerRecord)),
      reps,
    };
  });

  const lines = [
    `### Per-master balance (median of ${opts.reps} reps, ${fmtInt(opts.records)} records, ${opts.shards} shards, ${opts.valueBytes}-byte values, ${clusterShape(rows[0]?.reps ?? [])})`,
    '',
    'Namespace (shards per master). Records per master: stream lengths grouped by the master of their slot. Server CPU: `INFO` deltas per process ÷ all records.',
    '',
    `| case | namespace | records/s | vs \`${balancedNs}\` | client CPU µs/rec | server CPU µs/rec: masters + replicas | records per master ${heads.join(' / ')} | max/min | busiest master's share | CPU µs/rec per master ${heads.join(' / ')} |`,
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.caseName} | ${r.label} | ${fmtInt(r.recordsPerSec)} | ${fmtRatio(r.ratioToBalanced)} | ${r.clientCpuUsPerRecord.toFixed(2)} | ` +
        `${r.mastersCpuUsPerRecord.toFixed(2)} + ${r.replicasCpuUsPerRecord.toFixed(2)} | ${r.recordsPerMaster.map(fmtInt).join(' / ')} | ${fmtRatio(ratioOf(r.recordsPerMaster))} | ` +
        `${fmtPct(r.busiestShare)} | ${r.masterCpuUsPerRecord.map((x) => x.toFixed(2)).join(' / ')} |`,
    ),
  ];
  if (balance) {
    const row = (when: string, t: StreamTotals) => {
      const held = masters.map((m) => t.byNode.get(m) ?? { streams: 0, entries: 0 });
      return `| ${when} | ${held.map((h) => `${fmtInt(h.entries)} (${h.streams})`).join(' | ')} | ${fmtRatio(ratioOf(held.map((h) => h.streams)))} | ${fmtRatio(ratioOf(held.map((h) => h.entries)))} |`;
    };
    lines.push(
      '',
      `### balanceTopic on \`${balance.ns}\``,
      '',
      `${fmtInt(opts.records)} records written first, then ${balance.moves.length} slot moves (${balance.moves.join(', ')}; ${balance.keysMoved} keys) in ${balance.elapsedMs.toFixed(0)} ms. Records (shards) per master:`,
      '',
      `| | ${heads.join(' | ')} | max/min shards | max/min records |`,
      `|---|${heads.map(() => '---:').join('|')}|---:|---:|`,
      row('before', balance.before),
      row('after', balance.after),
    );
  }
  lines.push(
    '',
    `### Shard spread over ${masters.length} masters for ${opts.names} random namespace names`,
    '',
    `Slot of \`{ns:${TOPIC}:shard}\` by CRC16, masters by the slot ranges the cluster was created with; ratio = max/min shards per master.`,
    '',
    "| shards | best possible max/min | median max/min | p90 max/min | names with max/min ≤ 1.5 | busiest master's share, median | p90 | names leaving a master empty |",
    '|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...spread.map(
      (r) =>
        `| ${r.shards} | ${fmtRatio(r.bestRatio)} | ${fmtRatio(r.medianRatio)} | ${fmtRatio(r.p90Ratio)} | ${fmtPct(r.shareRatioAtMost1_5)} | ` +
        `${fmtPct(r.medianBusiestShare)} | ${fmtPct(r.p90BusiestShare)} | ${r.namesWithEmptyMaster} |`,
    ),
    '',
    `${run.footer} · ${elapsed(startedAt)} (m:ss)`,
  );
  process.stdout.write(lines.join('\n') + '\n');
  writeResults(run, { masters, rows, balance: balance && { ...balance, before: [...balance.before.byNode], after: [...balance.after.byNode] }, spread: { names: opts.names, rows: spread } });
}
