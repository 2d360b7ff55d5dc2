/**
 * Least-privilege ACL. docs/security.md gives one `ACL SETUSER` rule for a producer of namespace
 * N: the commands it needs and the key pattern `~{N:*` (every key the producer touches starts with
 * its namespace's hash tag). This file creates exactly that user on its own `redis-server`, runs the
 * whole producer under it (batching, topic metadata, idempotence through a lost reply, compensation
 * park / replay / dead letters / requeue / purge, trimming) and checks that Redis refused nothing
 * (`ACL LOG` stays empty), then shows the user cannot touch keys outside the namespace, and that
 * NOPERM, WRONGPASS and NOAUTH reach the caller as non-retriable typed errors without a retry storm.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DeliveryError, type Producer, type ProducerConfig, type SendAck, TopicConfigError } from '../../../src/index.js';
import { compensationKeys, compensationTopicsKey, producerStateKey, streamKey, topicMetaKey } from '../../../src/keys.js';
import { classifyRedisError } from '../../../src/redis-errors.js';
import { loadScripts } from '../../../src/scripts.js';
import { FaultProxy } from '../../support/fault-proxy.js';
import { Resources, uniqueNamespace } from '../../support/helpers.js';
import { expectNothingLostNothingDuplicated } from '../../support/invariant.js';
import { aclRule, CLUSTER_COMMANDS, PRODUCER_COMMANDS, versionAdditions } from '../../support/acl-rule.js';
import { startRedisServer, type ServerProcess } from '../../support/redis-server.js';

let server: ServerProcess;
let admin: Redis;
const res = new Resources();
const proxies: FaultProxy[] = [];

beforeAll(async () => {
  server = await startRedisServer();
  admin = new Redis(server.port, '127.0.0.1', { maxRetriesPerRequest: 1 });
});
afterEach(async () => {
  await res.closeAll();
  await Promise.all(proxies.splice(0).map((p) => p.stop()));
});
afterAll(async () => {
  admin?.disconnect();
  await server?.stop();
});

/** Creates the user docs/security.md describes for `namespace`; returns its name and password. */
async function createProducerUser(namespace: string): Promise<{ username: string; password: string }> {
  const username = `producer-${namespace}`;
  const password = `pw-${namespace}-${Math.random().toString(36).slice(2)}`;
  await admin.call('ACL', 'SETUSER', username, ...aclRule(namespace, password, await versionAdditions(admin)));
  return { username, password };
}

/** `ACL LOG` entries (denials and failed logins) as objects. */
async function aclLog(): Promise<Record<string, string | number>[]> {
  const raw = (await admin.call('ACL', 'LOG')) as unknown[];
  return raw.map((entry) => {
    if (!Array.isArray(entry)) return entry as Record<string, string | number>;
    const obj: Record<string, string | number> = {};
    for (let i = 0; i < entry.length; i += 2) obj[String(entry[i])] = entry[i + 1] as string | number;
    return obj;
  });
}

async function dryRun(username: string, ...command: string[]): Promise<string> {
  return String(await admin.call('ACL', 'DRYRUN', username, ...command));
}

function userProducer(user: { username: string; password: string }, port: number, config: ProducerConfig): Producer {
  const producer = res.producer({ redis: { host: '127.0.0.1', port, username: user.username, password: user.password }, ...config });
  return producer;
}

