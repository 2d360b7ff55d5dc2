import type { Cluster, Command } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { CompensationStore } from '../../../src/compensation/store.js';
import type { Producer } from '../../../src/index.js';
import { Resources, uniqueNamespace } from '../../support/helpers.js';

const res = new Resources();
afterEach(() => res.closeAll());

/** Records every command the producer's client sends: name and keys. */
function recordCommands(producer: Producer): { name: string; args: unknown[]; keys: string[] }[] {
  const seen: { name: string; args: unknown[]; keys: string[] }[] = [];
  const client = (producer as unknown as { client: { sendCommand: (command: Command, ...rest: unknown[]) => unknown } }).client;
  const send = client.sendCommand.bind(client);
  client.sendCommand = (command: Command, ...rest: unknown[]) => {
    seen.push({ name: command.name, args: command.args, keys: command.getKeys().map(String) });
    return send(command, ...rest);
  };
  return seen;
}

const slotOf = async (admin: Cluster, key: string): Promise<number> => Number(await admin.cluster('KEYSLOT', key));

describe('Redis Cluster layout', () => {
  it('every script call touches exactly one slot: batches, idempotence, topic metadata, compensation', async () => {
    const namespace = uniqueNamespace();
    const producer = res.producer({ namespace, defaultShards: 4, compensation: { replay: { enabled: false } } });
    const admin = res.admin() as Cluster;
    const seen = recordCommands(producer);

    // Delivery: topic metadata + idempotent batches on every shard.
    await producer.sendBatch(Array.from({ length: 40 }, (_, i) => ({ topic: 'orders', key: `k${i}`, value: String(i) })));
    // Parking and replay: a shard that refuses writes, then fixed.
    await admin.set(`{${namespace}:orders:0}`, 'not a stream');
    const spilled = await producer.send({ topic: 'orders', value: 'parked', shard: 0 });
    expect(spilled.status).toBe('spilled');
    await admin.del(`{${namespace}:orders:0}`);
    // A "possibly persisted" record makes the replayer run check-batch first.
    const store = new CompensationStore({ client: admin, namespace, requestTimeoutMs: 5_000 });
    await store.park('orders', [
      { id: 'x:1:999:0', topic: 'orders', shard: 1, fields: ['payload', 'maybe'], producerId: 'x', seq: 999, persisted: 'possibly', attempts: 1, lastError: 'test', parkedAt: Date.now() },
    ]);
    await admin.zadd(`{${namespace}:compensation:orders}:zset`, 0, (await producer.compensation.list('orders'))[0]!.id);
    const round = await producer.compensation.replayNow();
    expect(round.replayed).toBe(2);

    const scripts = seen.filter((c) => c.name === 'evalsha' || c.name === 'eval');
    const names = new Set<string>();
    for (const call of scripts) {
      expect(call.keys.length, `${call.name} with keys`).toBeGreaterThan(0);
      const slots = new Set(await Promise.all(call.keys.map((k) => slotOf(admin, k))));
      expect([...slots], `keys ${call.keys.join(', ')}`).toHaveLength(1);
      names.add(call.keys[0]!.replace(namespace, 'ns').replace(/:\d+}/, ':N}'));
    }
    // Batches ({ns:orders:N} + its :p: state), metadata, check-batch, and the compensation scripts all ran.
    expect(scripts.length).toBeGreaterThanOrEqual(8);
    expect([...names].sort()).toEqual(expect.arrayContaining(['{ns:orders:N}', '{ns:orders}:meta', '{ns:compensation:orders}:zset']));
    expect(scripts.some((c) => c.keys.length === 2 && c.keys[0]!.includes(':p:x') && c.keys[1]!.endsWith(':landed'))).toBe(true); // check-batch
  });

  it("a 16-shard topic's streams spread over every master", async () => {
    const admin = res.admin() as Cluster;
    // Fixed names, so the slots (and the assertion) do not depend on a random namespace.
    const producer = res.producer({ namespace: 'spread', defaultShards: 16 });
    const acks = await producer.sendBatch(Array.from({ length: 1600 }, (_, i) => ({ topic: 'orders', key: `user-${i}`, value: String(i) })));
    expect(acks.every((a) => a.status === 'delivered')).toBe(true);
    const ranges = (await admin.cluster('SLOTS')) as unknown as [number, number, [string, number, ...unknown[]]][];
    const masterOf = (slot: number) => {
      const range = ranges.find(([from, to]) => slot >= from && slot <= to)!;
      return `${range[2][0]}:${range[2][1]}`;
    };
    const perMaster = new Map<string, number>();
    for (let shard = 0; shard < 16; shard++) {
      const master = masterOf(await slotOf(admin, `{spread:orders:${shard}}`));
      perMaster.set(master, (perMaster.get(master) ?? 0) + 1);
      expect(await admin.xlen(`{spread:orders:${shard}}`)).toBeGreaterThan(0);
    }
    expect(new Set(ranges.map((r) => `${r[2][0]}:${r[2][1]}`)).size).toBe(3);
    expect([...perMaster.keys()], JSON.stringify([...perMaster])).toHaveLength(3);
    await admin.del(...Array.from({ length: 16 }, (_, s) => `{spread:orders:${s}}`)).catch(() => undefined);
  });
});
