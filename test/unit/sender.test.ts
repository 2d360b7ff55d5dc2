import { gunzipSync } from 'node:zlib';
/**
 * The sender's delivery rules, one by one, against a fake script layer and fake timers: no Redis.
 * (The same rules against a real server: test/integration/standalone/exactly-once.test.ts.)
 */
import { EventEmitter } from 'node:events';
import type { Cluster, Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { bufferedRecord } from '../../src/batch-codec.js';
import { BufferGate } from '../../src/buffer-gate.js';
import type { CompensationEntry } from '../../src/compensation/entry.js';
import { resolveConfig, type ProducerConfig } from '../../src/config.js';
import { type ProducerError, RequestTimeoutError } from '../../src/errors.js';
import { StickyShardChooser } from '../../src/partitioner.js';
import type { PublishReply, Scripts } from '../../src/scripts.js';
import type { SendAck } from '../../src/acks.js';
import { Sender } from '../../src/sender.js';
import type { ShardState } from '../../src/shard-state.js';
import { TopicRegistry } from '../../src/topics.js';

interface Call {
  stream: string;
  seq: number | undefined;
  count: number;
  args: (string | Buffer | number)[];
  settle(outcome: 'ok' | Error): void;
}

/** A script layer whose calls the test settles (or never settles). */
class FakeScripts implements Scripts {
  readonly calls: Call[] = [];
  readonly checks: { stateKey: string; seq: number }[] = [];
  landed = false;
  publishBatch(stream: string, _trim: unknown, idem: { seq: number } | undefined, count: number, args: (string | Buffer | number)[]): Promise<PublishReply> {
    return new Promise((resolve, reject) => {
      this.calls.push({
        stream,
        seq: idem?.seq,
        count,
        args,
        settle: (outcome) => (outcome === 'ok' ? resolve(reply(count)) : reject(outcome)),
      });
    });
  }
  checkBatch(stateKey: string, seq: number): Promise<boolean> {
    this.checks.push({ stateKey, seq });
    return Promise.resolve(this.landed);
  }
  /** Topic checks that never answer, first (as ioredis can leave a call after a reconnect). */
  unansweredChecks = 0;
  ensureCalls = 0;
  ensureTopic(_metaKey: string, shards: number): Promise<number> {
    this.ensureCalls++;
    if (this.unansweredChecks-- > 0) return new Promise(() => {});
    return Promise.resolve(shards);
  }
}

function reply(count: number): PublishReply {
  return { written: true, count, idAt: (i) => `1-${i}`, ids: () => Array.from({ length: count }, (_, i) => `1-${i}`) };
}

/** A client that is ready, or not, as the test says. */
class FakeClient extends EventEmitter {
  status = 'ready';
}

function setup(options: ProducerConfig = {}, parkDelayMs = 0) {
  const config = resolveConfig({ lingerMs: 0, deliveryTimeoutMs: 2_000, requestTimeoutMs: 200, retryBackoffMs: 10, retryBackoffMaxMs: 10, defaultShards: 2, ...options });
  const scripts = new FakeScripts();
  const client = new FakeClient();
  const topics = new TopicRegistry<ShardState>(config);
  const parked: CompensationEntry[][] = [];
  const errors: ProducerError[] = [];
  const released: string[] = [];
  const sender = new Sender({
    config,
    sessionId: 'sess',
    client: client as unknown as Redis | Cluster,
    scripts,
    gate: new BufferGate(config.bufferMaxBytes),
    sticky: new StickyShardChooser(),
    events: { listening: () => true, emit: (event, ...args) => void (event === 'error' && errors.push(args[0] as ProducerError)) },
    now: () => Date.now(),
    wallClock: () => Date.now(),
    random: () => 0.5,
    topics: () => topics.all(),
    park: async (_topic, entries) => {
      parked.push(entries);
      if (parkDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, parkDelayMs));
      return 'redis';
    },
    idle: {
      shardReleased: (topic, shard) => released.push(`${topic.name}/${shard}`),
      topicReleased: (topic) => {
        topics.release(topic);
        released.push(topic.name);
      },
    },
  });
  senders.push(sender);
  const send = (shard: number, value: string): Promise<SendAck> => new Promise((resolve, reject) => sender.append(topics.get('t'), shard, bufferedRecord(['payload', value]), 10, { resolve, reject }));
  return { config, scripts, client, sender, send, parked, errors, topics, released };
}

