/**
 * The measuring half of `bench/ab.ts`: loads two compiled builds of the producer into this one
 * process and runs the same workload through each in alternating rounds (A B, B A, A B, …), so a
 * slow stretch of the machine hits both alike. Prints one JSON line (`AbResult`) on stdout.
 * Run by `ab.ts` with plain `node --expose-gc`, never under tsx (docs/decisions.md).
 */
import type { Producer } from '../src/index.js';
import { Redis } from 'ioredis';
import { counterDelta, deleteNamespace, serverCounters, verifyStreams } from './server-stats.js';
import { makeWorkload, produceAll, recordAt, type Workload } from './workload.js';

export type AbCase = 'c1000' | 'c100' | 'c1' | 'sb' | 'ff';

export interface AbJob {
  /** `dist/index.js` of build A and of build B. */
  entryA: string;
  entryB: string;
  url: string;
  caseId: AbCase;
  rounds: number;
  records: number;
  /** Headers per record (0–4) and bytes per value of the workload. */
  headers: number;
  valueBytes: number;
}

/** One run of one build: records/s, client CPU µs per record and the server's CPU µs per record. */
export interface AbSample {
  recordsPerSec: number;
  cpuUsPerRecord: number;
  serverCpuUsPerRecord: number;
}

export interface AbResult {
  a: AbSample[];
  b: AbSample[];
}

/** `callers` concurrent loops, each awaiting send() of the next record. */
async function awaitedCallers(callers: number, p: Producer, w: Workload, n: number): Promise<void> {
  let next = 0;
  const caller = async (): Promise<void> => {
    while (next < n) {
      const ack = await p.send(recordAt(w, next++));
      if (ack.status !== 'delivered') throw new Error(`a send resolved ${ack.status}`);
    }
  };
  await Promise.all(Array.from({ length: callers }, caller));
}

/** The workloads, as `bench/cases.ts` runs them, without the harness's latency sampling. */
const WORKLOADS: Record<AbCase, (p: Producer, w: Workload, n: number) => Promise<void>> = {
  c1000: (p, w, n) => awaitedCallers(1000, p, w, n),
  c100: (p, w, n) => awaitedCallers(100, p, w, n),
  c1: (p, w, n) => awaitedCallers(1, p, w, n),
  // 10 concurrent loops, each awaiting sendBatch() of the next 100 records.
  sb: async (p, w, n) => {
    let next = 0;
    const caller = async (): Promise<void> => {
      while (next < n) {
        const from = next;
        next = Math.min(n, next + 100);
        for (const r of await p.sendBatch(Array.from({ length: next - from }, (_, k) => recordAt(w, from + k)))) {
          if (r.status !== 'delivered') throw new Error(`a sendBatch record ended ${r.status}`);
        }
      }
    };
    await Promise.all(Array.from({ length: 10 }, caller));
  },
  // produce() in a loop, waiting for room when the buffer is full, then flush().
  ff: (p, w, n) => produceAll(p, w, n),
};

async function measure(Build: typeof Producer, job: AbJob, w: Workload, admin: Redis, tag: string): Promise<AbSample> {
  const ns = `ab${tag}${Math.random().toString(36).slice(2, 8)}`;
  const p = new Build({ redis: job.url, namespace: ns, defaultShards: w.shards });
  await p.connect();
  let sample: AbSample;
  try {
    (globalThis as { gc?: () => void }).gc?.();
    const server0 = await serverCounters(admin);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await WORKLOADS[job.caseId](p, w, job.records);
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const server = counterDelta(server0, await serverCounters(admin));
    sample = { recordsPerSec: job.records / seconds, cpuUsPerRecord: (cpu.user + cpu.system) / job.records, serverCpuUsPerRecord: server.cpuUs / job.records };
  } finally {
    await p.close();
  }
  // A fast wrong answer must not win: the streams hold exactly the records sent.
  await verifyStreams(admin, ns, w.shards, job.records, `${job.caseId} ${tag}`);
  await deleteNamespace(admin, ns);
  return sample;
}

async function runAb(job: AbJob, admin: Redis, log: (line: string) => void): Promise<AbResult> {
  const A = ((await import(job.entryA)) as { Producer: typeof Producer }).Producer;
  const B = ((await import(job.entryB)) as { Producer: typeof Producer }).Producer;
  const w = makeWorkload(job.records, 1, { headers: job.headers, valueBytes: job.valueBytes });
  // Warm both builds' code paths before the first timed round.
  for (let i = 0; i < 2; i++) {
    await measure(A, job, w, admin, 'wa');
    await measure(B, job, w, admin, 'wb');
  }
  const result: AbResult = { a: [], b: [] };
  for (let r = 0; r < job.rounds; r++) {
    for (const side of r % 2 === 0 ? (['a', 'b'] as const) : (['b', 'a'] as const)) {
      result[side].push(await measure(side === 'a' ? A : B, job, w, admin, `${side}${r}`));
    }
    const a = result.a[r]!;
    const b = result.b[r]!;
    log(
      `round ${r + 1}/${job.rounds}: A ${Math.round(a.recordsPerSec)} rec/s ${a.cpuUsPerRecord.toFixed(2)} µs/rec (server ${a.serverCpuUsPerRecord.toFixed(2)}) · B ${Math.round(b.recordsPerSec)} rec/s ${b.cpuUsPerRecord.toFixed(2)} µs/rec (server ${b.serverCpuUsPerRecord.toFixed(2)})`,
    );
  }
  return result;
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2] ?? 'null') as AbJob | null;
  if (!job) throw new Error('usage: node --expose-gc .bench-build/bench/ab-child.js <job json> (bench/ab.ts runs it)');
  const admin = new Redis(job.url);
  try {
    const result = await runAb(job, admin, (line) => process.stderr.write(`${line}\n`));
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    admin.disconnect();
  }
}

main().then(
  // Exit at once: a client's lingering socket or timer must not keep the parent waiting.
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
