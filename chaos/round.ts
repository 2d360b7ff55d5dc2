/**
 * One round: a producer with compensation on and short timeouts, the workload, the schedule's faults,
 * then heal, stop, flush, replay until nothing is parked, close, and check from outside.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BufferFullError, Producer } from '../src/index.js';
import { check, type Entries, type Violation } from './check.js';
import { finishMigrations, runFaults, type FaultContext, type FaultRun } from './faults.js';
import type { Schedule } from './schedule.js';
import { sleep, type Env } from './servers.js';
import { Observed, Workload } from './workload.js';

const REPLAY_DEADLINE_MS = 30_000;

export interface RoundResult {
  ok: boolean;
  /** The one-line summary. */
  line: string;
  /** Violations and notes, one per line, for the lines under the summary. */
  details: string[];
  violations: Violation[];
  /** The servers could not be healed: the next round needs new ones. */
  envBroken: boolean;
}

/** Resolves with `what` settled in time, or `undefined` after `ms`. */
async function within<T>(ms: number, what: Promise<T>): Promise<{ value: T } | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
  try {
    return await Promise.race([what.then((value) => ({ value })), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Files under the namespace's journal directory, with sizes: where stuck journal records sit. */
function journalFiles(journalDir: string, namespace: string): string {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else files.push(`${path.slice(journalDir.length + 1)} (${statSync(path).size} B)`);
    }
  };
  if (existsSync(join(journalDir, namespace))) walk(join(journalDir, namespace));
  return files.length ? files.join(', ') : 'none';
}

/** `error` events by code, with the first message of each: replay rounds that failed, park failures. */
function errorSummary(observed: Observed): string {
  const by = new Map<string, { n: number; first: string }>();
  for (const { at, error } of observed.errors) {
    const e = by.get(error.code) ?? { n: 0, first: `@${Math.round(at)}ms ${error.message.slice(0, 160)}` };
    e.n++;
    by.set(error.code, e);
  }
  return by.size === 0 ? 'no error events' : `error events: ${[...by].map(([code, e]) => `${code} ×${e.n} (first ${e.first})`).join('; ')}`;
}

/** Spilled batches by destination and error code, and when the first and last happened. */
function spillSummary(observed: Observed): string {
  const by = new Map<string, number>();
  for (const s of observed.spills) {
    const k = `${s.parkedIn}/${s.persisted}/${s.error.code}`;
    by.set(k, (by.get(k) ?? 0) + s.ids.length);
  }
  if (by.size === 0) return 'nothing spilled';
  const first = Math.round(observed.spills[0]!.at);
  const lastAt = Math.round(observed.spills[observed.spills.length - 1]!.at);
  return `spilled records (to/persisted/code): ${[...by].map(([k, n]) => `${k} ${n}`).join(', ')} between @${first}ms and @${lastAt}ms`;
}

export async function runRound(env: Env, schedule: Schedule): Promise<RoundResult> {
  // Derived from the schedule, so a rerun puts the shards in the same cluster slots.
  const namespace = `chaos${schedule.seed}r${schedule.round}${schedule.target === 'cluster' ? 'c' : 's'}`;
  const topic = 'chaos';
  const journalDir = mkdtempSync(join(tmpdir(), 'rsp-chaos-journal-'));
  const redis = env.kind === 'standalone' ? (await env.newProxy()).url : { cluster: env.startupNodes };
  const producer = new Producer({
    redis,
    namespace,
    topics: { [topic]: { shards: schedule.shards } },
    deliveryTimeoutMs: schedule.deliveryTimeoutMs,
    requestTimeoutMs: schedule.requestTimeoutMs,
    retryBackoffMs: schedule.retryBackoffMs,
    retryBackoffMaxMs: schedule.retryBackoffMaxMs,
    lingerMs: schedule.lingerMs,
    batchMaxRecords: schedule.batchMaxRecords,
    maxInFlight: schedule.maxInFlight,
    bufferMaxBytes: schedule.bufferMaxBytes,
    batchMaxBytes: Math.min(1024 * 1024, schedule.bufferMaxBytes),
    maxRecordBytes: 4096,
    maxBlockMs: schedule.maxBlockMs,
    acks: schedule.acks,
    statsIntervalMs: 0,
    // Many attempts and short backoffs: a long fault must not dead-letter a record by configuration.
    compensation: { journalDir, maxAttempts: 200, replay: { intervalMs: 200, leaseMs: 10_000, backoffMs: 100, backoffMaxMs: 1_000 } },
  });
  // Every time in the report is ms since the workload started (t0 is reset right before that).
  let t0 = performance.now();
  const now = () => performance.now() - t0;
  const observed = new Observed(producer, now);
  const workload = new Workload(producer, schedule, topic, now);
  const ctx: FaultContext = { schedule, namespace, topic, now, kills: [], openMigrations: [] };
  const notes: string[] = [];
  const hangs: string[] = [];
  let envBroken = false;
  let runs: FaultRun[] = [];
  const streams: Entries[] = [];

  const smallBuffer = schedule.bufferMaxBytes < 1024 * 1024;
  const settleBoundMs = schedule.deliveryTimeoutMs + 2 * schedule.requestTimeoutMs + 1_000 + (smallBuffer ? schedule.maxBlockMs : 0);
  try {
    // Servers restarted by the previous round may still be settling: connecting is not under test here.
    for (const giveUpAt = Date.now() + 15_000; ; ) {
      const error = await producer.connect().then(
        () => undefined,
        (err: unknown) => err,
      );
      if (error === undefined) break;
      if (Date.now() > giveUpAt) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    t0 = performance.now();
    workload.start();
    runs = await runFaults(env, ctx);
    try {
      if (env.kind === 'cluster') await finishMigrations(env, ctx);
      await env.heal();
    } catch (err) {
      // The harness could not repair the servers: new ones for the next round. Not a producer
      // failure by itself; what it did to the records, the drain and the checks below still show.
      envBroken = true;
      notes.push(`harness: heal failed: ${(err as Error).message.split('\n').slice(0, 3).join(' | ')}`);
    }
    const healedAt = now();
    await sleep(schedule.tailMs);
    // Every send started before the stop should settle within the bound; wait that long, not longer.
    await workload.stop(settleBoundMs + 1_000);
    if (!(await within(settleBoundMs * 2, producer.flush()))) hangs.push(`flush() did not resolve within ${settleBoundMs * 2}ms`);

    // Drive replay until nothing is parked in Redis or in the journal.
    const deadline = Date.now() + REPLAY_DEADLINE_MS;
    let last = '';
    for (;;) {
      const round = await within(5_000, producer.compensation.replayNow()).catch(() => undefined);
      const stats = await within(2_000, producer.compensation.stats(topic)).catch(() => undefined);
      const journaled = await within(2_000, producer.compensation.journaled()).catch(() => undefined);
      last = `pending=${stats?.value.pending ?? '?'} due=${stats?.value.due ?? '?'} dead=${stats?.value.dead ?? '?'} journaled=${journaled?.value ?? '?'}${round ? '' : ' (replayNow hung or failed)'}`;
      if (stats?.value.pending === 0 && stats.value.dead === 0 && journaled?.value === 0) break;
      if (Date.now() > deadline) {
        const parked = await within(2_000, producer.compensation.list(topic, { count: 5 })).catch(() => undefined);
        const sample = (parked?.value ?? []).map(
          (e) => `${e.id} shard ${e.shard} attempts ${e.attempts} ${e.persisted} parked@${new Date(e.parkedAt).toISOString().slice(11, 23)} last error: ${e.lastError || '-'}`,
        );
        hangs.push(
          `still parked ${Math.round(REPLAY_DEADLINE_MS / 1000)}s after the drain started (${last})${sample.length ? `: ${sample.join('; ')}` : ''}; journal files: ${journalFiles(journalDir, namespace)}`,
        );
        break;
      }
      await sleep(100);
    }
    notes.push(spillSummary(observed), errorSummary(observed));
    notes.push(`healed@${Math.round(healedAt)}ms, drained@${Math.round(now())}ms (${last})`);
    if (!(await within(settleBoundMs * 2, producer.close()))) hangs.push('close() did not resolve');

    const admin = env.admin();
    try {
      for (let shard = 0; shard < schedule.shards; shard++) {
        streams.push((await admin.xrange(`{${namespace}:${topic}:${shard}}`, '-', '+')) as Entries);
      }
    } finally {
      admin.disconnect();
    }
  } catch (err) {
    hangs.push(`round aborted: ${(err as Error).stack?.split('\n').slice(0, 3).join(' | ')}`);
    await within(5_000, producer.close()).catch(() => undefined);
    envBroken = true;
  } finally {
    rmSync(journalDir, { recursive: true, force: true });
    if (env.kind === 'standalone') await env.proxy?.stop();
  }

  const result = check({ schedule, namespace, topic, streams, sent: workload.sent, observed, kills: ctx.kills, settleBoundMs });
  const violations = [...(hangs.length ? [{ check: 'hung or stuck', count: hangs.length, details: hangs }] : []), ...result.violations];
  const sends = workload.sent.filter((s) => s.via === 'send');
  const delivered = sends.filter((s) => s.ack?.status === 'delivered').length;
  const spilled = sends.filter((s) => s.ack?.status === 'spilled').length;
  const bufferFull = sends.filter((s) => s.error instanceof BufferFullError).length;
  const rejected = sends.filter((s) => s.error !== undefined).length - bufferFull;
  const produced = workload.sent.length - sends.length;
  const faults = runs.map((r) => (r.startedAt === undefined ? r.label : `${r.label.replace(/@\d+ms$/, '')}@${r.startedAt}ms`));
  const ok = violations.length === 0;
  const line =
    `round ${schedule.round} seed ${schedule.seed} ${schedule.target}: faults=[${faults.join(', ')}] shards=${schedule.shards} acks=${schedule.acks} ` +
    `sends=${sends.length} delivered=${delivered} spilled=${spilled} buffer-full=${bufferFull} rejected=${rejected} produced=${produced}(+${workload.producedRefused} refused) ` +
    `replays=${observed.replays.length} slowest settle=${Math.round(result.slowestSettleMs)}ms (bound ${settleBoundMs}) ` +
    (ok ? 'OK' : `FAIL: ${violations.map((v) => `${v.check} ×${v.count}`).join('; ')}`);
  const details = [
    ...violations.flatMap((v) => [`  ✗ ${v.check} (${v.count}):`, ...v.details.map((d) => `      ${d}`)]),
    ...(result.allowedLoss.length ? [`  · lost by design (${result.allowedLoss.length}): ${result.allowedLoss.slice(0, 3).join(' | ')}`] : []),
    ...runs.map((r) => `  · ${r.label}${r.startedAt === undefined ? '' : ` (ran ${r.startedAt}–${r.endedAt ?? '?'}ms)`}${r.note ? `: ${r.note}` : ''}`),
    ...notes.map((n) => `  · ${n}`),
  ];
  // The next round starts on empty servers.
  if (!envBroken) await env.flushAll().catch(() => (envBroken = true));
  return { ok, line, details, violations, envBroken };
}
