import type { Redis } from 'ioredis';
import { TOPIC } from './workload.js';

/**
 * What the benchmark reads from the server around a case: `INFO` counters (CPU, network bytes,
 * per-command calls and time), `SLOWLOG` (the longest script calls) and the stream lengths that
 * prove a case wrote exactly what it claims.
 */

/** Cumulative server counters at one moment; subtract two with `counterDelta`. */
export interface ServerCounters {
  /** `used_cpu_user + used_cpu_sys`, seconds. */
  cpuSec: number;
  /** `total_net_input_bytes`. */
  inBytes: number;
  /** `total_net_output_bytes`. */
  outBytes: number;
  /** `INFO commandstats`: per command (lower case), calls and total µs. */
  commands: Record<string, { calls: number; usec: number }>;
}

/** Parses `INFO` text into `field → value` (section headers and blank lines skipped). */
export function parseInfoFields(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0 && !line.startsWith('#')) out.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return out;
}

/** Reads `INFO stats`, `INFO cpu` and `INFO commandstats` in one call. */
export async function serverCounters(admin: Redis): Promise<ServerCounters> {
  const info = parseInfoFields(await admin.info('everything'));
  const num = (name: string): number => Number(info.get(name) ?? NaN);
  const commands: ServerCounters['commands'] = {};
  for (const [field, value] of info) {
    if (!field.startsWith('cmdstat_')) continue;
    const calls = /(?:^|,)calls=(\d+)/.exec(value);
    const usec = /(?:^|,)usec=(\d+)/.exec(value);
    if (calls && usec) commands[field.slice('cmdstat_'.length)] = { calls: Number(calls[1]), usec: Number(usec[1]) };
  }
  return { cpuSec: num('used_cpu_user') + num('used_cpu_sys'), inBytes: num('total_net_input_bytes'), outBytes: num('total_net_output_bytes'), commands };
}

/** What the server did between two readings. */
export interface CounterDelta {
  cpuUs: number;
  inBytes: number;
  outBytes: number;
  /** Commands called in between, with calls and µs inside the server. */
  commands: Record<string, { calls: number; usec: number }>;
}

export function counterDelta(before: ServerCounters, after: ServerCounters): CounterDelta {
  const commands: CounterDelta['commands'] = {};
  for (const [name, a] of Object.entries(after.commands)) {
    const b = before.commands[name] ?? { calls: 0, usec: 0 };
    if (a.calls > b.calls) commands[name] = { calls: a.calls - b.calls, usec: a.usec - b.usec };
  }
  return { cpuUs: (after.cpuSec - before.cpuSec) * 1e6, inBytes: after.inBytes - before.inBytes, outBytes: after.outBytes - before.outBytes, commands };
}

/** Script calls (EVALSHA, and EVAL from a NOSCRIPT fallback) in a delta: count and mean µs per call. */
export function scriptCalls(delta: CounterDelta): { calls: number; usecPerCall: number } {
  let calls = 0;
  let usec = 0;
  for (const name of ['evalsha', 'eval']) {
    const c = delta.commands[name];
    if (c) {
      calls += c.calls;
      usec += c.usec;
    }
  }
  return { calls, usecPerCall: calls > 0 ? usec / calls : NaN };
}

/** The benchmark topic's stream keys of a namespace: `{ns:t:*}` of type stream (any shard naming). */
async function streamKeys(admin: Redis, ns: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, found] = await admin.scan(cursor, 'MATCH', `{${ns}:${TOPIC}:*`, 'COUNT', 1000, 'TYPE', 'stream');
    keys.push(...found);
    cursor = next;
  } while (cursor !== '0');
  return keys;
}

/** Deletes every key of the namespace: streams, topic metadata, idempotence state. */
export async function deleteNamespace(admin: Redis, ns: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, found] = await admin.scan(cursor, 'MATCH', `{${ns}:*`, 'COUNT', 1000);
    // UNLINK: a stream of 500k entries is freed in the background, not while the next case runs.
    if (found.length > 0) await admin.unlink(...found);
    cursor = next;
  } while (cursor !== '0');
}

/** Stream lengths of the namespace: how many streams, and their summed `XLEN` or `entries-added`. */
export async function streamTotals(admin: Redis, ns: string, count: 'xlen' | 'entries-added' = 'xlen'): Promise<{ streams: number; entries: number }> {
  const keys = await streamKeys(admin, ns);
  let entries = 0;
  for (const key of keys) {
    if (count === 'xlen') entries += await admin.xlen(key);
    else {
      // XINFO STREAM's `entries-added` (Redis ≥ 7.0) counts every XADD, also those trimmed since.
      const info = (await admin.xinfo('STREAM', key)) as unknown[];
      const at = info.indexOf('entries-added');
      if (at < 0) throw new Error('XINFO STREAM has no entries-added field: counting trimmed streams needs Redis ≥ 7.0');
      entries += Number(info[at + 1]);
    }
  }
  return { streams: keys.length, entries };
}

/** Throws unless the namespace's streams (at most `shards`) hold exactly `expected` entries in total. */
export async function verifyStreams(admin: Redis, ns: string, shards: number, expected: number, label: string, count: 'xlen' | 'entries-added' = 'xlen'): Promise<void> {
  const { streams, entries } = await streamTotals(admin, ns, count);
  if (entries !== expected) throw new Error(`VERIFY FAILED for "${label}" (namespace ${ns}): the streams hold ${entries} entries, expected ${expected}`);
  if (streams > shards) {
    throw new Error(`VERIFY FAILED for "${label}" (namespace ${ns}): ${streams} streams, expected at most ${shards}`);
  }
}

/** `SLOWLOG` entries of script calls since the last reset: each call's time in the server, µs. */
export async function slowScriptCalls(admin: Redis): Promise<number[]> {
  const entries = (await admin.call('SLOWLOG', 'GET', '-1')) as [number, number, number, (string | Buffer)[]][];
  const out: number[] = [];
  for (const [, , durationUs, args] of entries) {
    const name = String(args[0] ?? '').toLowerCase();
    if (name === 'evalsha' || name === 'eval') out.push(Number(durationUs));
  }
  return out;
}

/**
 * From the SLOWLOG durations (µs) of `calls` script calls (the log holds only those above its
 * threshold): the slowest, the p99 (the k-th longest, k = 1 % of the calls; undefined when fewer
 * than k calls reached the log, i.e. the p99 is below its threshold) and the calls over 2 ms.
 */
export function slowCallStats(slowUs: number[], calls: number): { slowestScriptCallUs: number | undefined; scriptCallP99Us: number | undefined; scriptCallsOver2ms: number } {
  const desc = [...slowUs].sort((a, b) => b - a);
  const k = Math.max(1, Math.ceil(calls * 0.01));
  return { slowestScriptCallUs: desc[0], scriptCallP99Us: desc.length >= k ? desc[k - 1] : undefined, scriptCallsOver2ms: desc.filter((us) => us > 2000).length };
}
