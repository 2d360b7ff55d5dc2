/**
 * The outside checks of a round, from what the workload recorded and what a plain client reads
 * back from the streams: every send settled in time, nothing accepted is lost or duplicated, every
 * `delivered` ack points at its value, per-key order held, parked records came back in order.
 */
import { BufferFullError, type SendAck } from '../src/index.js';
import type { KillMark } from './faults.js';
import type { Schedule } from './schedule.js';
import type { Observed, Sent } from './workload.js';

/** One shard's entries as XRANGE returns them. */
export type Entries = [id: string, fields: string[]][];

export interface Violation {
  check: string;
  count: number;
  /** The first few offenders, with what the producer said about them. */
  details: string[];
}

export interface CheckInput {
  schedule: Schedule;
  namespace: string;
  topic: string;
  /** Entries per shard, index = shard. */
  streams: Entries[];
  sent: Sent[];
  observed: Observed;
  kills: KillMark[];
  /** Most a send may take: deliveryTimeoutMs + parking allowance (+ maxBlockMs with a small buffer). */
  settleBoundMs: number;
}

export interface CheckResult {
  violations: Violation[];
  /** Lost records that a kill explains by design (AOF everysec window, acks 'leader' failover). */
  allowedLoss: string[];
  slowestSettleMs: number;
}

const SHOW = 5;
const ms = (t: number | undefined) => (t === undefined ? '-' : `${Math.round(t)}ms`);

export function describeAck(ack: SendAck | undefined): string {
  if (ack === undefined) return 'no ack';
  if (ack.status === 'delivered') return `delivered ${ack.stream} ${ack.id}`;
  return `spilled shard ${ack.shard} ${ack.compensationId} ${ack.persisted} in ${ack.parkedIn} (${ack.error.code})`;
}

export function describeSent(s: Sent): string {
  const outcome = s.via === 'produce' ? 'produce()' : s.error ? `rejected ${s.error.name}: ${s.error.message.slice(0, 120)}` : describeAck(s.ack);
  return `${s.value} key=${s.key ?? '-'} seq=${s.seq} sent@${ms(s.start)} settled@${ms(s.settle)} ${outcome}`;
}

