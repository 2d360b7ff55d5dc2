import { createServer, type AddressInfo } from 'node:net';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { openConnection, whenReady } from '../../src/connection.js';
import { DeliveryError } from '../../src/errors.js';
import { Producer } from '../../src/index.js';
import { GuardedConnector, withGuardedConnector } from '../../src/guarded-connector.js';

// The producer owns retries: the clients it creates must never replay a command on their own.
// Checked on the options, without a server (the clients connect lazily).
describe('openConnection', () => {
  it('creates a standalone client that never resends or queues commands', () => {
    const { client, owned } = openConnection('redis://127.0.0.1:1');
    expect(owned).toBe(true);
    expect(client).toBeInstanceOf(Redis);
    expect((client as Redis).options).toMatchObject({ lazyConnect: true, enableOfflineQueue: false, autoResendUnfulfilledCommands: false, maxRetriesPerRequest: 0 });
    client.disconnect();
  });

  it('creates a cluster client that does not re-send a command whose connection closed', () => {
    const { client } = openConnection({ cluster: [{ host: '127.0.0.1', port: 1 }], options: { retryDelayOnFailover: 500, scaleReads: 'master' } });
    expect(client).toBeInstanceOf(Cluster);
    const options = (client as Cluster).options;
    expect(options).toMatchObject({ lazyConnect: true, enableOfflineQueue: false, retryDelayOnFailover: 0, scaleReads: 'master' });
    expect(options.redisOptions).toMatchObject({ autoResendUnfulfilledCommands: false, maxRetriesPerRequest: 0 });
    client.disconnect();
  });

  it('leaves a client the caller owns as it is', () => {
    const mine = new Redis({ lazyConnect: true });
    expect(openConnection(mine)).toEqual({ client: mine, owned: false });
    mine.disconnect();
  });
});

describe('the guarded connector (a second socket error must not crash the process)', () => {
  it('is used by every client the producer creates: URL, options and cluster nodes', () => {
    const url = openConnection('redis://127.0.0.1:1').client as Redis;
    const options = openConnection({ host: '127.0.0.1', port: 1 }).client as Redis;
    const cluster = openConnection({ cluster: [{ host: '127.0.0.1', port: 1 }] }).client as Cluster;
    expect(url.options.Connector).toBe(GuardedConnector);
    expect(options.options.Connector).toBe(GuardedConnector);
    expect(cluster.options.redisOptions?.Connector).toBe(GuardedConnector);
    for (const c of [url, options, cluster]) c.disconnect();
  });

  it("leaves a caller's own connector and Sentinel setups alone", () => {
    const Own = class extends GuardedConnector {} as unknown as RedisOptions['Connector'];
    expect(withGuardedConnector<RedisOptions>({ Connector: Own }).Connector).toBe(Own);
    expect(withGuardedConnector<RedisOptions>({ sentinels: [{ host: '127.0.0.1', port: 1 }], name: 'm' }).Connector).toBeUndefined();
    expect(withGuardedConnector<RedisOptions>({ port: 1 }).Connector).toBe(GuardedConnector);
  });
});

describe('connect() to a Redis that cannot be reached', () => {
  // Nothing listens on port 1, and `.invalid` never resolves (RFC 6761): the OS answers at once.
  it.each([
    ['refused', 'redis://127.0.0.1:1', 'ECONNREFUSED'],
    ['unresolvable', 'redis://no-such-host.invalid:6379', 'ENOTFOUND'],
  ])('%s: rejects at once with ERR_CONNECTION and the cause, not after the request deadline', async (_what, url, cause) => {
    const producer = new Producer({ redis: url, requestTimeoutMs: 20_000 });
    const started = performance.now();
    const err = await producer.connect().then(
      () => undefined,
      (e: unknown) => e,
    );
    const tookMs = performance.now() - started;
    await producer.close({ timeoutMs: 100 });
    expect(err).toBeInstanceOf(DeliveryError);
    expect(err).toMatchObject({ code: 'ERR_CONNECTION', retriable: true });
    expect(((err as DeliveryError).cause as NodeJS.ErrnoException).code).toBe(cause);
    expect((err as Error).message).toContain(cause);
    expect(tookMs).toBeLessThan(10_000); // half the deadline: the cause ended the wait, not the timer
  });

  it('a cluster none of whose seed nodes answers rejects at once too', async () => {
    const producer = new Producer({ redis: { cluster: [{ host: '127.0.0.1', port: 1 }] }, requestTimeoutMs: 20_000 });
    const err = await producer.connect().then(
      () => undefined,
      (e: unknown) => e,
    );
    await producer.close({ timeoutMs: 100 });
    expect(err).toMatchObject({ code: 'ERR_CONNECTION', retriable: true });
    expect((err as Error).message).toMatch(/^Could not connect to Redis: /);
  });
});

describe('whenReady', () => {
  it('many callers waiting for one connection share one pair of listeners (no MaxListenersExceededWarning)', async () => {
    // A listener that accepts connections and never answers: the client stays in its handshake.
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    try {
      const waits = Array.from({ length: 30 }, () => whenReady(client, 300).catch((e: unknown) => e));
      expect(client.listenerCount('ready')).toBe(1);
      const outcomes = await Promise.all(waits);
      for (const outcome of outcomes) expect(outcome).toMatchObject({ code: 'ERR_REQUEST_TIMEOUT' });
    } finally {
      client.disconnect();
      silent.close();
    }
  });
});
