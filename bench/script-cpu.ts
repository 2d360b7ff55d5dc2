/**
 * Server cost of the batch script, variant by variant: what each change to `lua/publish-batch.lua`
 * gave, in server CPU per record.
 * Run with `npx tsx bench/script-cpu.ts [--records N] [--reps N] [--batch N]`.
 *
 *   --records N   records per case (default 200000)
 *   --reps N      repetitions, case order alternating (default 3)
 *   --batch N     records per call (default 1000); with 1, also the least idempotent script
 *                 (`bench/lua/idempotent-xadd.lua`): the server-side floor of a lone send
 *
 * Every case sends the same records (100-byte values, random keys, 16 shards) in calls of --batch
 * records, 8 in flight, from a plain ioredis client: no producer around it. Per case it reports the
 * server's CPU per record (`INFO` used_cpu_user + used_cpu_sys), the script's own time per record
 * (`INFO commandstats`: time inside EVALSHA, without reading and parsing the request), bytes in and
 * out per record, and the client's CPU per record. The variants live in `bench/lua-variants/`.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32 } from 'node:zlib';
import { Redis } from 'ioredis';
import { encodeBatch } from '../src/batch-codec.js';
import { loadLua } from '../src/scripts.js';
import { startRedisServer } from '../test/support/redis-server.js';
import { parseInfo } from '../test/support/redis-cluster.js';
import { Flags } from './flags.js';
import { makeWorkload, median, SHARDS, valueAt } from './workload.js';

const here = dirname(fileURLToPath(import.meta.url));
const flags = new Flags(process.argv.slice(2), { records: 'string', reps: 'string', batch: 'string' }, import.meta.url);
const RECORDS = flags.int('records', 200_000);
const REPS = flags.int('reps', 3);
const BATCH = flags.int('batch', 1000);
const IN_FLIGHT = 8;

const lua = (path: string) => readFileSync(resolve(here, path), 'utf8');
const current = loadLua('publish-batch');

type Call = (client: Redis, stream: string, seq: number, records: string[][]) => Promise<unknown>;

/** A script variant called like publish-batch: KEYS stream + state, idempotent. */
function scriptCase(source: string, encode: (records: string[][]) => (string | number | Buffer)[]): { prepare(c: Redis): Promise<void>; call: Call } {
  let sha = '';
  return {
    prepare: async (c) => void (sha = (await c.script('LOAD', source)) as string),
    call: (c, stream, seq, records) => c.evalsha(sha, 2, stream, `${stream}:p:bench`, '', '', '', '1', seq, 86_400_000, records.length, ...encode(records)),
  };
}

/** The script as it runs on Redis < 7.0 (no '<ms>-*' ids): every id comes back. */
const asBeforeRedis7 = (source: string) => source.replace('(redis.REDIS_VERSION_NUM or 0) >= 0x070000', 'false');
const fieldCounts = (records: string[][]) => records.flatMap((r) => [r.length, ...r]);
const cases: Record<string, { prepare(c: Redis): Promise<void>; call: Call }> = {
  'pipeline XADD (no Lua)': {
    prepare: async () => {},
    call: (c, stream, _seq, records) => {
      const p = c.pipeline();
      for (const r of records) p.xadd(stream, '*', ...r);
      return p.exec();
    },
  },
  'v3: field names + counts, every id back': scriptCase(lua('lua-variants/v3-field-counts.lua'), fieldCounts),
  'runs of one shape, every id back': scriptCase(asBeforeRedis7(current), encodeBatch),
  'runs of one shape, one id back (current)': scriptCase(current, encodeBatch),
};
if (BATCH === 1) {
  let sha = '';
  cases['least idempotent script: GET + XADD + SET'] = {
    prepare: async (c) => void (sha = (await c.script('LOAD', lua('lua/idempotent-xadd.lua'))) as string),
    call: (c, stream, seq, records) => c.evalsha(sha, 2, stream, `${stream}:p:bench`, seq, 86_400_000, ...records[0]!),
  };
}