describe('the documented rule', () => {
  it('is the one in docs/security.md, and covers every command the Lua scripts run', () => {
    const readme = readFileSync(new URL('../../../docs/security.md', import.meta.url), 'utf8');
    expect(readme).toContain(`ACL SETUSER producer ${aclRule('app', 'change-me').join(' ')}`);
    for (const c of CLUSTER_COMMANDS) expect(readme).toContain(`+${c}`);
    const luaDir = new URL('../../../lua/', import.meta.url);
    const used = new Set<string>();
    const files = [...readdirSync(luaDir).filter((f) => f.endsWith('.lua')), ...readdirSync(new URL('include/', luaDir)).map((f) => `include/${f}`)];
    for (const file of files) {
      for (const m of readFileSync(new URL(file, luaDir), 'utf8').matchAll(/redis\.p?call\(\s*['"]([A-Za-z]+)['"]/g)) used.add(m[1]!.toLowerCase());
    }
    expect(used.size).toBeGreaterThan(5);
    expect(
      [...used].filter((c) => !PRODUCER_COMMANDS.includes(c)),
      'commands used in lua/ but missing from the ACL rule',
    ).toEqual([]);
  });

  it('`~{N:*` matches every key family of namespace N (braces are literal in ACL globs) and nothing else', async () => {
    const ns = uniqueNamespace();
    const { username } = await createProducerUser(ns);
    const stream = streamKey(ns, 'orders', 3);
    const store = compensationKeys(ns, 'orders');
    const own = [
      stream,
      producerStateKey(stream, 'p1'),
      `${producerStateKey(stream, 'p1')}:landed`,
      topicMetaKey(ns, 'orders'),
      store.zset,
      store.data,
      store.dead,
      store.lease,
      compensationTopicsKey(ns),
    ];
    for (const key of own) expect(await dryRun(username, 'get', key), key).toBe('OK');
    const foreign = [
      streamKey('other', 'orders', 3),
      `{${ns}x:orders:3}`, // a namespace that merely starts with N
      `{${ns.slice(0, -1)}:orders:3}`, // a prefix of N
      `${ns}:orders:3`, // no hash tag
      `x{${ns}:orders:3}`,
      `{${ns.toUpperCase()}:orders:3}`, // patterns are case-sensitive
      `{${ns}}:orders`,
    ];
    for (const key of foreign) expect(await dryRun(username, 'get', key), key).toMatch(/no permissions to access/);
  });

  it('a namespace with glob characters needs them escaped in the pattern', async () => {
    const ns = 'ns*1';
    await admin.call('ACL', 'SETUSER', 'glob-escaped', ...aclRule(ns, 'x'));
    await admin.call('ACL', 'SETUSER', 'glob-raw', 'reset', 'on', '>x', `~{${ns}:*`, '+get');
    expect(await dryRun('glob-escaped', 'get', '{ns*1:t:0}')).toBe('OK');
    expect(await dryRun('glob-escaped', 'get', '{ns-other-1:t:0}')).toMatch(/no permissions to access/);
    // Unescaped, `*` in the namespace lets the user into other namespaces.
    expect(await dryRun('glob-raw', 'get', '{ns-other-1:t:0}')).toBe('OK');
  });
});

describe('the whole producer under exactly that user', () => {
  it('batching, topic metadata, idempotence, trimming, compensation park + replay + dead letters: Redis refuses nothing', async () => {
    const ns = uniqueNamespace();
    const user = await createProducerUser(ns);
    const proxy = await FaultProxy.start({ host: '127.0.0.1', port: server.port });
    proxies.push(proxy);
    await admin.call('ACL', 'LOG', 'RESET');

    const producer = userProducer(user, proxy.port, {
      namespace: ns,
      topics: { orders: { shards: 4, trim: { strategy: 'maxlen', threshold: 100_000 } }, u: { shards: 1 } },
      requestTimeoutMs: 500,
      retryBackoffMs: 20,
      retryBackoffMaxMs: 50,
      compensation: { maxAttempts: 1, replay: { enabled: false, backoffMs: 10, backoffMaxMs: 10 } },
    });
    const batchSizes: number[] = [];
    const retries: string[] = [];
    producer.on('delivery', (e) => batchSizes.push(e.ids.length));
    producer.on('retry', (e) => retries.push(e.error.code));
    producer.on('error', () => {});
    await producer.connect();

    // Batching: awaited sends and fire-and-forget records share script calls.
    const sent: { value: string; ack: SendAck | undefined }[] = [];
    const awaited = Array.from({ length: 400 }, (_, i) => ({ value: `a${i}`, ack: undefined as SendAck | undefined }));
    sent.push(...awaited);
    await Promise.all(awaited.map((r, i) => producer.send({ topic: 'orders', key: `k${i % 13}`, value: r.value, headers: { source: 'acl-test' } }).then((ack) => void (r.ack = ack))));
    for (let i = 0; i < 400; i++) {
      producer.produce({ topic: 'orders', value: `f${i}` });
      sent.push({ value: `f${i}`, ack: undefined });
    }
    await producer.flush();
    expect(Math.max(...batchSizes)).toBeGreaterThan(1);

    // Topic metadata: recorded on first use; another producer (same user) disagreeing is refused.
    expect(await admin.hget(topicMetaKey(ns, 'orders'), 'shards')).toBe('4');
    const other = userProducer(user, server.port, { namespace: ns, topics: { orders: { shards: 8 } } });
    await expect(other.send({ topic: 'orders', value: 'x' })).rejects.toBeInstanceOf(TopicConfigError);

    // Idempotence: a reply lost after the script ran; the retry returns the original ids.
    const lost = proxy.loseNextReply('evalsha');
    const again = Array.from({ length: 20 }, (_, i) => ({ value: `l${i}`, ack: undefined as SendAck | undefined }));
    sent.push(...again);
    await Promise.all(again.map((r) => producer.send({ topic: 'orders', value: r.value }).then((ack) => void (r.ack = ack))));
    await lost;
    expect(retries.length).toBeGreaterThan(0);
    expect(again.every((r) => r.ack?.status === 'delivered')).toBe(true);
    await expectNothingLostNothingDuplicated({ admin, producer, namespace: ns, topic: 'orders', shards: 4, sent });

    // check-batch (settling a lost reply) under the same user: found, fenced, and a recorded sequence.
    const asUser = new Redis(server.port, '127.0.0.1', { username: user.username, password: user.password, maxRetriesPerRequest: 1 });
    try {
      const scripts = loadScripts(asUser);
      const stream = streamKey(ns, 'orders', 0);
      const state = (await admin.get(producerStateKey(stream, producer.sessionId)))!;
      const lastSeq = Number(state.split(' ')[0]);
      expect(await scripts.checkBatch(producerStateKey(stream, producer.sessionId), lastSeq, 60_000)).toBe(true);
      expect(await scripts.checkBatch(producerStateKey(stream, 'probe'), 1, 60_000)).toBe(false);
    } finally {
      asUser.disconnect();
    }

    // Compensation: a shard that refuses writes (WRONGTYPE) parks the record in the Redis store.
    await admin.set(streamKey(ns, 'u', 0), 'not a stream');
    const spilled = await producer.send({ topic: 'u', value: 'parked' });
    expect(spilled).toMatchObject({ status: 'spilled', parkedIn: 'redis' });
    expect(await producer.compensation.topics()).toContain('u');
    expect(await producer.compensation.stats('u')).toMatchObject({ pending: 1, dead: 0 });
    expect(await producer.compensation.list('u')).toHaveLength(1);
    // Replay fails: with maxAttempts 1 it becomes a dead letter.
    expect(await producer.compensation.replayNow()).toMatchObject({ deadLettered: 1 });
    expect(await producer.compensation.list('u', { dead: true })).toHaveLength(1);
    // Fixed: requeue the dead letter and replay it into the stream.
    await admin.del(streamKey(ns, 'u', 0));
    expect(await producer.compensation.requeueDead('u')).toBe(1);
    expect(await producer.compensation.replayNow()).toMatchObject({ replayed: 1 });
    expect(await admin.xlen(streamKey(ns, 'u', 0))).toBe(1);
    // Purge.
    await admin.del(streamKey(ns, 'u', 0));
    await admin.set(streamKey(ns, 'u', 0), 'not a stream');
    expect(await producer.send({ topic: 'u', value: 'purged' })).toMatchObject({ status: 'spilled' });
    expect(await producer.compensation.purge('u')).toBe(1);
    expect(await producer.compensation.stats('u')).toMatchObject({ pending: 0, dead: 0 });
    expect(await producer.compensation.journaled()).toBe(0);
    await admin.del(streamKey(ns, 'u', 0));

    await producer.close();
    await other.close();
    // Nothing the producer did was refused: no denied command, key or login.
    expect(await aclLog()).toEqual([]);
  });
});

describe('outside its namespace', () => {
  it('a plain client with that user gets NOPERM, classified non-retriable', async () => {
    const ns = uniqueNamespace();
    const user = await createProducerUser(ns);
    const client = new Redis(server.port, '127.0.0.1', { username: user.username, password: user.password, maxRetriesPerRequest: 1 });
    const foreign = streamKey('other', 't', 0);
    const own = streamKey(ns, 't', 0);
    try {
      await client.xadd(own, '*', 'payload', 'mine'); // allowed: its own namespace
      const refused: [string, Promise<unknown>][] = [
        ['GET', client.get(foreign)],
        ['XADD', client.xadd(foreign, '*', 'payload', 'x')],
        ['XRANGE', client.xrange(foreign, '-', '+')],
        ['HGET', client.hget(`{other:t}:meta`, 'shards')],
        ['ZADD', client.zadd('{other:compensation:t}:zset', 1, 'id')],
        ['EVAL with a foreign key', client.eval("return redis.call('GET', KEYS[1])", 1, foreign)],
        // Not in the rule at all, even on its own keys:
        ['DEL', client.del(own)],
        ['KEYS', client.keys('*')],
        ['SCAN', client.scan(0)],
        ['FLUSHALL', client.flushall()],
        ['CONFIG GET', client.config('GET', 'requirepass')],
        ['SCRIPT FLUSH', client.script('FLUSH')],
      ];
      for (const [what, call] of refused) {
        const err = await call.then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err, what).toBeInstanceOf(Error);
        expect((err as Error).message, what).toMatch(/^NOPERM/);
        expect(classifyRedisError(err), what).toMatchObject({ code: 'ERR_REDIS_NOPERM', retriable: false, persisted: 'not' });
      }
      // A script may not reach past its declared keys either (Lua runs under the caller's ACL).
      const sneaky = await client.eval("return redis.call('GET', '{other:t:0}')", 1, own).then(
        () => undefined,
        (e: unknown) => e,
      );
      // Redis 7.0: "…can't access at least one of the keys…"; Valkey 8: "ERR ACL failure in script: No permissions to access a key".
      expect((sneaky as Error).message).toMatch(/can't access at least one of the keys|NOPERM|No permissions to access a key/);
      expect(classifyRedisError(sneaky).retriable).toBe(false);
      expect(await admin.xlen(own)).toBe(1);
    } finally {
      client.disconnect();
    }
  });

  it('a producer of another namespace under that user: a non-retriable NOPERM DeliveryError at once, no retries', async () => {
    const user = await createProducerUser(uniqueNamespace());
    const producer = userProducer(user, server.port, { namespace: 'other', requestTimeoutMs: 1_000, compensation: { enabled: false } });
    const retries: unknown[] = [];
    producer.on('retry', (e) => retries.push(e));
    producer.on('error', () => {});
    const started = performance.now();
    const err = await producer.send({ topic: 't', value: 'v' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DeliveryError);
    expect(err).toMatchObject({ code: 'ERR_REDIS_NOPERM', retriable: false, persisted: 'not', batch: { attempts: 1 } });
    expect((err as Error).message).toMatch(/NOPERM/);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(retries).toEqual([]);
  });

  it('with compensation on, the record is kept (local journal) and Redis sees one refused call per replay round, not a storm', async () => {
    const user = await createProducerUser(uniqueNamespace());
    await admin.call('ACL', 'LOG', 'RESET');
    const intervalMs = 100;
    const producer = userProducer(user, server.port, { namespace: 'other', requestTimeoutMs: 1_000, compensation: { replay: { intervalMs } } });
    producer.on('error', () => {});
    const started = performance.now();
    const ack = await producer.send({ topic: 't', value: 'v' });
    expect(ack).toMatchObject({ status: 'spilled', parkedIn: 'journal', error: { code: 'ERR_REDIS_NOPERM', retriable: false } });
    await new Promise((r) => setTimeout(r, 1_000));
    const elapsed = performance.now() - started;
    await producer.close({ timeoutMs: 200 });
    const denied = (await aclLog()).filter((e) => e.username === user.username).reduce((n, e) => n + Number(e.count), 0);
    // The send: the topic check and the park (Redis refused both, so the record went to the journal).
    // Then each replay round tries once to move the journal into Redis: elapsed / intervalMs rounds.
    expect(denied).toBeGreaterThanOrEqual(2);
    expect(denied).toBeLessThanOrEqual(2 + Math.ceil(elapsed / intervalMs) + 2);
  });
});

describe('NOAUTH and WRONGPASS', () => {
  /** Connects, collects the error events of ~1 s, closes. */
  async function failedLogin(config: ProducerConfig): Promise<{ rejection: unknown; errors: DeliveryError[] }> {
    const producer = res.producer({ requestTimeoutMs: 1_000, compensation: { replay: { enabled: false } }, ...config });
    const errors: DeliveryError[] = [];
    producer.on('error', (e) => errors.push(e as DeliveryError));
    const rejection = await producer.connect().then(
      () => undefined,
      (e: unknown) => e,
    );
    await producer.close({ timeoutMs: 100 });
    return { rejection, errors };
  }

  it('a wrong password: WRONGPASS as a non-retriable typed error event, bounded, with no password in its message', async () => {
    const user = await createProducerUser(uniqueNamespace());
    const wrong = 'Wr0ng-Passw0rd';
    for (const redis of [{ host: '127.0.0.1', port: server.port, username: user.username, password: wrong }, `redis://${user.username}:${wrong}@127.0.0.1:${server.port}`]) {
      const { rejection, errors } = await failedLogin({ redis });
      expect(rejection).toBeInstanceOf(DeliveryError);
      expect(errors.length).toBeGreaterThan(0);
      expect(errors.length).toBeLessThanOrEqual(6); // one per reconnect attempt, with ioredis' backoff
      for (const e of errors) {
        expect(e).toMatchObject({ code: 'ERR_REDIS_WRONGPASS', retriable: false });
        expect(e.message).not.toContain(wrong);
      }
      expect((rejection as Error).message).not.toContain(wrong);
    }
  });

  it('a disabled user is refused the same way', async () => {
    const user = await createProducerUser(uniqueNamespace());
    await admin.call('ACL', 'SETUSER', user.username, 'off');
    const { errors } = await failedLogin({ redis: { host: '127.0.0.1', port: server.port, username: user.username, password: user.password } });
    expect(errors[0]).toMatchObject({ code: 'ERR_REDIS_WRONGPASS', retriable: false });
  });

  it('no credentials where the default user is off: NOAUTH as a non-retriable typed error event', async () => {
    await admin.call('ACL', 'SETUSER', 'default', 'off'); // this admin connection stays authenticated
    try {
      const { rejection, errors } = await failedLogin({ redis: `redis://127.0.0.1:${server.port}` });
      expect(rejection).toBeInstanceOf(DeliveryError);
      expect(errors[0]).toMatchObject({ code: 'ERR_REDIS_NOAUTH', retriable: false });
    } finally {
      await admin.call('ACL', 'SETUSER', 'default', 'on');
    }
  });

  // ioredis attaches the failed handshake command to its ReplyError
  // (`command: { name: 'hello', args: ['3', 'AUTH', user, password] }`) and the producer's `error`
  // event carries that error as `cause`: the producer masks the password before emitting.
  it('the error event, printed whole (util.inspect, as console.error does), shows no password', async () => {
    const user = await createProducerUser(uniqueNamespace());
    const wrong = 'Wr0ng-Passw0rd';
    const { errors } = await failedLogin({ redis: { host: '127.0.0.1', port: server.port, username: user.username, password: wrong } });
    expect(errors.length).toBeGreaterThan(0);
    for (const e of errors) expect(inspect(e, { depth: 10 })).not.toContain(wrong);
  });
});
