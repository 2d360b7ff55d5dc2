/**
 * `--sweep` mode: which `batchMaxRecords`, `lingerMs` (with `adaptiveLinger` on and off) and
 * `maxInFlight` give the most records/s without a script call blocking the server much past 2 ms?
 * One factor at a time around the producer's defaults (a full grid would take hours), for the
 * fire-and-forget and the 1000-caller cases. Per point: records/s, records per script call, and
 * the server's time per call: the mean from `INFO commandstats`, the p99 and the slowest from
 * `SLOWLOG` (threshold `--slowlog-us`, set on the server for the run and restored after).
 */
import { resolve, dirname } from 'node:path';
import type { ProducerConfig } from '../src/index.js';
import { resolveConfig } from '../src/config.js';
import { caseById } from './cases.js';
import { caseJob, elapsed, runWithProgress, writeResults, type Run } from './harness.js';
import { fmtFixed, fmtLatency, fmtRatio, medianOf } from './report.js';
import type { CaseResult } from './run-case.js';
import { lineChartsSvg } from './svg.js';
import { fmtInt, median } from './workload.js';

/** The knobs the sweep turns. */
type Knobs = Required<Pick<ProducerConfig, 'batchMaxRecords' | 'lingerMs' | 'adaptiveLinger' | 'maxInFlight'>>;

type Axis = 'batchMaxRecords' | 'linger' | 'maxInFlight';

interface Point {
  key: string;
  knobs: Knobs;
  /** The axes whose panel shows this point (the defaults are on all three). */
  axes: Axis[];
  /** Position on each of those axes. */
  rank: Partial<Record<Axis, number>>;
}

const SWEEP_CASES = ['ff', 'c1000'];
const BLOCKING_LIMIT_US = 2000;

/** The sweep's points: each axis varied alone, the others at the producer's defaults. */
export function sweepPoints(defaults: Knobs): Point[] {
  const variants: [Axis, Partial<Knobs>][] = [
    ...[100, 250, 500, 1000, 2000, 5000].map((b): [Axis, Partial<Knobs>] => ['batchMaxRecords', { batchMaxRecords: b }]),
    ...[true, false].flatMap((adaptive) => [0, 1, 5].map((l): [Axis, Partial<Knobs>] => ['linger', { lingerMs: l, adaptiveLinger: adaptive }])),
    ...[1, 2, 4, 8, 16].map((m): [Axis, Partial<Knobs>] => ['maxInFlight', { maxInFlight: m }]),
  ];
  const points = new Map<string, Point>();
  for (const [index, [axis, change]] of variants.entries()) {
    const knobs = { ...defaults, ...change };
    const key = `b${knobs.batchMaxRecords} l${knobs.lingerMs}${knobs.adaptiveLinger ? 'a' : 'p'} f${knobs.maxInFlight}`;
    const point = points.get(key) ?? { key, knobs, axes: [], rank: {} };
    if (!point.axes.includes(axis)) point.axes.push(axis);
    point.rank[axis] = index;
    points.set(key, point);
  }
  return [...points.values()];
}

/** The points on one axis, in the order of its settings. */
export const pointsOn = (points: Point[], axis: Axis): Point[] => points.filter((p) => p.axes.includes(axis)).sort((a, b) => a.rank[axis]! - b.rank[axis]!);

interface PointResult {
  point: Point;
  caseId: string;
  reps: CaseResult[];
}

interface PointSummary {
  recordsPerSec: number;
  recordsPerCall: number;
  meanCallUs: number;
  /** undefined: below the SLOWLOG threshold in the median repetition. */
  p99CallUs: number | undefined;
  slowestCallUs: number | undefined;
  callsOver2ms: number;
  calls: number;
  ackP99Us: number;
}

