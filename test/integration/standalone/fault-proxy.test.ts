import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { FaultProxy } from '../../support/fault-proxy.js';
import { eventually, redisUrl, Resources, uniqueNamespace } from '../../support/helpers.js';

const res = new Resources();
const proxies: FaultProxy[] = [];
const clients: Redis[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.disconnect();
  await Promise.all(proxies.splice(0).map((p) => p.stop()));
  await res.closeAll();
});

async function startProxy(): Promise<FaultProxy> {
  const u = new URL(redisUrl());
  const proxy = await FaultProxy.start({ host: u.hostname, port: Number(u.port || 6379) });
  proxies.push(proxy);
  return proxy;
}

/** A client that fails fast instead of retrying, so a fault shows up as an error, not a hang. */
function client(url: string): Redis {
  const c = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    retryStrategy: () => null,
  });
  c.on('error', () => {}); // the faults are the point; keep ioredis from logging them as unhandled
  clients.push(c);
  return c;
}

/** A client through the proxy, ready (handshake done). */
async function connected(proxy: FaultProxy): Promise<Redis> {
  const c = client(proxy.url);
  await c.connect();
  return c;
}

/** Resolves when the client's connection closes (events.once would reject on the 'error' that may precede it). */
function closeOf(c: Redis): Promise<void> {
  return new Promise((resolve) => c.once('close', () => resolve()));
}

/** Resolves to 'timeout' if `p` hasn't settled within `ms`. */
function within<T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), ms)));
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

describe('FaultProxy', () => {
  it('pass: forwards both ways and counts connections', async () => {
    const proxy = await startProxy();
    expect(proxy.url).toBe(`redis://127.0.0.1:${proxy.port}`);
    const c = await connected(proxy);
    expect(await c.ping()).toBe('PONG');
    expect(proxy.connections).toBe(1);
    c.disconnect();
    await eventually(() => proxy.connections === 0, 'connection count back to 0');
  });

  it('delay: every chunk is delayed in both directions and byte order is kept', async () => {
    const proxy = await startProxy();
    const c = await connected(proxy);
    proxy.delay(150);
    const t0 = performance.now();
    expect(await c.ping()).toBe('PONG');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(280); // 150 ms each way, minus timer slack

    // Many chunks (a 2 MB reply) and many pipelined replies arrive intact and in order.
    proxy.delay(5);
    const key = `${uniqueNamespace()}:big`;
    const value = randomBytes(1 << 20).toString('hex');
    await res.admin().set(key, value);
    expect(await c.get(key)).toBe(value);
    const counter = `${uniqueNamespace()}:n`;
    const replies = await Promise.all(Array.from({ length: 50 }, () => c.incr(counter)));
    expect(replies).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  });

  it('blackhole: nothing answers, new connections hang too; after pass() held bytes flow and new connections work', async () => {
    const proxy = await startProxy();
    const c = await connected(proxy);
    proxy.blackhole();
    const pending = c.ping();
    expect(await within(pending, 300)).toBe('timeout');

    const late = client(proxy.url);
    const lateReady = late.connect();
    expect(await within(lateReady, 300)).toBe('timeout');
    await eventually(() => proxy.connections === 2, 'black-holed connection accepted');

    proxy.pass();
    // The partition healed before anyone gave up, so the held command completes (TCP-like).
    expect(await pending).toBe('PONG');
    await lateReady;
    const fresh = await connected(proxy);
    expect(await fresh.ping()).toBe('PONG');
  });

  it('cutAll: pending commands reject and clients see the close; the mode is kept', async () => {
    const proxy = await startProxy();
    const c = await connected(proxy);
    proxy.blackhole();
    const pending = c.ping();
    const closed = closeOf(c);
    proxy.cutAll();
    await expect(pending).rejects.toThrow();
    await closed;
    await eventually(() => proxy.connections === 0, 'connections gone');

    // Still black-holed: a new connection is accepted but never gets ready.
    const next = client(proxy.url);
    const nextReady = next.connect();
    expect(await within(nextReady, 300)).toBe('timeout');
    proxy.pass();
    await nextReady;
    expect(await next.ping()).toBe('PONG');
  });

  it('refuse: new connections are closed at once, existing ones keep working, until pass()', async () => {
    const proxy = await startProxy();
    const existing = await connected(proxy);
    proxy.refuse();
    await expect(client(proxy.url).connect()).rejects.toThrow();
    expect(await existing.ping()).toBe('PONG');
    expect(proxy.connections).toBe(1);

    proxy.pass();
    const c = await connected(proxy);
    expect(await c.ping()).toBe('PONG');
  });

  it('loseNextReply: the command runs in Redis but its reply is lost and the connection cut', async () => {
    const proxy = await startProxy();
    const key = `${uniqueNamespace()}:lost`;
    // Armed before connecting: the handshake and other commands don't match, so they pass through.
    const lost = proxy.loseNextReply('INCR'); // matched case-insensitively (ioredis sends `incr`)
    const c = await connected(proxy);
    expect(await c.ping()).toBe('PONG');

    const closed = closeOf(c);
    await expect(c.incr(key)).rejects.toThrow();
    await lost;
    await closed;
    expect(await res.admin().get(key)).toBe('1'); // read directly from Redis, not via the proxy

    // One-shot: new connections pass again.
    const again = await connected(proxy);
    expect(await again.incr(key)).toBe(2);
  });

  it('stop: closes open and black-holed connections without hanging', async () => {
    const proxy = await startProxy();
    const c = await connected(proxy);
    proxy.blackhole();
    const pending = c.ping();
    const closed = closeOf(c);
    await proxy.stop();
    await expect(pending).rejects.toThrow();
    await closed;
    expect(proxy.connections).toBe(0);
    await proxy.stop(); // idempotent
  });
});
