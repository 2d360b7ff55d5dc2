/**
 * Latency of a lone call on an idle connection: awaited ioredis `XADD` against an awaited producer
 * `send()` (adaptive linger, and plain `lingerMs: 5`), one call at a time, interleaved in blocks,
 * with two floors between them: the least idempotent script and the producer's own script, both
 * called bare. Runs in a child process of its own like the cases (`run-case.ts`, job kind
 * `latency`), optionally with itself and the server pinned to CPUs (`Placement`).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { encodeBatch } from '../src/batch-codec.js';
import { Producer, type ProducerError } from '../src/index.js';
import { NO_TRIM, publishBatchArgs, registerScript } from '../src/scripts.js';
import { deleteNamespace, verifyStreams } from './server-stats.js';
import { connect, producerRedis, type Client, type Target } from './target.js';
import { Redis } from 'ioredis';
import { fieldsAt, makeWorkload, peerShardOf, percentile, recordAt, streamKey, type KeyMode } from './workload.js';

/**
 * Untimed calls per subject first: 1000 left the producer's path only partly optimised by the JIT
 * (p50 84 µs, against 70 µs after 5000, on the same machine).
 */
export const LONE_WARMUP = 5000;
/** The `lingerMs: 5` subject waits 5 ms per call: its p50 is the linger whatever the JIT does. */
export const LINGER_WARMUP = 200;
/** Subjects of the job, each timed `calls` times. */
export const LATENCY_SUBJECTS = 5;

/**
 * Where the client and the server run during the job: as the OS schedules them (`none`), pinned
 * together to CPU 0 (`same`), or the server on CPU 0 and the client on CPU 1 (`split`). On a VM a
 * lone round trip costs very different times in the two placements (waking an idle vCPU is slow),
 * and left alone the scheduler picks one by how busy each side is: so a slower server-side call can
 * move both sides apart and look far slower than it is.
 */
export type Placement = 'none' | 'same' | 'split';
export const PLACEMENTS: readonly Placement[] = ['none', 'same', 'split'];

export interface LatencyJob {
  kind: 'latency';
  target: Target;
  placement: Placement;
  /** Namespace prefix; each subject writes under its own. */
  ns: string;
  /** Timed calls per subject, after `warmup` untimed ones (`LINGER_WARMUP` for the linger subject). */
  calls: number;
  warmup: number;
  seed: number;
  valueBytes: number;
  keys: KeyMode;
  /** Headers per record (0–4). */
  headers: number;
  shards: number;
}

export interface LoneLatency {
  name: string;
  calls: number;
  p50Us: number;
  p90Us: number;
  p99Us: number;
  maxUs: number;
}

interface Subject {
  name: string;
  ns: string;
  call: (i: number) => Promise<unknown>;
  close: () => Promise<void>;
  /** Untimed calls before the first timed one. */
  warmup: number;
  samplesUs: number[];
  errors: ProducerError[];
}

