/**
 * Faults of the Redis server process itself: killed and restarted from its AOF, paused
 * for longer than `deliveryTimeoutMs`, out of memory, unable to write its disk. Each test starts its own redis-server (never
 * the shared one) and checks the invariant: every record ends up in its stream exactly once.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Producer, ProducerError, ReplayEvent, RetryEvent, SendAck, SpillEvent } from '../../../src/index.js';
import { compensationKeys } from '../../../src/keys.js';
import { eventually, Resources, uniqueNamespace } from '../../support/helpers.js';
import { expectNothingLostNothingDuplicated, valuesInStreams } from '../../support/invariant.js';
import { startRedisServer, type ServerProcess } from '../../support/redis-server.js';

const res = new Resources();
const servers: ServerProcess[] = [];

afterEach(async () => {
  // A test that failed mid-pause must not leave a stopped server: close() would wait on it.
  for (const s of servers) if (isRunning(s.process)) s.process.kill('SIGCONT');
  await res.closeAll();
  // Reverse order: a restarted server shares the directory of the one it replaced.
  for (const s of servers.splice(0).reverse()) await s.stop();
});

async function server(args: string[] = [], port?: number): Promise<ServerProcess> {
  const s = await startRedisServer(args, port);
  servers.push(s);
  return s;
}

function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

function exited(child: ChildProcess): Promise<void> {
  if (!isRunning(child)) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

interface Sent {
  value: string;
  ack: SendAck | undefined;
}

/** Sends `values` (keys spread over the shards) without awaiting; every send settles into `sent`. */
function sendAll(producer: Producer, topic: string, values: string[], failures: unknown[]): { sent: Sent[]; done: Promise<void> } {
  const sent = values.map((value): Sent => ({ value, ack: undefined }));
  const done = Promise.all(
    sent.map((s, i) =>
      producer.send({ topic, key: `key-${i % 16}`, value: s.value }).then(
        (ack) => void (s.ack = ack),
        (err: unknown) => void failures.push(err),
      ),
    ),
  ).then(() => undefined);
  return { sent, done };
}

/**
 * Waits until one replay round ran against a connected Redis: the journal is then drained into the
 * Redis store. (`expectNothingLostNothingDuplicated` counts only what is parked in Redis, and a round
 * while disconnected does nothing, so records still in the local journal would look lost.)
 */
async function drainJournal(producer: Producer): Promise<void> {
  await eventually(
    () =>
      producer
        .connect()
        .then(() => producer.compensation.replayNow())
        .then(
          () => true,
          () => false,
        ),
    'a replay round against a connected Redis',
    10_000,
  );
}

/**
 * Makes the server unable to persist, as a full or failed disk does: its snapshot directory is
 * removed and a BGSAVE fails, so (with save points set) it refuses every write with MISCONF.
 * Returns what heals it: a directory it can write, and a BGSAVE that succeeds.
 */
type Admin = ReturnType<Resources['admin']>;

async function breakDisk(admin: Admin, serverDir: string): Promise<() => Promise<void>> {
  const doomed = mkdtempSync(join(tmpdir(), 'rsp-disk-'));
  await admin.config('SET', 'dir', doomed);
  rmSync(doomed, { recursive: true });
  await admin.bgsave();
  await eventually(async () => /rdb_bgsave_in_progress:0[\s\S]*rdb_last_bgsave_status:err/.test(await admin.info('persistence')), 'a failed BGSAVE');
  return async () => {
    await admin.config('SET', 'dir', serverDir);
    await eventually(async () => {
      await admin.bgsave().catch(() => undefined); // refused while one is still running
      return /rdb_bgsave_in_progress:0[\s\S]*rdb_last_bgsave_status:ok/.test(await admin.info('persistence'));
    }, 'a BGSAVE that succeeds');
  };
}

const spilled = (acks: (SendAck | undefined)[]) => acks.filter((a): a is Extract<SendAck, { status: 'spilled' }> => a?.status === 'spilled');

