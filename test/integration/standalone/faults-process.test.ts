import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { Producer, ReplayRound, SendAck, SpillEvent } from '../../../src/index.js';
import { readJournalFile } from '../../../src/compensation/journal.js';
import { connects, eventually, redisUrl, Resources, uniqueNamespace } from '../../support/helpers.js';
import { expectNothingLostNothingDuplicated } from '../../support/invariant.js';
import { FaultProxy } from '../../support/fault-proxy.js';
import { startRedisServer, type ServerProcess } from '../../support/redis-server.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/park-then-die.ts', import.meta.url));

const res = new Resources();
const servers: ServerProcess[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await res.closeAll();
  await Promise.allSettled(servers.splice(0).map((s) => s.stop()));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

/** Journal files (live or set aside, not claimed) of a namespace, and how many intact records they hold. */
/** Journal files of a namespace, over every Redis target (one directory each). */
async function journalContents(journalDir: string, namespace: string): Promise<{ files: string[]; records: number }> {
  const base = join(journalDir, namespace);
  if (!existsSync(base)) return { files: [], records: 0 };
  const files: string[] = [];
  let records = 0;
  for (const target of readdirSync(base)) {
    for (const name of readdirSync(join(base, target)).filter((n) => /^journal-.+\.log$/.test(n))) {
      files.push(name);
      records += (await readJournalFile(join(base, target, name))).records.length;
    }
  }
  return { files, records };
}

/** Runs replay rounds until the journal is drained and nothing of `topic` is parked; sums what they did. */
async function replayUntilEmpty(producer: Producer, journalDir: string, namespace: string, topic: string): Promise<ReplayRound> {
  const total: ReplayRound = { drained: 0, replayed: 0, alreadyDelivered: 0, retryLater: 0, deadLettered: 0 };
  await eventually(async () => {
    const round = await producer.compensation.replayNow();
    for (const k of Object.keys(total) as (keyof ReplayRound)[]) total[k] += round[k];
    const stats = await producer.compensation.stats(topic);
    return stats.pending === 0 && stats.dead === 0 && (await journalContents(journalDir, namespace)).files.length === 0;
  }, 'journal drained and every parked record replayed');
  return total;
}

/** Spawns the park-then-die fixture and waits for it to end (SIGKILL by itself, or a failure). */
function runParkThenDie(env: Record<string, string>, count: number): Promise<{ signal: NodeJS.Signals | null; code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, String(count)], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

describe('faults: process lifetime', () => {
  it('Redis down for the whole of close(): everything is journaled, and a new producer replays it once Redis is back on the same port', async () => {
    const namespace = uniqueNamespace();
    const journalDir = tempDir('rsp-test-journal-');
    // A data dir outside the server handle (stop() removes its own dir) with an fsynced AOF, so
    // the records acknowledged before the restart survive it, as they would in production.
    const redisDir = tempDir('rsp-test-redis-');
    const redisArgs = ['--dir', redisDir, '--appendonly', 'yes', '--appendfsync', 'always'];
    const first = await startRedisServer(redisArgs);
    servers.push(first);
    const url = `redis://127.0.0.1:${first.port}`;
    const topic = 't';
    const shards = 2;
    const common = {
      redis: url,
      namespace,
      topics: { [topic]: { shards } },
      requestTimeoutMs: 200,
      retryBackoffMs: 20,
      retryBackoffMaxMs: 100,
      compensation: { journalDir, replay: { enabled: false } },
    };

    const a = res.producer(common);
    const errors: string[] = [];
    a.on('error', (err) => errors.push(err.code));
    const spills: SpillEvent[] = [];
    a.on('spill', (e) => spills.push(e));
    const sent: { value: string; ack: SendAck | undefined }[] = [];
    for (let i = 0; i < 3; i++) {
      const value = `${namespace}-before-${i}`;
      const ack = await a.send({ topic, key: `k${i}`, value });
      expect(ack.status).toBe('delivered');
      sent.push({ value, ack });
    }

    const disconnected = new Promise<void>((resolve) => a.once('disconnect', () => resolve()));
    await first.stop();
    await disconnected;

    const produced = Array.from({ length: 10 }, (_, i) => `${namespace}-produced-${i}`);
    const awaited = Array.from({ length: 10 }, (_, i) => `${namespace}-sent-${i}`);
    for (const [i, value] of produced.entries()) a.produce({ topic, key: `p${i}`, value });
    const sends = awaited.map((value, i) => a.send({ topic, key: `s${i}`, value }));
    const closeStarted = performance.now();
    await a.close({ timeoutMs: 500 });
    const closeMs = performance.now() - closeStarted;
    // close() gives up after its timeout plus at most one in-flight call's requestTimeoutMs.
    expect(closeMs).toBeLessThan(500 + 200 + 1_000);

    const acks = await Promise.all(sends);
    for (const ack of acks) {
      if (ack.status === 'spilled') expect(ack.parkedIn).toBe('journal');
      else expect(ack.status).toBe('delivered');
    }
    const spilledAcks = acks.filter((ack) => ack.status === 'spilled');
    // Redis is down: nothing can have been delivered after the stop.
    expect(spilledAcks).toHaveLength(awaited.length);
    expect(spills.every((s) => s.parkedIn === 'journal')).toBe(true);
    expect(spills.reduce((n, s) => n + s.ids.length, 0)).toBe(produced.length + awaited.length);
    expect(errors).not.toContain('ERR_PARK_FAILED');
    sent.push(...awaited.map((value, i) => ({ value, ack: acks[i] })));
    sent.push(...produced.map((value) => ({ value, ack: undefined })));

    const journal = await journalContents(journalDir, namespace);
    expect(journal.files.length).toBeGreaterThan(0);
    expect(journal.records).toBe(produced.length + awaited.length);

    // Redis back on the same port (same data dir); a new producer process-alike takes over.
    const second = await startRedisServer(redisArgs, first.port);
    servers.push(second);
    const b = res.producer(common);
    b.on('error', () => {});
    await eventually(() => connects(b), 'the new producer connects');
    expect(b.producerId).not.toBe(a.producerId);
    const replay = await replayUntilEmpty(b, journalDir, namespace, topic);
    expect(replay).toMatchObject({ drained: produced.length + awaited.length, replayed: produced.length + awaited.length, deadLettered: 0 });
    await expectNothingLostNothingDuplicated({ admin: res.admin(url), producer: b, namespace, topic, shards, sent });
  });

  it('a producer process SIGKILLed after parking to the journal: the next producer replays every record exactly once', async () => {
    const namespace = uniqueNamespace();
    const journalDir = tempDir('rsp-test-journal-');
    const count = 25;
    const topic = 't';
    const shards = 3;
    // The same Redis address for both processes (the journal is kept per Redis), refusing at first.
    const target = new URL(redisUrl());
    const proxy = await FaultProxy.start({ host: target.hostname, port: Number(target.port) });
    res.defer(() => proxy.stop());
    proxy.refuse();
    const run = await runParkThenDie({ REDIS_URL: proxy.url, NAMESPACE: namespace, JOURNAL_DIR: journalDir, TOPIC: topic, SHARDS: String(shards) }, count);
    expect(run.signal, `fixture exited with code ${String(run.code)}: ${run.stderr}`).toBe('SIGKILL');
    const summary = JSON.parse(run.stdout.trim()) as {
      sessionId: string;
      parkFailed: number;
      acks: { value: string; status: string; parkedIn?: string; compensationId?: string }[];
    };
    expect(summary.parkFailed).toBe(0);
    expect(summary.acks).toHaveLength(count);
    for (const ack of summary.acks) expect(ack).toMatchObject({ status: 'spilled', parkedIn: 'journal' });
    expect(new Set(summary.acks.map((a) => a.value)).size).toBe(count);

    // The dead process left its live journal file behind, fsynced, with every record in it.
    const journal = await journalContents(journalDir, namespace);
    expect(journal.files).toEqual([`journal-${summary.sessionId}.log`]);
    expect(journal.records).toBe(count);

    proxy.pass();
    const producer = res.producer({
      redis: proxy.url,
      namespace,
      topics: { [topic]: { shards } },
      requestTimeoutMs: 1_000,
      compensation: { journalDir, replay: { enabled: false } },
    });
    producer.on('error', () => {});
    await eventually(() => connects(producer), 'the producer connects');
    const replay = await replayUntilEmpty(producer, journalDir, namespace, topic);
    expect(replay).toMatchObject({ drained: count, replayed: count, deadLettered: 0 });
    const sent = summary.acks.map((a) => ({ value: a.value, ack: undefined }));
    await expectNothingLostNothingDuplicated({ admin: res.admin(), producer, namespace, topic, shards, sent });
  });
});
