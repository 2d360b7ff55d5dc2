/**
 * A node connection whose replies no longer line up with its calls (ioredis waits on a call that
 * was never written, so each reply goes to the call before it) is replaced by the watch, and the
 * calls after it get their own replies again.
 */
import { Command, type Cluster, type Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { keySlot } from '../../../src/admin/key-slot.js';
import { openConnection, whenReady, withDeadline } from '../../../src/connection.js';
import { StalledConnectionWatch } from '../../../src/stalled-connections.js';
import { eventually, redisConfig, uniqueNamespace } from '../../support/helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function connectionOf(cluster: Cluster, key: string): Redis {
  const address = cluster.slots[keySlot(key)]?.[0];
  const node = cluster.nodes('master').find((n) => `${n.options.host}:${n.options.port}` === address);
  if (node === undefined) throw new Error(`no connection for ${key} (${String(address)})`);
  return node;
}

/** Puts a call ioredis never wrote first in the connection's queue: from now on every reply goes to the call before it. */
function misalign(connection: Redis): void {
  (connection as unknown as { commandQueue: { unshift(item: unknown): void } }).commandQueue.unshift({ command: new Command('ping'), select: 0 });
}

describe('stalled connections', () => {
  it('a misaligned node connection is replaced, and the next calls get their own replies', async () => {
    const cluster = openConnection(redisConfig()!).client as Cluster;
    cleanups.push(() => cluster.disconnect());
    await whenReady(cluster, 5_000);
    const replaced: string[] = [];
    const watch = new StalledConnectionWatch(cluster, 300, (connection) => replaced.push(connection));
    cleanups.push(() => watch.stop());
    const key = `{${uniqueNamespace()}}`;
    await cluster.set(key, 'v1');
    const connection = connectionOf(cluster, key);
    misalign(connection);
    // Its reply goes to the phantom call; it waits for a reply that never comes, until replaced.
    const stuck = cluster.set(key, 'v2').catch((err: unknown) => err);
    const read = () => withDeadline(cluster.get(key), 500, 'GET').catch((err: unknown) => err);
    await eventually(async () => (await read()) === 'v2', 'GET answers with the value', 5_000);
    expect(await withDeadline(cluster.set(key, 'v3'), 2_000, 'SET')).toBe('OK');
    expect(await withDeadline(cluster.get(key), 2_000, 'GET')).toBe('v3');
    expect(replaced).toEqual([`${connection.options.host}:${connection.options.port}`]);
    expect(connection.status).toBe('end');
    void stuck;
  });
});
