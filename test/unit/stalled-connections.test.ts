import { describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { StalledConnectionWatch } from '../../src/stalled-connections.js';

/** A stand-in for one ioredis connection: its status, the head of its command queue, and disconnects. */
function fakeConnection() {
  const fake = {
    status: 'ready',
    head: undefined as object | undefined,
    disconnects: [] as boolean[],
    options: { host: 'h', port: 1 },
    commandQueue: { peekFront: () => (fake.head ? { command: fake.head } : undefined) },
    disconnect: (reconnect = false) => void fake.disconnects.push(reconnect),
  };
  return fake;
}

function watch(connection: ReturnType<typeof fakeConnection>, deadlineMs: number) {
  let now = 0;
  const replaced: string[] = [];
  const w = new StalledConnectionWatch(
    connection as unknown as Redis,
    deadlineMs,
    (c) => replaced.push(c),
    () => now,
  );
  w.stop(); // driven by hand below
  const check = (atMs: number) => {
    now = atMs;
    w.check();
  };
  return { replaced, check };
}

describe('StalledConnectionWatch', () => {
  it('replaces a connection whose first call waited a whole deadline, once, with a reconnect', () => {
    const c = fakeConnection();
    const w = watch(c, 100);
    c.head = {};
    w.check(0);
    w.check(99);
    expect(c.disconnects).toEqual([]);
    w.check(100);
    expect(c.disconnects).toEqual([true]);
    expect(w.replaced).toEqual(['h:1']);
    w.check(150);
    expect(c.disconnects).toEqual([true]);
  });

  it('leaves a connection alone while its calls keep being answered', () => {
    const c = fakeConnection();
    const w = watch(c, 100);
    for (let t = 0; t <= 1_000; t += 25) {
      c.head = {}; // a new call first in line each time
      w.check(t);
    }
    expect(c.disconnects).toEqual([]);
  });

  it('counts the wait from when the call was first seen, and not while the connection is down', () => {
    const c = fakeConnection();
    const w = watch(c, 100);
    c.head = {};
    w.check(0);
    c.status = 'reconnecting';
    w.check(150);
    c.status = 'ready';
    w.check(200);
    w.check(299);
    expect(c.disconnects).toEqual([]);
    w.check(300);
    expect(c.disconnects).toEqual([true]);
  });

  it('replaces a connection whose handshake stopped being answered (status connect)', () => {
    const c = fakeConnection();
    const w = watch(c, 100);
    c.status = 'connect';
    c.head = {}; // the ready check's INFO
    w.check(0);
    w.check(100);
    expect(c.disconnects).toEqual([true]);
  });

  it('an idle connection is never stalled', () => {
    const c = fakeConnection();
    const w = watch(c, 100);
    for (let t = 0; t <= 1_000; t += 50) w.check(t);
    expect(c.disconnects).toEqual([]);
  });
});