const lostReply = () => new RequestTimeoutError('publish-batch', 200);

const senders: Sender[] = [];
beforeEach(() => vi.useFakeTimers());
afterEach(() => {
  for (const sender of senders.splice(0)) sender.stop();
  vi.useRealTimers();
});

describe('Sender', () => {
  it('retries a batch whose reply was lost with the same sequence', async () => {
    const { scripts, send } = setup();
    const ack = send(0, 'a');
    await vi.advanceTimersByTimeAsync(0);
    scripts.calls[0]!.settle(lostReply());
    await vi.advanceTimersByTimeAsync(20);
    scripts.calls[1]!.settle('ok');
    await expect(ack).resolves.toMatchObject({ status: 'delivered' });
    expect(scripts.calls.map((c) => c.seq)).toEqual([1, 1]);
  });

  it('keeps "possibly persisted" once an attempt was sent, although later attempts fail before sending', async () => {
    const { scripts, client, send, parked } = setup();
    const ack = send(0, 'a');
    await vi.advanceTimersByTimeAsync(0);
    scripts.calls[0]!.settle(lostReply());
    client.status = 'reconnecting'; // every later attempt waits for a connection that never comes
    await vi.advanceTimersByTimeAsync(2_500);
    expect(scripts.calls).toHaveLength(1);
    await expect(ack).resolves.toMatchObject({ status: 'spilled', persisted: 'possibly' });
    expect(parked[0]!.map((e) => e.persisted)).toEqual(['possibly']);
  });

  it('settles a lost batch (check-batch) before the shard sends its next one', async () => {
    const { scripts, client, send } = setup({ deliveryTimeoutMs: 500 });
    const first = send(0, 'a');
    await vi.advanceTimersByTimeAsync(0);
    scripts.calls[0]!.settle(lostReply());
    client.status = 'reconnecting';
    await vi.advanceTimersByTimeAsync(600);
    await expect(first).resolves.toMatchObject({ status: 'spilled', persisted: 'possibly' });
    client.status = 'ready';
    const second = send(0, 'b');
    await vi.advanceTimersByTimeAsync(0);
    expect(scripts.checks).toEqual([{ stateKey: expect.stringContaining(':p:sess'), seq: 1 }]);
    scripts.calls[1]!.settle('ok');
    await expect(second).resolves.toMatchObject({ status: 'delivered' });
    expect(scripts.calls[1]!.seq).toBe(2);
  });

  it('gives up by the batch deadline even when a call never answers', async () => {
    const { send } = setup({ deliveryTimeoutMs: 1_000, requestTimeoutMs: 800 });
    let settledAt = -1;
    const started = Date.now();
    void send(0, 'a').then(() => (settledAt = Date.now() - started));
    await vi.advanceTimersByTimeAsync(1_000);
    expect(settledAt).toBeGreaterThanOrEqual(0);
    expect(settledAt).toBeLessThanOrEqual(1_000);
  });

  it('parks a batch that expired waiting for its turn without sending it', async () => {
    const { scripts, send, parked } = setup({ maxInFlight: 1, deliveryTimeoutMs: 1_000, requestTimeoutMs: 1_000 });
    void send(0, 'a'); // its call never answers and holds the one slot until its deadline
    const waiting = send(1, 'b');
    await vi.advanceTimersByTimeAsync(1_100);
    await expect(waiting).resolves.toMatchObject({ status: 'spilled', persisted: 'not', error: { code: 'ERR_DELIVERY_TIMEOUT' } });
    expect(scripts.calls.map((c) => c.stream)).toEqual([expect.stringMatching(/:0}$/)]);
    expect(parked.flat().map((e) => e.fields[1])).toContain('b');
  });

  it('keeps one batch in flight per shard, in sequence order', async () => {
    const { scripts, send } = setup({ batchMaxRecords: 1 });
    const acks = ['a', 'b', 'c'].map((v) => send(0, v));
    await vi.advanceTimersByTimeAsync(0);
    for (let i = 0; i < 3; i++) {
      expect(scripts.calls).toHaveLength(i + 1); // the next one only after this one answered
      scripts.calls[i]!.settle('ok');
      await vi.advanceTimersByTimeAsync(0);
    }
    await Promise.all(acks);
    expect(scripts.calls.map((c) => c.seq)).toEqual([1, 2, 3]);
  });

  it("parks a shard's batches in their order, also when the sweep parks some while the shard sends the next", async () => {
    // One slot, held by shard 1 until its deadline; shard 0's batches expire meanwhile and are swept
    // while a later one of theirs gets the slot and gives up too. Parks are slow.
    const { send, parked } = setup({ maxInFlight: 1, batchMaxRecords: 1, deliveryTimeoutMs: 2_000, requestTimeoutMs: 2_000 }, 300);
    void send(1, 'x');
    await vi.advanceTimersByTimeAsync(100);
    for (const v of ['b2', 'b3', 'b4']) void send(0, v);
    await vi.advanceTimersByTimeAsync(500);
    void send(0, 'b5');
    await vi.advanceTimersByTimeAsync(5_000);
    const shard0 = parked.flat().filter((e) => e.shard === 0);
    expect(shard0.map((e) => e.fields[1])).toEqual(['b2', 'b3', 'b4', 'b5']);
    const parkedAt = shard0.map((e) => e.parkedAt);
    expect(parkedAt).toEqual([...parkedAt].sort((a, b) => a - b));
  });

  it('asks for the topic check again when one call never answers', async () => {
    const { scripts, send } = setup();
    scripts.unansweredChecks = 1;
    const ack = send(0, 'a');
    await vi.advanceTimersByTimeAsync(250); // past the request deadline of the first check
    expect(scripts.ensureCalls).toBe(2);
    scripts.calls[0]!.settle('ok');
    await expect(ack).resolves.toMatchObject({ status: 'delivered' });
  });

  it('compresses a batch once, before its first call: a retry and the parked copy carry the same bytes', async () => {
    const { scripts, send, parked } = setup({ deliveryTimeoutMs: 500, compression: { codec: 'gzip', minBytes: 100 } });
    const value = JSON.stringify(Array.from({ length: 20 }, (_, i) => ({ i, name: `item ${i}` })));
    const ack = send(0, value);
    await vi.advanceTimersByTimeAsync(0);
    const first = scripts.calls[0]!.args;
    // Whatever the layout: the compressed value and the field naming its codec are in the arguments.
    const body = first.find((arg): arg is Buffer => Buffer.isBuffer(arg))!;
    expect(gunzipSync(body).toString()).toBe(value);
    expect(first).toContain('encoding');
    expect(first).toContain('gzip');
    scripts.calls[0]!.settle(lostReply());
    await vi.advanceTimersByTimeAsync(20);
    expect(scripts.calls[1]!.args).toBe(first);
    scripts.calls[1]!.settle(new Error('WRONGTYPE Operation against a key holding the wrong kind of value'));
    await expect(ack).resolves.toMatchObject({ status: 'spilled' });
    expect(parked[0]!.map((e) => e.fields)).toEqual([['payload', body, 'encoding', 'gzip']]);
  });
});