describe('faults: the redis-server process', () => {
  it('SIGKILL mid-stream, restart from the AOF on the same port: the producer reconnects, every record lands exactly once', async () => {
    const first = await server(['--appendonly', 'yes', '--appendfsync', 'always']);
    const url = `redis://127.0.0.1:${first.port}`;
    const namespace = uniqueNamespace();
    const topic = 'kill';
    const shards = 4;
    const producer = res.producer({
      redis: url,
      namespace,
      defaultShards: shards,
      batchMaxRecords: 50,
      requestTimeoutMs: 300,
      retryBackoffMs: 20,
      retryBackoffMaxMs: 100,
      deliveryTimeoutMs: 5_000,
      compensation: { replay: { intervalMs: 100, leaseMs: 10_000 } },
    });
    const errors: ProducerError[] = [];
    producer.on('error', (e) => errors.push(e));
    const retries: RetryEvent[] = [];
    producer.on('retry', (e) => retries.push(e));
    let connects = 0;
    producer.on('connect', (e) => (connects = e.count));
    await producer.connect();

    let restarted: ServerProcess | undefined;
    const killAndRestart = async () => {
      first.process.kill('SIGKILL');
      await exited(first.process);
      // Same port, same dir: later `--dir`/`--appendonly` flags override startRedisServer's defaults
      // (redis-server applies its command-line directives in order), so the AOF in first.dir is loaded.
      restarted = await server(['--appendonly', 'yes', '--appendfsync', 'always', '--dir', first.dir], first.port);
    };

    const total = 3000;
    const callers = 50;
    const sent: Sent[] = Array.from({ length: total }, (_, i) => ({ value: `v${i}`, ack: undefined }));
    const failures: unknown[] = [];
    let settled = 0;
    let restart: Promise<void> | undefined;
    await Promise.all(
      Array.from({ length: callers }, async (_, c) => {
        for (let i = c; i < total; i += callers) {
          const s = sent[i]!;
          try {
            s.ack = await producer.send({ topic, key: `key-${i % 64}`, value: s.value });
          } catch (err) {
            failures.push(err);
          }
          if (++settled === total / 2) restart = killAndRestart();
        }
      }),
    );
    await restart;

    expect(failures).toEqual([]);
    expect(restarted).toBeDefined();
    const restartedDir = (await res.admin(url).config('GET', 'dir')) as string[];
    expect(restartedDir[1]).toBe(first.dir);
    expect(connects).toBeGreaterThanOrEqual(2); // reconnected on its own
    expect(retries.length).toBeGreaterThan(0); // batches waited through the outage
    expect(errors.filter((e) => e.code === 'ERR_PARK_FAILED')).toEqual([]);
    await drainJournal(producer);
    await expectNothingLostNothingDuplicated({ admin: res.admin(url), producer, namespace, topic, shards, sent });
  });

  it('Redis paused (SIGSTOP) longer than deliveryTimeoutMs: sends spill to the journal; after SIGCONT the buffered calls run and replay leaves every record once', async () => {
    const s = await server();
    const url = `redis://127.0.0.1:${s.port}`;
    const namespace = uniqueNamespace();
    const topic = 'pause';
    const shards = 4;
    const producer = res.producer({
      redis: url,
      namespace,
      defaultShards: shards,
      requestTimeoutMs: 200,
      deliveryTimeoutMs: 800,
      retryBackoffMs: 20,
      retryBackoffMaxMs: 100,
      // Off: so what reaches the streams after SIGCONT is the paused server's own backlog, not a replay.
      compensation: { replay: { enabled: false, leaseMs: 5_000 } },
    });
    producer.on('error', () => {}); // replay rounds and parking fail while paused; outcomes are checked below
    const spills: SpillEvent[] = [];
    producer.on('spill', (e) => spills.push(e));
    const replays: ReplayEvent[] = [];
    producer.on('replay', (e) => replays.push(e));
    const failures: unknown[] = [];

    const warm = sendAll(
      producer,
      topic,
      Array.from({ length: 40 }, (_, i) => `w${i}`),
      failures,
    );
    await warm.done; // topic checked, scripts loaded, connection ready
    expect(warm.sent.every((x) => x.ack?.status === 'delivered')).toBe(true);

    s.process.kill('SIGSTOP');
    const pausedAt = performance.now();
    // Wave A goes out at once (its script calls sit unanswered in the paused server's socket);
    // wave B gathers behind it and never gets a script call out.
    const a = sendAll(
      producer,
      topic,
      Array.from({ length: 100 }, (_, i) => `a${i}`),
      failures,
    );
    await new Promise((r) => setImmediate(r));
    const b = sendAll(
      producer,
      topic,
      Array.from({ length: 100 }, (_, i) => `b${i}`),
      failures,
    );
    await Promise.all([a.done, b.done]); // every send has its outcome while Redis is still paused
    const pausedFor = performance.now() - pausedAt;
    // A batch gives up once its next retry would pass its deadline (up to retryBackoffMaxMs early).
    expect(pausedFor).toBeGreaterThan(800 - 100);
    expect(failures).toEqual([]);
    const spilledA = spilled(a.sent.map((x) => x.ack));
    const spilledB = spilled(b.sent.map((x) => x.ack));
    expect(spilledA).toHaveLength(a.sent.length);
    expect(spilledB).toHaveLength(b.sent.length);
    // Redis does not answer, so the compensation store cannot take them: the journal does.
    for (const ack of [...spilledA, ...spilledB]) expect(ack.parkedIn).toBe('journal');
    // Wave A's script call was sent, its reply never came: possibly persisted. (Its connection was
    // replaced after requestTimeoutMs; later attempts found the new one not yet ready.)
    for (const ack of spilledA) {
      expect(ack.persisted).toBe('possibly');
      expect(['ERR_REQUEST_TIMEOUT', 'ERR_CONNECTION']).toContain(ack.error.code);
    }
    // Wave B waited for wave A's batch to be settled first: its script was never sent.
    for (const ack of spilledB) expect(ack.persisted).toBe('not');
    expect(spills.every((e) => e.parkedIn === 'journal')).toBe(true);

    s.process.kill('SIGCONT');
    const admin = res.admin(url);
    // The backlog runs: wave A's script calls land (with no replay running)…
    await eventually(
      async () => {
        const seen = await valuesInStreams(admin, namespace, topic, shards);
        return a.sent.every((x) => seen.get(x.value) === 1);
      },
      'wave A written by the calls buffered during the pause',
      5_000,
    );
    // …and wave B, whose call was never sent, is not there.
    const seen = await valuesInStreams(admin, namespace, topic, shards);
    expect(b.sent.filter((x) => seen.has(x.value))).toEqual([]);

    await drainJournal(producer);
    const sent = [...warm.sent, ...a.sent, ...b.sent];
    await expectNothingLostNothingDuplicated({ admin, producer, namespace, topic, shards, sent });
    // check-batch recognised wave A as landed (nothing written twice); wave B was written by replay.
    const outcome = new Map(replays.map((r) => [r.entryId, r.outcome]));
    expect(new Set(spilledA.map((x) => outcome.get(x.compensationId)))).toEqual(new Set(['already-delivered']));
    expect(new Set(spilledB.map((x) => outcome.get(x.compensationId)))).toEqual(new Set(['replayed']));
  });

  // Write refusals that end: Redis refuses before writing anything, so a send retries and lands once.
  const refusals: { title: string; serverArgs: string[]; reply: string; refuse: (admin: Admin, s: ServerProcess) => Promise<() => Promise<void>> }[] = [
    {
      title: 'the disk cannot be written (MISCONF)',
      // Save points make a failed BGSAVE stop writes (stop-writes-on-bgsave-error, on by default);
      // `dir` is a protected config, which the test moves.
      serverArgs: ['--save', '3600 1', '--enable-protected-configs', 'yes'],
      reply: 'MISCONF',
      refuse: (admin, s) => breakDisk(admin, s.dir),
    },
    {
      title: 'too few replicas for min-replicas-to-write (NOREPLICAS)',
      serverArgs: [],
      reply: 'NOREPLICAS',
      refuse: async (admin) => {
        await admin.config('SET', 'min-replicas-to-write', '1'); // this server has none
        return async () => void (await admin.config('SET', 'min-replicas-to-write', '0'));
      },
    },
  ];
  it.each(refusals.map((r) => [r.title, r] as const))('%s: sends retry instead of parking, and land exactly once when writes are allowed again', async (_title, { serverArgs, reply, refuse }) => {
    const s = await server(serverArgs);
    const url = `redis://127.0.0.1:${s.port}`;
    const namespace = uniqueNamespace();
    const topic = 'refused';
    const shards = 4;
    const producer = res.producer({ redis: url, namespace, defaultShards: shards, requestTimeoutMs: 500, deliveryTimeoutMs: 8_000, retryBackoffMs: 20, retryBackoffMaxMs: 200 });
    const retries: RetryEvent[] = [];
    producer.on('retry', (e) => retries.push(e));
    const spills: SpillEvent[] = [];
    producer.on('spill', (e) => spills.push(e));
    const failures: unknown[] = [];
    const admin = res.admin(url);

    const warm = sendAll(producer, topic, ['w0', 'w1', 'w2', 'w3'], failures);
    await warm.done; // topic metadata written while writes are allowed
    const allow = await refuse(admin, s);
    const probe = await admin.set('probe', 'x').then(
      () => 'written',
      (err: Error) => err.message,
    );
    expect(probe.split(' ')[0]).toBe(reply);

    const blocked = sendAll(
      producer,
      topic,
      Array.from({ length: 100 }, (_, i) => `b${i}`),
      failures,
    );
    await eventually(() => retries.some((r) => r.error.code === `ERR_REDIS_${reply}`), `a retry after ${reply}`);
    expect(blocked.sent.filter((x) => x.ack !== undefined)).toEqual([]);
    await allow();
    await blocked.done;

    expect(failures).toEqual([]);
    expect(spills).toEqual([]);
    expect(blocked.sent.map((x) => x.ack?.status)).toEqual(blocked.sent.map(() => 'delivered'));
    await expectNothingLostNothingDuplicated({ admin, producer, namespace, topic, shards, sent: [...warm.sent, ...blocked.sent] });
  });

  it('maxmemory reached (OOM): sends retry, then park in the journal (the store refuses writes too); once memory is freed replay delivers each exactly once', async () => {
    const s = await server(['--maxmemory', '2mb', '--maxmemory-policy', 'noeviction']);
    const url = `redis://127.0.0.1:${s.port}`;
    const namespace = uniqueNamespace();
    const topic = 'oom';
    const shards = 2;
    const producer = res.producer({
      redis: url,
      namespace,
      defaultShards: shards,
      requestTimeoutMs: 300,
      deliveryTimeoutMs: 600,
      retryBackoffMs: 20,
      retryBackoffMaxMs: 100,
      compensation: { replay: { intervalMs: 100, leaseMs: 5_000 } },
    });
    const errors: ProducerError[] = [];
    producer.on('error', (e) => errors.push(e));
    const retries: RetryEvent[] = [];
    producer.on('retry', (e) => retries.push(e));
    const failures: unknown[] = [];

    const warm = sendAll(
      producer,
      topic,
      Array.from({ length: 20 }, (_, i) => `w${i}`),
      failures,
    );
    await warm.done; // topic metadata written while there is room
    expect(warm.sent.every((x) => x.ack?.status === 'delivered')).toBe(true);

    // Fill: SETRANGE grows the filler by 1 MB per call with a tiny command (a big SET would be refused
    // for its own query buffer), so used memory ends well above maxmemory rather than hovering at it.
    const admin = res.admin(url);
    for (let mb = 1; ; mb++) {
      await admin.setrange('filler', mb * 1024 * 1024 - 1, 'x');
      const probe = await admin.set('probe', 'x').then(
        () => undefined,
        (err: Error) => err.message,
      );
      if (probe !== undefined) {
        expect(probe).toMatch(/^OOM /);
        break;
      }
      expect(mb).toBeLessThan(8);
    }

    const oom = sendAll(
      producer,
      topic,
      Array.from({ length: 200 }, (_, i) => `o${i}`),
      failures,
    );
    await oom.done;
    expect(failures).toEqual([]);
    const parked = spilled(oom.sent.map((x) => x.ack));
    expect(parked).toHaveLength(oom.sent.length);
    for (const ack of parked) {
      // Refused before any write, retried until deliveryTimeoutMs, then parked: the compensation
      // store lives in the same Redis and refuses the write too, so the journal took them.
      expect({ persisted: ack.persisted, code: ack.error.code, retriable: ack.error.retriable, parkedIn: ack.parkedIn }).toEqual({
        persisted: 'not',
        code: 'ERR_REDIS_OOM',
        retriable: true,
        parkedIn: 'journal',
      });
    }
    expect(retries.some((r) => r.error.code === 'ERR_REDIS_OOM')).toBe(true);
    expect(errors.filter((e) => e.code === 'ERR_PARK_FAILED')).toEqual([]);
    // Still out of memory: nothing of them in the streams, nothing parked in Redis.
    const during = await valuesInStreams(admin, namespace, topic, shards);
    expect(oom.sent.filter((x) => during.has(x.value))).toEqual([]);
    // (Read directly: producer.compensation.stats() runs in MULTI, which Redis refuses under OOM.)
    expect(await admin.zcard(compensationKeys(namespace, topic).zset)).toBe(0);

    await admin.del('filler', 'probe');
    await drainJournal(producer);
    await expectNothingLostNothingDuplicated({ admin, producer, namespace, topic, shards, sent: [...warm.sent, ...oom.sent] });
  });
});
