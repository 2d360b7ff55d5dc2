import type { Redis } from 'ioredis';
import { type Client, dataNodes, isCluster, nodeAddress, type ServerNode } from './target.js';
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

/** Reads `INFO stats`, `INFO cpu` and `INFO commandstats` of one server process in one call. */
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

/** The counters of every server process of the target (a cluster: masters and replicas), by address. */
export async function nodeCounters(nodes: ServerNode[]): Promise<Map<string, ServerCounters>> {
  const counters = await Promise.all(nodes.map((node) => serverCounters(node.client)));
  return new Map(nodes.map((node, i) => [node.address, counters[i]!]));
}

/** The counters of several processes added up, so a target's deltas cover all of them. */
export function sumCounters(list: Iterable<ServerCounters>): ServerCounters {
  const sum: ServerCounters = { cpuSec: 0, inBytes: 0, outBytes: 0, commands: {} };
  for (const c of list) {
    sum.cpuSec += c.cpuSec;
    sum.inBytes += c.inBytes;
    sum.outBytes += c.outBytes;
    for (const [name, { calls, usec }] of Object.entries(c.commands)) {
      const total = (sum.commands[name] ??= { calls: 0, usec: 0 });
      total.calls += calls;
      total.usec += usec;
    }
  }
  return sum;
}

/** Waits (at most 5 s) until every replica has acknowledged its master's replication offset, so the replicas' CPU is complete. */
export async function replicasCaughtUp(nodes: ServerNode[]): Promise<void> {
  const masters = nodes.filter((m) => nodes.some((r) => r.master === m.address));
  const replication = async (node: ServerNode) => parseInfoFields(await node.client.info('replication'));
  const targets = await Promise.all(masters.map(async (m) => Number((await replication(m)).get('master_repl_offset'))));
  for (const deadline = Date.now() + 5_000; masters.length > 0 && Date.now() < deadline; await new Promise((r) => setTimeout(r, 10))) {
    const infos = await Promise.all(masters.map(replication));
    const behind = infos.some((info, i) => [...info].some(([k, v]) => /^slave\d+$/.test(k) && Number(/offset=(\d+)/.exec(v)?.[1] ?? 0) < targets[i]!));
    if (!behind) return;
  }
}

/** The benchmark topic's stream keys of a namespace on one node: `{ns:t:*}` of type stream (any shard naming). */
async function streamKeys(node: Redis, ns: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, found] = await node.scan(cursor, 'MATCH', `{${ns}:${TOPIC}:*`, 'COUNT', 1000, 'TYPE', 'stream');
    keys.push(...found);
    cursor = next;
  } while (cursor !== '0');
  return keys;
}

/** Deletes every key of the namespace: streams, topic metadata, idempotence state. */
export async function deleteNamespace(client: Client, ns: string): Promise<void> {
  const cluster = isCluster(client);
  for (const node of dataNodes(client)) {
    let cursor = '0';
    do {
      const [next, found] = await node.scan(cursor, 'MATCH', `{${ns}:*`, 'COUNT', 1000);
      // UNLINK: a stream of 500k entries is freed in the background, not while the next case runs.
      // A cluster node takes a multi-key command only for keys of one slot: one UNLINK per key there.
      if (found.length > 0 && cluster) await found.reduce((pipe, key) => pipe.unlink(key), node.pipeline()).exec();
      else if (found.length > 0) await node.unlink(...found);
      cursor = next;
    } while (cursor !== '0');
  }
}

/** What a namespace's streams hold: how many streams and entries, in all and per data node (`host:port`). */
export interface StreamTotals {
  streams: number;
  entries: number;
  byNode: Map<string, { streams: number; entries: number }>;
}

/** Stream lengths of the namespace: how many streams, and their summed `XLEN` or `entries-added`. */
export async function streamTotals(client: Client, ns: string, count: 'xlen' | 'entries-added' = 'xlen'): Promise<StreamTotals> {
  const totals: StreamTotals = { streams: 0, entries: 0, byNode: new Map() };
  for (const node of dataNodes(client)) {
    const keys = await streamKeys(node, ns);
    let entries = 0;
    for (const key of keys) {
      if (count === 'xlen') entries += await node.xlen(key);
      else {
        // XINFO STREAM's `entries-added` (Redis ≥ 7.0) counts every XADD, also those trimmed since.
        const info = (await node.xinfo('STREAM', key)) as unknown[];
        const at = info.indexOf('entries-added');
        if (at < 0) throw new Error('XINFO STREAM has no entries-added field: counting trimmed streams needs Redis ≥ 7.0');
        entries += Number(info[at + 1]);
      }
    }
    totals.byNode.set(nodeAddress(node), { streams: keys.length, entries });
    totals.streams += keys.length;
    totals.entries += entries;
  }
  return totals;
}

/** Throws unless the namespace's streams (at most `shards`) hold exactly `expected` entries in total; returns what they hold. */
export async function verifyStreams(client: Client, ns: string, shards: number, expected: number, label: string, count: 'xlen' | 'entries-added' = 'xlen'): Promise<StreamTotals> {
  const totals = await streamTotals(client, ns, count);
  const { streams, entries } = totals;
  if (entries !== expected) throw new Error(`VERIFY FAILED for "${label}" (namespace ${ns}): the streams hold ${entries} entries, expected ${expected}`);
  if (streams > shards) {
    throw new Error(`VERIFY FAILED for "${label}" (namespace ${ns}): ${streams} streams, expected at most ${shards}`);
  }
  return totals;
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