describe('Sender: idle state', () => {
  it('forgets a shard after metadataMaxIdleMs with nothing pending, then its topic; a later batch continues the session sequence', async () => {
    const { scripts, send, topics, released } = setup({ metadataMaxIdleMs: 5_000 });
    const first = send(0, 'a');
    await vi.advanceTimersByTimeAsync(0);
    scripts.calls[0]!.settle('ok');
    await first;
    await vi.advanceTimersByTimeAsync(4_000);
    expect(topics.get('t').shardStates[0]).toBeDefined();
    expect(released).toEqual([]);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(released).toEqual(['t/0']);
    expect([...topics.all()].map((t) => t.name)).toEqual(['t']); // the topic waits its own idle time
    await vi.advanceTimersByTimeAsync(6_000);
    expect(released).toEqual(['t/0', 't']);
    expect([...topics.all()]).toEqual([]);
    // The shard's idempotence state in Redis still says sequence 1: the next batch must be above it.
    const second = send(0, 'b');
    await vi.advanceTimersByTimeAsync(0);
    scripts.calls[1]!.settle('ok');
    await expect(second).resolves.toMatchObject({ status: 'delivered' });
    expect(scripts.calls.map((c) => c.seq)).toEqual([1, 2]);
  });

  it('keeps a shard while records use it, and while a batch is in flight, unsettled or being parked', async () => {
    const { scripts, send, topics, released, parked } = setup({ metadataMaxIdleMs: 1_000, deliveryTimeoutMs: 60_000, requestTimeoutMs: 20_000 }, 30_000);
    // In use: a record every 500 ms for 5 s.
    for (let i = 0; i < 10; i++) {
      const ack = send(0, `a${i}`);
      await vi.advanceTimersByTimeAsync(0);
      scripts.calls.at(-1)!.settle('ok');
      await ack;
      await vi.advanceTimersByTimeAsync(500);
    }
    expect(released).toEqual([]);
    // In flight for 10 s, then refused (nothing written) and parked, which takes 30 s.
    const ack = send(1, 'b');
    await vi.advanceTimersByTimeAsync(10_000);
    expect(released).toEqual(['t/0']);
    expect(topics.get('t').shardStates[1]).toBeDefined();
    scripts.calls.at(-1)!.settle(Object.assign(new Error('WRONGTYPE Operation against a key holding the wrong kind of value'), { name: 'ReplyError' }));
    await vi.advanceTimersByTimeAsync(10_000);
    expect(parked).toHaveLength(1);
    expect(topics.get('t').shardStates[1]).toBeDefined(); // still parking
    await vi.advanceTimersByTimeAsync(25_000);
    await expect(ack).resolves.toMatchObject({ status: 'spilled', persisted: 'not' });
    expect(scripts.calls).toHaveLength(11); // one attempt
    await vi.advanceTimersByTimeAsync(2_000);
    expect(released.slice(0, 2)).toEqual(['t/0', 't/1']);
  });

  it('keeps a shard whose last batch lost its reply until its next batch settled that one', async () => {
    const { scripts, send, topics, released } = setup({ metadataMaxIdleMs: 1_000, deliveryTimeoutMs: 1_000 });
    const ack = send(0, 'a');
    await vi.advanceTimersByTimeAsync(0);
    scripts.calls[0]!.settle(lostReply());
    await vi.advanceTimersByTimeAsync(1_500);
    await expect(ack).resolves.toMatchObject({ status: 'spilled', persisted: 'possibly' });
    await vi.advanceTimersByTimeAsync(10_000);
    // Forgetting it would skip the check that tells whether the lost batch landed.
    expect(released).toEqual([]);
    const next = send(0, 'b');
    await vi.advanceTimersByTimeAsync(0);
    expect(scripts.checks).toEqual([{ stateKey: topics.get('t').shardStates[0]!.stateKey, seq: 1 }]);
    scripts.calls.at(-1)!.settle('ok');
    await next;
    await vi.advanceTimersByTimeAsync(3_000);
    expect(released[0]).toBe('t/0');
  });
});