function summarise(reps: CaseResult[]): PointSummary {
  // A repetition whose p99 was below the SLOWLOG threshold counts as 0 here, shown as "< threshold".
  const p99 = median(reps.map((r) => r.scriptCallP99Us ?? 0));
  const slowest = Math.max(...reps.map((r) => r.slowestScriptCallUs ?? 0));
  return {
    recordsPerSec: medianOf(reps, (r) => r.recordsPerSec),
    recordsPerCall: medianOf(reps, (r) => (r.scriptCalls > 0 ? r.records / r.scriptCalls : NaN)),
    meanCallUs: medianOf(reps, (r) => r.scriptUsecPerCall),
    p99CallUs: p99 > 0 ? p99 : undefined,
    slowestCallUs: slowest > 0 ? slowest : undefined,
    callsOver2ms: reps.reduce((sum, r) => sum + (r.scriptCallsOver2ms ?? 0), 0),
    calls: reps.reduce((sum, r) => sum + r.scriptCalls, 0),
    ackP99Us: medianOf(reps, (r) => r.latency?.p99Us),
  };
}

const knobsText = (k: Knobs): string => `batchMaxRecords ${k.batchMaxRecords}, lingerMs ${k.lingerMs}, adaptiveLinger ${k.adaptiveLinger}, maxInFlight ${k.maxInFlight}`;
const axisSetting = (axis: Axis, k: Knobs): string =>
  axis === 'batchMaxRecords' ? String(k.batchMaxRecords) : axis === 'maxInFlight' ? String(k.maxInFlight) : `${k.lingerMs} / ${k.adaptiveLinger ? 'on' : 'off'}`;
const AXIS_TITLE: Record<Axis, string> = { batchMaxRecords: 'batchMaxRecords', linger: 'lingerMs / adaptiveLinger', maxInFlight: 'maxInFlight' };