/** Runs the job; `progress.done` counts timed calls over all subjects. */
export async function runLoneLatency(job: LatencyJob, progress: { done: number }): Promise<LoneLatency[]> {
  const { target, calls, warmup } = job;
  const w = makeWorkload(warmup + calls, job.seed, { valueBytes: job.valueBytes, keys: job.keys, shards: job.shards, headers: job.headers });
  const subjects: Subject[] = [];
  const xns = `${job.ns}lx`;
  const client = await connect(target);
  subjects.push({
    name: 'ioredis await XADD',
    ns: xns,
    call: (i) => client.xadd(streamKey(xns, peerShardOf(w, i)), '*', ...fieldsAt(w, i)),
    close: async () => client.disconnect(),
    warmup,
    samplesUs: [],
    errors: [],
  });
  // The least an idempotent append does in Lua: the floor under any script-based lone send.
  const floorSha = (await client.script('LOAD', IDEMPOTENT_XADD_LUA)) as string;
  const fns = `${job.ns}lf`;
  let floorSeq = 0;
  subjects.push({
    name: 'least idempotent script (GET + XADD + SET), bare EVALSHA',
    ns: fns,
    call: (i) => {
      const stream = streamKey(fns, peerShardOf(w, i));
      return client.evalsha(floorSha, 2, stream, `${stream}:p:lone`, ++floorSeq, 86_400_000, ...fieldsAt(w, i));
    },
    close: async () => {},
    warmup,
    samplesUs: [],
    errors: [],
  });
  // The floor of the producer's lone send: its own script for one record, called the plain ioredis way.
  const publish = registerScript(client, 'publish-batch');
  const ens = `${job.ns}le`;
  let seq = 0;
  subjects.push({
    name: "producer's script for one record, bare EVALSHA",
    ns: ens,
    call: (i) => {
      const stream = streamKey(ens, peerShardOf(w, i));
      return publish(...publishBatchArgs(stream, NO_TRIM, { stateKey: `${stream}:p:lone`, seq: ++seq, stateTtlMs: 86_400_000 }, 1, encodeBatch([fieldsAt(w, i)])));
    },
    close: async () => {},
    warmup,
    samplesUs: [],
    errors: [],
  });
  for (const [suffix, label, extra, warm] of [
    ['la', 'producer send, adaptiveLinger:true', {}, warmup],
    ['lp', 'producer send, adaptiveLinger:false lingerMs:5', { adaptiveLinger: false, lingerMs: 5 }, Math.min(warmup, LINGER_WARMUP)],
  ] as const) {
    const ns = `${job.ns}${suffix}`;
    const producer = new Producer({ redis: producerRedis(target), namespace: ns, defaultShards: job.shards, ...extra });
    const subject: Subject = { name: label, ns, call: (i) => producer.send(recordAt(w, i)), close: () => producer.close(), warmup: warm, samplesUs: [], errors: [] };
    producer.on('error', (e) => subject.errors.push(e));
    await producer.connect();
    subjects.push(subject);
  }
  if (subjects.length !== LATENCY_SUBJECTS) throw new Error(`LATENCY_SUBJECTS is ${LATENCY_SUBJECTS}, but the job has ${subjects.length} subjects`);
  let unpin = () => {};
  try {
    unpin = await pin(job.placement, client);
    // Warm-up records come before the timed ones in the workload (indexes below `warmup`).
    for (const s of subjects) for (let i = warmup - s.warmup; i < warmup; i++) await s.call(i);
    // Interleave in blocks so drift (other load, CPU frequency) hits every subject alike.
    const blocks = 4;
    let done = 0;
    for (let b = 0; b < blocks; b++) {
      const size = Math.floor((calls * (b + 1)) / blocks) - Math.floor((calls * b) / blocks);
      for (const s of subjects) {
        for (let j = 0; j < size; j++) {
          const i = warmup + done + j;
          const t0 = performance.now();
          await s.call(i);
          s.samplesUs.push((performance.now() - t0) * 1000);
          progress.done++;
        }
      }
      done += size;
    }
  } finally {
    try {
      unpin();
    } finally {
      for (const s of subjects) await s.close();
    }
  }
  const admin = await connect(target);
  try {
    const out: LoneLatency[] = [];
    for (const s of subjects) {
      if (s.errors.length > 0) throw new Error(`latency "${s.name}": ${s.errors.length} error event(s), first: ${s.errors[0]!.message}`);
      await verifyStreams(admin, s.ns, job.shards, s.warmup + calls, `latency ${s.name}`);
      await deleteNamespace(admin, s.ns);
      const sorted = [...s.samplesUs].sort((a, b) => a - b);
      out.push({ name: s.name, calls: sorted.length, p50Us: percentile(sorted, 50), p90Us: percentile(sorted, 90), p99Us: percentile(sorted, 99), maxUs: sorted[sorted.length - 1]! });
    }
    return out;
  } finally {
    admin.disconnect();
  }
}

const IDEMPOTENT_XADD_LUA = readFileSync(new URL('lua/idempotent-xadd.lua', import.meta.url), 'utf8');

/**
 * Pins this process and the server to CPUs as `placement` says (`taskset`, every thread); returns
 * what gives the server its CPUs back as they were. The server must run on this machine (standalone:
 * its pid comes from `INFO server`).
 */
async function pin(placement: Placement, client: Client): Promise<() => void> {
  if (placement === 'none') return () => {};
  if (!(client instanceof Redis)) throw new Error('--pin needs a standalone server');
  if (placement === 'split' && availableParallelism() < 2) throw new Error('--pin split needs two CPUs');
  const serverPid = /^process_id:(\d+)/m.exec(await client.info('server'))?.[1];
  if (serverPid === undefined) throw new Error('--pin: INFO server gave no process_id');
  const taskset = (args: string[]) => execFileSync('taskset', args, { encoding: 'utf8' });
  // "pid 123's current affinity mask: 3": restored as it was, whatever CPUs the machine allows.
  const mask = /mask:\s*([0-9a-f]+)/i.exec(taskset(['-p', serverPid]))?.[1];
  if (mask === undefined) throw new Error(`--pin: could not read the affinity of the server (pid ${serverPid})`);
  const restore = () => void taskset(['-a', '-p', mask, serverPid]);
  taskset(['-a', '-pc', '0', serverPid]);
  try {
    taskset(['-a', '-pc', placement === 'same' ? '0' : '1', String(process.pid)]);
  } catch (err) {
    restore();
    throw err;
  }
  return restore;
}
