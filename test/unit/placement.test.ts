/**
 * Shard placement on Redis Cluster: the key → slot function and the balancing plan. No
 * Redis: slots and owners are given. test/integration/cluster/balance.test.ts runs a plan for real.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { keySlot } from '../../src/admin/key-slot.js';
import { fewestMoves, planBalance, topicSpread, type SlotOwners } from '../../src/admin/placement.js';
import { streamKey } from '../../src/keys.js';

const SEED = Number(process.env.FC_SEED ?? 0x5eed_0004);
const runs = { seed: SEED, numRuns: 500 };

/** Slot ranges split evenly over masters, as `redis-cli --cluster create` does. */
function evenRanges(masters: readonly string[]): (slot: number) => string {
  const per = Math.ceil(16_384 / masters.length);
  return (slot) => masters[Math.floor(slot / per)]!;
}

const counts = (spread: { masters: { shards: number[] }[] }) => spread.masters.map((m) => m.shards.length);

describe('keySlot', () => {
  // The function ioredis routes with (cluster-key-slot), so planning and routing agree. It differs
  // from the server only for an empty hash tag (`foo{}{bar}`), which no key of the producer has.
  it('answers what CLUSTER KEYSLOT answers (values from redis-server 7.0)', () => {
    const expected: Record<string, number> = {
      '123456789': 12739,
      foo: 12182,
      somekey: 11058,
      'foo{hash_tag}': 2515,
      '{user1000}.following': 3443,
      '{app:orders:3}': 7933,
      'ключ-ü': 1702,
    };
    for (const [key, slot] of Object.entries(expected)) expect(keySlot(key), key).toBe(slot);
  });

  it('a shard stream and its producer state share a slot', () => {
    expect(keySlot(`${streamKey('app', 'orders', 3)}:p:abc`)).toBe(keySlot(streamKey('app', 'orders', 3)));
  });
});

describe('topicSpread', () => {
  it('counts shards per master, masters without shards included, with the expected record shares', () => {
    const owners = new Map([
      [1, 'a'],
      [2, 'a'],
      [3, 'b'],
    ]);
    const spread = topicSpread([1, 2, 3, 1], owners, ['a', 'b', 'c']);
    expect(spread.masters).toEqual([
      { master: 'a', shards: [0, 1, 3], slots: [1, 2], recordShare: 0.75 },
      { master: 'b', shards: [2], slots: [3], recordShare: 0.25 },
      { master: 'c', shards: [], slots: [], recordShare: 0 },
    ]);
    expect(spread).toMatchObject({ shards: 4, max: 3, min: 0, ratio: Infinity, bestRatio: 2, balanced: false });
    expect(topicSpread([1, 2], owners, ['a', 'b', 'c']).bestRatio).toBe(Infinity); // fewer shards than masters
  });

  it('16 shards on 3 masters: best 6/5/5 = 1.2×', () => {
    const owners = (slot: number) => ['a', 'b', 'c'][slot % 3]!;
    const spread = topicSpread(
      Array.from({ length: 16 }, (_, i) => i),
      owners,
      ['a', 'b', 'c'],
    );
    expect(counts(spread)).toEqual([6, 5, 5]);
    expect(spread).toMatchObject({ ratio: 1.2, bestRatio: 1.2, balanced: true });
  });

  it('refuses input it cannot place, saying what was expected', () => {
    expect(() => topicSpread([1], () => 'x', [])).toThrow('Expected at least one master, got none');
    expect(() => topicSpread([1], () => 'x', ['a', 'a'])).toThrow('Expected distinct masters');
    expect(() => topicSpread([16_384], () => 'a', ['a'])).toThrow('Expected the slot of shard 0 to be an integer from 0 to 16383, got 16384');
    expect(() => topicSpread([5], () => 'z', ['a'])).toThrow('Slot 5 (shard 0) is owned by z, which is not among the masters ["a"]');
    expect(() => topicSpread([5], new Map(), ['a'])).toThrow('No master owns slot 5');
  });
});