async function info(c: Redis): Promise<{ cpu: number; netIn: number; netOut: number; scriptUsec: number }> {
  const i = parseInfo((await c.info('all')) as string);
  const cmd = /usec=(\d+)/.exec(i['cmdstat_evalsha'] ?? '');
  return {
    cpu: Number(i['used_cpu_user']) + Number(i['used_cpu_sys']),
    netIn: Number(i['total_net_input_bytes']),
    netOut: Number(i['total_net_output_bytes']),
    scriptUsec: cmd ? Number(cmd[1]) : 0,
  };
}

const server = await startRedisServer(['--save', '', '--appendonly', 'no']);
const url = `redis://127.0.0.1:${server.port}`;
const w = makeWorkload(RECORDS, 1);
// Batches grouped per shard in record order, as the producer forms them.
const byShard: string[][][] = Array.from({ length: SHARDS }, () => []);
for (let i = 0; i < RECORDS; i++) byShard[crc32(w.keys[i]!) % SHARDS]!.push(['payload', valueAt(w, i), 'key', w.keys[i]!]);
const batches: { shard: number; records: string[][] }[] = [];
for (let s = 0; s < SHARDS; s++) for (let i = 0; i < byShard[s]!.length; i += BATCH) batches.push({ shard: s, records: byShard[s]!.slice(i, i + BATCH) });

const results = new Map<string, { rate: number[]; cpu: number[]; script: number[]; inB: number[]; outB: number[]; client: number[] }>();
const names = Object.keys(cases);
try {
  for (let rep = 0; rep < REPS; rep++) {
    for (const name of rep % 2 ? [...names].reverse() : names) {
      const c = new Redis(url);
      const admin = new Redis(url);
      const ns = `s${rep}-${names.indexOf(name)}`;
      await cases[name]!.prepare(c);
      await admin.config('RESETSTAT');
      const before = await info(admin);
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      let next = 0;
      const seqs = new Array<number>(SHARDS).fill(0);
      await Promise.all(
        Array.from({ length: IN_FLIGHT }, async () => {
          for (let b = batches[next++]; b; b = batches[next++]) await cases[name]!.call(c, `{${ns}:t:${b.shard}}`, ++seqs[b.shard]!, b.records);
        }),
      );
      const secs = (performance.now() - t0) / 1000;
      const cpu1 = process.cpuUsage(cpu0);
      const after = await info(admin);
      let len = 0;
      for (let s = 0; s < SHARDS; s++) len += await admin.xlen(`{${ns}:t:${s}}`);
      if (len !== RECORDS) throw new Error(`${name}: ${len} entries for ${RECORDS} records`);
      const r = results.get(name) ?? { rate: [], cpu: [], script: [], inB: [], outB: [], client: [] };
      r.rate.push(RECORDS / secs);
      r.cpu.push(((after.cpu - before.cpu) * 1e6) / RECORDS);
      r.script.push((after.scriptUsec - before.scriptUsec) / RECORDS);
      r.inB.push((after.netIn - before.netIn) / RECORDS);
      r.outB.push((after.netOut - before.netOut) / RECORDS);
      r.client.push((cpu1.user + cpu1.system) / RECORDS);
      results.set(name, r);
      await admin.flushall();
      c.disconnect();
      admin.disconnect();
      process.stderr.write(`rep ${rep + 1}/${REPS} ${name}: ${Math.round(RECORDS / secs)} rec/s\n`);
    }
  }
} finally {
  await server.stop();
}
const base = median(results.get(names[0]!)!.cpu);
console.log(`\n${RECORDS} records × ${REPS} reps, calls of ${BATCH}, ${IN_FLIGHT} in flight, medians\n`);
console.log('| case | records/s | server CPU µs/rec | vs pipeline | script µs/rec (inside EVALSHA) | bytes in/rec | bytes out/rec | client CPU µs/rec |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
for (const [name, r] of results) {
  const f = (xs: number[], d = 2) => median(xs).toFixed(d);
  console.log(
    `| ${name} | ${Math.round(median(r.rate)).toLocaleString('en-US')} | ${f(r.cpu)} | ${(median(r.cpu) / base).toFixed(2)}× | ${name.startsWith('pipeline') ? '–' : f(r.script)} | ${f(r.inB, 0)} | ${f(r.outB, 0)} | ${f(r.client)} |`,
  );
}