export async function runSweep(run: Run): Promise<void> {
  const { opts, admin } = run;
  const startedAt = performance.now();
  const resolved = resolveConfig({});
  const defaults: Knobs = { batchMaxRecords: resolved.batchMaxRecords, lingerMs: resolved.lingerMs, adaptiveLinger: resolved.adaptiveLinger, maxInFlight: resolved.maxInFlight };
  const points = sweepPoints(defaults);
  const cases = SWEEP_CASES.filter((id) => !opts.cases || opts.cases.includes(id)).map(caseById);
  const pairs = points.flatMap((point) => cases.map((def) => ({ point, def })));

  // Log every script call at or above the threshold; keep enough entries for a whole case.
  const saved = new Map<string, string>();
  for (const name of ['slowlog-log-slower-than', 'slowlog-max-len']) saved.set(name, ((await admin.config('GET', name)) as string[])[1]!);
  await admin.config('SET', 'slowlog-log-slower-than', String(opts.slowlogUs));
  await admin.config('SET', 'slowlog-max-len', '100000');
  const results = new Map<string, PointResult>();
  try {
    const total = opts.reps * pairs.length;
    let done = 0;
    for (let rep = 1; rep <= opts.reps; rep++) {
      const order = rep % 2 === 1 ? pairs : [...pairs].reverse();
      for (const { point, def } of order) {
        const ns = `${run.runTag}s${points.indexOf(point)}${def.id}r${rep}`;
        const prefix = `sweep [rep ${rep}/${opts.reps} · ${++done}/${total}] ${def.name}, ${point.key}`;
        const job = caseJob(run, def, ns, opts.records, opts.valueBytes, { producerConfig: point.knobs, slowlog: true });
        const r = await runWithProgress(run, prefix, job, startedAt);
        const id = `${point.key}|${def.id}`;
        const entry = results.get(id) ?? { point, caseId: def.id, reps: [] };
        entry.reps.push(r);
        results.set(id, entry);
        run.progress.line(
          `${prefix}: ${fmtInt(r.recordsPerSec)} rec/s, ${fmtFixed(r.records / r.scriptCalls, 0)} rec/call, ` +
            `server ${fmtFixed(r.scriptUsecPerCall, 0)} µs/call (slowest ${r.slowestScriptCallUs ?? `< ${opts.slowlogUs}`} µs)`,
        );
      }
    }
  } finally {
    for (const [name, value] of saved) await admin.config('SET', name, value);
  }
  run.progress.clear();

  const summary = (point: Point, caseId: string): PointSummary => summarise(results.get(`${point.key}|${caseId}`)!.reps);
  const defaultPoint = points.find((p) => p.axes.length === 3)!;
  const lines: string[] = [
    `### Sweep (median of ${opts.reps} reps, ${fmtInt(opts.records)} records, ${opts.shards} shards, ${opts.valueBytes}-byte values, ${opts.keys} keys)`,
    '',
    `Defaults: ${knobsText(defaults)}; each table varies one setting. Server time per script call: mean from INFO commandstats, ` +
      `p99 and slowest from SLOWLOG (threshold ${opts.slowlogUs} µs; "< ${opts.slowlogUs} µs" = below it).`,
  ];
  const blocking = (us: number | undefined): string => (us === undefined ? `< ${opts.slowlogUs} µs` : fmtLatency(us));
  for (const axis of ['batchMaxRecords', 'linger', 'maxInFlight'] as Axis[]) {
    lines.push('', `#### ${AXIS_TITLE[axis]}`, '');
    lines.push(`| case | ${AXIS_TITLE[axis]} | records/s | vs defaults | records/call | server time/call mean | p99 | slowest | calls > 2 ms | ack p99 |`);
    lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const def of cases) {
      const base = summary(defaultPoint, def.id).recordsPerSec;
      for (const point of pointsOn(points, axis)) {
        const s = summary(point, def.id);
        const mark = point === defaultPoint ? ' (default)' : '';
        lines.push(
          `| ${def.name} | ${axisSetting(axis, point.knobs)}${mark} | ${fmtInt(s.recordsPerSec)} | ${fmtRatio(s.recordsPerSec / base)} | ${fmtFixed(s.recordsPerCall, 0)} | ` +
            `${fmtLatency(s.meanCallUs)} | ${blocking(s.p99CallUs)} | ${blocking(s.slowestCallUs)} | ${s.callsOver2ms} of ${fmtInt(s.calls)} | ${fmtLatency(s.ackP99Us)} |`,
        );
      }
    }
  }
  lines.push('', `Best point per case with the p99 script call ≤ 2 ms (one factor at a time, so a candidate, not a proof):`, '');
  for (const def of cases) {
    const ok = points.map((p) => ({ p, s: summary(p, def.id) })).filter(({ s }) => (s.p99CallUs ?? 0) <= BLOCKING_LIMIT_US);
    const best = ok.reduce<(typeof ok)[number] | undefined>((a, b) => (a === undefined || b.s.recordsPerSec > a.s.recordsPerSec ? b : a), undefined);
    lines.push(
      best
        ? `- ${def.name}: ${knobsText(best.p.knobs)} → ${fmtInt(best.s.recordsPerSec)} rec/s (${fmtRatio(best.s.recordsPerSec / summary(defaultPoint, def.id).recordsPerSec)} the defaults), p99 call ${blocking(best.s.p99CallUs)}`
        : `- ${def.name}: no point kept the p99 call ≤ 2 ms`,
    );
  }
  lines.push('', `${run.footer} · ${elapsed(startedAt)} (m:ss)`);
  process.stdout.write(lines.join('\n') + '\n');

  const svg = lineChartsSvg({
    title: 'Producer records/s against its batching settings (one setting varied at a time)',
    subtitle: `median of ${opts.reps} reps · ${fmtInt(opts.records)} records · ${run.where}`,
    flagNote: 'p99 script call > 2 ms',
    panels: (['batchMaxRecords', 'linger', 'maxInFlight'] as Axis[]).map((axis) => {
      const axisPoints = pointsOn(points, axis);
      return {
        title: AXIS_TITLE[axis],
        xTitle: axis === 'linger' ? 'lingerMs / adaptiveLinger' : AXIS_TITLE[axis],
        xLabels: axisPoints.map((p) => axisSetting(axis, p.knobs).replace(' / ', '/')),
        series: cases.map((def) => {
          const s = axisPoints.map((p) => summary(p, def.id));
          return { name: def.name, values: s.map((x) => x.recordsPerSec), flagged: s.map((x) => (x.p99CallUs ?? 0) > BLOCKING_LIMIT_US) };
        }),
      };
    }),
  });
  writeResults(
    run,
    {
      defaults,
      points: [...results.values()].map((r) => ({ knobs: r.point.knobs, axes: r.point.axes, caseId: r.caseId, summary: summarise(r.reps), reps: r.reps })),
    },
    resolve(dirname(opts.out), 'sweep.svg'),
    svg,
  );
}