describe('planBalance', () => {
  it('moves from the busiest master to the quietest until they differ by at most one', () => {
    // 10 / 4 / 2 shards, one per slot: a gives to whichever master is quietest at each step.
    const owner = (slot: number) => (slot < 10 ? 'a' : slot < 14 ? 'b' : 'c');
    const plan = planBalance(
      Array.from({ length: 16 }, (_, i) => i),
      owner,
      ['a', 'b', 'c'],
    );
    expect(counts(plan.before)).toEqual([10, 4, 2]);
    expect(counts(plan.after)).toEqual([6, 5, 5]);
    expect(plan.moves.map((m) => `${m.slot}:${m.from}→${m.to}`)).toEqual(['0:a→c', '1:a→c', '2:a→b', '3:a→c']);
    expect(plan.moves).toHaveLength(fewestMoves([10, 4, 2]));
    expect(plan.after).toMatchObject({ ratio: 1.2, balanced: true });
  });

  it('plans nothing for a balanced topic', () => {
    const owner = (slot: number) => ['a', 'b', 'c'][slot % 3]!;
    const plan = planBalance(
      Array.from({ length: 16 }, (_, i) => i),
      owner,
      ['a', 'b', 'c'],
    );
    expect(plan.moves).toEqual([]);
    expect(plan.after).toEqual(plan.before);
  });

  it('fills a master that holds no slot at all (a master just added)', () => {
    const owner = (slot: number) => (slot < 8 ? 'a' : 'b');
    const plan = planBalance(
      Array.from({ length: 16 }, (_, i) => i),
      owner,
      ['a', 'b', 'new'],
    );
    expect(counts(plan.after)).toEqual([5, 6, 5]);
    expect(plan.moves.every((m) => m.to === 'new')).toBe(true);
  });

  it('moves shards that share a slot together', () => {
    // Shards 0 and 1 share slot 7; a has 0, 1, 2, 3 (three slots), b has none.
    const owner = (slot: number) => (slot < 100 ? 'a' : 'b');
    const plan = planBalance([7, 7, 8, 9], owner, ['a', 'b']);
    expect(plan.moves).toEqual([{ slot: 7, from: 'a', to: 'b', shards: [0, 1] }]);
    expect(counts(plan.after)).toEqual([2, 2]);
  });

  it('stops when no whole-slot move helps: 2 shards in one slot over 2 masters', () => {
    const plan = planBalance([7, 7], () => 'a', ['a', 'b']);
    expect(plan.moves).toEqual([]);
    expect(plan.after).toMatchObject({ max: 2, min: 0, balanced: false });
  });

  it('plans the same moves for the same input (deterministic)', () => {
    const slots = Array.from({ length: 16 }, (_, s) => keySlot(streamKey('bal', 'orders', s)));
    const owners = evenRanges(['a', 'b', 'c']);
    expect(planBalance(slots, owners, ['a', 'b', 'c'])).toEqual(planBalance(slots, owners, ['a', 'b', 'c']));
  });

  it('on random namespaces, every 16-shard topic ends at 6/5/5 (max/min 1.2) on an even 3-master cluster', () => {
    const masters = ['a', 'b', 'c'];
    const owners = evenRanges(masters);
    let unevenBefore = 0;
    for (let i = 0; i < 200; i++) {
      const slots = Array.from({ length: 16 }, (_, s) => keySlot(streamKey(`ns${i}`, 'orders', s)));
      const plan = planBalance(slots, owners, masters);
      if (plan.before.ratio > 1.5) unevenBefore++;
      expect(plan.after.ratio, `ns${i}`).toBeLessThanOrEqual(1.2);
    }
    expect(unevenBefore).toBeGreaterThan(50); // the names alone often miss 1.5× (README: 64 % of names)
  });

  // Arbitrary topics: shard slots drawn from a small range (so shards often share a slot), masters
  // owning arbitrary slots, some masters owning none of the topic's slots.
  const topics = fc
    .record({
      masters: fc.integer({ min: 1, max: 6 }),
      shardSlots: fc.array(fc.integer({ min: 0, max: 60 }), { minLength: 0, maxLength: 70 }),
      ownerSeed: fc.array(fc.nat(), { minLength: 61, maxLength: 61 }),
    })
    .map(({ masters, shardSlots, ownerSeed }) => {
      const names = Array.from({ length: masters }, (_, i) => `m${i}`);
      const owners: SlotOwners = new Map(ownerSeed.map((r, slot) => [slot, names[r % masters]!]));
      return { names, shardSlots, owners };
    });

  it('property: never moves a slot without a shard of the topic; the plan holds each slot once; applying it gives `after`', () => {
    fc.assert(
      fc.property(topics, ({ names, shardSlots, owners }) => {
        const plan = planBalance(shardSlots, owners, names);
        const topicSlots = new Set(shardSlots);
        const moved = plan.moves.map((m) => m.slot);
        expect(new Set(moved).size).toBe(moved.length);
        for (const move of plan.moves) {
          expect(topicSlots.has(move.slot)).toBe(true);
          expect(move.from).toBe((owners as Map<number, string>).get(move.slot));
          expect(move.to).not.toBe(move.from);
          expect(move.shards).toEqual(shardSlots.flatMap((slot, shard) => (slot === move.slot ? [shard] : [])));
        }
        const moves = new Map(plan.moves.map((m) => [m.slot, m.to]));
        const applied = topicSpread(shardSlots, (slot) => moves.get(slot) ?? (owners as Map<number, string>).get(slot)!, names);
        expect(plan.after).toEqual(applied);
      }),
      runs,
    );
  });

  it('property: with one shard per slot, the plan reaches max − min ≤ 1 (max/min ≤ ⌈n/m⌉/⌊n/m⌋) in the fewest moves', () => {
    fc.assert(
      fc.property(topics, ({ names, shardSlots, owners }) => {
        const distinct = [...new Set(shardSlots)];
        const plan = planBalance(distinct, owners, names);
        expect(plan.after.max - plan.after.min).toBeLessThanOrEqual(1);
        expect(plan.after.balanced).toBe(true);
        expect(plan.after.ratio).toBe(plan.after.bestRatio);
        expect(plan.moves).toHaveLength(fewestMoves(counts(plan.before)));
      }),
      runs,
    );
  });

  it('property: with shared slots, the spread never gets worse and ends within the largest slot’s shard count', () => {
    fc.assert(
      fc.property(topics, ({ names, shardSlots, owners }) => {
        const plan = planBalance(shardSlots, owners, names);
        const perSlot = new Map<number, number>();
        for (const slot of shardSlots) perSlot.set(slot, (perSlot.get(slot) ?? 0) + 1);
        const heaviest = Math.max(1, ...perSlot.values());
        expect(plan.after.max - plan.after.min).toBeLessThanOrEqual(Math.max(1, plan.before.max - plan.before.min));
        expect(plan.after.max - plan.after.min).toBeLessThanOrEqual(heaviest);
        // The sum of squared loads (what the plan lowers) never rises.
        const squares = (c: number[]) => c.reduce((a, x) => a + x * x, 0);
        expect(squares(counts(plan.after))).toBeLessThanOrEqual(squares(counts(plan.before)));
      }),
      runs,
    );
  });
});