const fieldOf = (fields: string[], name: string): string | undefined => {
  for (let i = 0; i < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
};

/** Whether a send was accepted: it has an ack, or failed with something other than "no room". */
const accepted = (s: Sent) => s.via === 'produce' || s.ack !== undefined || (s.error !== undefined && !(s.error instanceof BufferFullError)) || s.settle === undefined;

export function check(input: CheckInput): CheckResult {
  const { schedule, namespace, topic, streams, sent, observed, kills, settleBoundMs } = input;
  const violations: Violation[] = [];
  const add = (check: string, items: string[]) => {
    if (items.length > 0) violations.push({ check, count: items.length, details: items.slice(0, SHOW) });
  };
  const streamOf = (shard: number) => `{${namespace}:${topic}:${shard}}`;
  const byValue = new Map(sent.map((s) => [s.value, s]));
  const replayedAt = new Map(observed.replays.map((r) => [r.entryId, r.at]));
  const replayedIds = new Set(observed.replays.filter((r) => r.streamId !== undefined).map((r) => `${streamOf(r.shard)} ${r.streamId}`));

  // 1. Every send settled, within the bound.
  const sends = sent.filter((s) => s.via === 'send');
  add('unsettled', sends.filter((s) => s.settle === undefined).map(describeSent));
  let slowestSettleMs = 0;
  for (const s of sends) if (s.settle !== undefined) slowestSettleMs = Math.max(slowestSettleMs, s.settle - s.start);
  const slow = sends.filter((s) => s.settle !== undefined && s.settle - s.start > settleBoundMs).sort((a, b) => b.settle! - b.start - (a.settle! - a.start));
  add(
    `settled later than ${settleBoundMs}ms`,
    slow.map((s) => `${Math.round(s.settle! - s.start)}ms: ${describeSent(s)}`),
  );
  // A rejection other than BufferFullError breaks the contract (compensation is on).
  add('rejected', sends.filter((s) => s.error !== undefined && !(s.error instanceof BufferFullError)).map(describeSent));

  // Where each value is: [shard, index] per occurrence.
  const where = new Map<string, { shard: number; id: string; fields: string[] }[]>();
  const unexpected: string[] = [];
  streams.forEach((entries, shard) => {
    for (const [id, fields] of entries) {
      const value = fieldOf(fields, 'payload') ?? '(no payload)';
      if (!byValue.has(value)) unexpected.push(`${streamOf(shard)} ${id}: ${value}`);
      const list = where.get(value) ?? [];
      list.push({ shard, id, fields });
      where.set(value, list);
    }
  });
  add('unexpected entries (value never accepted)', unexpected);

  // 2. Nothing lost; losses a kill explains by design are listed apart.
  const lost: string[] = [];
  const allowedLoss: string[] = [];
  for (const s of sent) {
    if (!accepted(s) || where.has(s.value)) continue;
    const reason = lossExplained(s, schedule, kills, replayedAt, settleBoundMs);
    (reason ? allowedLoss : lost).push(`${describeSent(s)}${reason ? ` [${reason}]` : ''}`);
  }
  add('lost', lost);

  // 3. Nothing duplicated.
  const duplicated: string[] = [];
  for (const [value, list] of where) {
    if (list.length > 1)
      duplicated.push(
        `${value} ×${list.length} at ${list.map((w) => `${streamOf(w.shard)} ${w.id}${replayedIds.has(`${streamOf(w.shard)} ${w.id}`) ? ' (replayed)' : ''}`).join(', ')}; ${byValue.get(value) ? describeSent(byValue.get(value)!) : ''}`,
      );
  }
  add('duplicated', duplicated);

  // 4. A delivered ack names the entry holding its value; every entry holds what was sent.
  const wrongAck: string[] = [];
  const wrongContent: string[] = [];
  for (const s of sends) {
    const ack = s.ack;
    if (ack?.status !== 'delivered') continue;
    const at = where.get(s.value)?.find((w) => streamOf(w.shard) === ack.stream && w.id === ack.id);
    if (!where.has(s.value) && lossExplained(s, schedule, kills, replayedAt, settleBoundMs)) continue; // listed as lost by design
    if (!at || ack.stream !== streamOf(ack.shard)) {
      const found =
        where
          .get(s.value)
          ?.map((w) => `${streamOf(w.shard)} ${w.id}`)
          .join(', ') ?? 'nowhere';
      wrongAck.push(`${describeSent(s)}; value found at ${found}`);
    }
  }
  for (const [value, list] of where) {
    const s = byValue.get(value);
    if (!s) continue;
    const expected = new Map<string, string>([['payload', value]]);
    if (s.key !== undefined) expected.set('key', s.key);
    for (const [h, v] of Object.entries(s.headers ?? {})) expected.set(`h:${h}`, v);
    for (const w of list) {
      const got = new Map<string, string>();
      for (let i = 0; i < w.fields.length; i += 2) got.set(w.fields[i]!, w.fields[i + 1]!);
      const same = got.size === expected.size && [...expected].every(([k, v]) => got.get(k) === v);
      if (!same) wrongContent.push(`${streamOf(w.shard)} ${w.id}: fields ${JSON.stringify(w.fields)}, sent ${JSON.stringify(Object.fromEntries(expected))}`);
    }
  }
  add('delivered ack does not point at its value', wrongAck);
  add('entry fields differ from the record sent', wrongContent);

  // 5. Order. An entry is "direct" when a delivery event reported it and no replay did; "replayed"
  //    when a replay event names it; otherwise its batch's reply was lost and where it sits says nothing.
  const keyOrder: string[] = [];
  const parkedOrder: string[] = [];
  streams.forEach((entries, shard) => {
    const stream = streamOf(shard);
    const lastOfKey = new Map<string, { s: Sent; id: string }>();
    let lastReplayed: { s: Sent; id: string } | undefined;
    for (const [id, fields] of entries) {
      const s = byValue.get(fieldOf(fields, 'payload') ?? '');
      if (!s) continue;
      const tag = `${stream} ${id}`;
      const parked = s.ack?.status === 'spilled';
      if (replayedIds.has(tag)) {
        if (lastReplayed && lastReplayed.s.seq > s.seq) {
          parkedOrder.push(`${stream}: replayed ${lastReplayed.id} ${describeSent(lastReplayed.s)}  BEFORE  ${id} ${describeSent(s)}${replayTimes(observed, s, lastReplayed.s)}`);
        }
        lastReplayed = { s, id };
      } else if (!parked && observed.delivered.has(tag) && s.key !== undefined) {
        const prev = lastOfKey.get(s.key);
        if (prev && prev.s.keySeq > s.keySeq) keyOrder.push(`${stream} key ${s.key}: ${prev.id} ${describeSent(prev.s)}  BEFORE  ${id} ${describeSent(s)}`);
        lastOfKey.set(s.key, { s, id });
      }
    }
  });
  add('per-key order of never-parked records', keyOrder);
  add('parked records replayed out of order (per shard)', parkedOrder);

  add(
    'dead-letter events',
    observed.deadLetters.map((d) => `@${ms(d.at)} shard ${d.shard} ${d.entryId} after ${d.attempts} attempts: ${d.lastError}`),
  );
  add(
    'records neither delivered nor parked (error events)',
    observed.errors.filter((e) => e.error.code === 'ERR_PARK_FAILED').map((e) => `@${ms(e.at)} ${e.error.code}: ${e.error.message.slice(0, 200)}`),
  );
  return { violations, allowedLoss, slowestSettleMs };
}

function replayTimes(observed: Observed, ...records: Sent[]): string {
  const at = records.map((s) => {
    const id = s.ack?.status === 'spilled' ? s.ack.compensationId : undefined;
    const r = id ? observed.replays.find((x) => x.entryId === id) : undefined;
    return r ? `${s.value} replayed@${ms(r.at)}` : undefined;
  });
  const known = at.filter(Boolean);
  return known.length ? ` (${known.join(', ')})` : '';
}

/**
 * Why a lost record may be lost by design, or undefined. The last time Redis held it for sure: the
 * ack, or for a parked send its replay. Standalone with AOF `everysec`: a SIGKILL may take the last
 * second of writes. Cluster with acks 'leader': a killed master may take the writes its replica had
 * not received yet. A produce() record has no ack time: it may have been written any time from its
 * call to the settle bound after it.
 */
function lossExplained(s: Sent, schedule: Schedule, kills: KillMark[], replayedAt: Map<string, number>, settleBoundMs: number): string | undefined {
  if (schedule.target === 'cluster' && schedule.acks === 'all') return undefined;
  const window = schedule.target === 'standalone' ? 1_500 : 2_000;
  const shard = s.ack?.shard;
  let lastWrite = s.settle;
  if (s.ack?.status === 'spilled') lastWrite = replayedAt.get(s.ack.compensationId) ?? s.settle;
  for (const k of kills) {
    if (k.shards !== 'all' && shard !== undefined && !k.shards.has(shard)) continue;
    const what = schedule.target === 'standalone' ? 'a SIGKILL (AOF everysec)' : 'its master was killed (acks leader)';
    if (s.via === 'produce') {
      if (s.start <= k.at && s.start >= k.at - settleBoundMs - window) return `produced ${Math.round(k.at - s.start)}ms before ${what}`;
    } else if (lastWrite !== undefined && lastWrite >= k.at - window && lastWrite <= k.at + 50) {
      return `written ${Math.round(k.at - lastWrite)}ms before ${what}`;
    }
  }
  return undefined;
}
