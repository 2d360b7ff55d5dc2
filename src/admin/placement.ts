/**
 * Where a topic's shards live on a Redis Cluster, and which slots to move so they spread evenly.
 * Pure: the slot of each shard and the owner of each slot come in, a plan goes out.
 *
 * A shard is one stream whose whole key is its hash tag, so it lives in exactly one slot; a slot
 * lives on one master. Keys hash uniformly over shards, so a master's share of the topic's records
 * is its share of the shards. The layout of keys is fixed: the only lever is which
 * master owns each slot, so a plan is a list of slot moves.
 */

/** One master's part of a topic. */
export interface MasterLoad {
  /** The master's id (a cluster node id, or any stable name). */
  master: string;
  /** Shard numbers stored on this master, ascending. */
  shards: number[];
  /** Distinct slots holding those shards, ascending (two shards can share a slot). */
  slots: number[];
  /** Expected share of the topic's records on this master: its shards ÷ all shards. */
  recordShare: number;
}

/** How a topic's shards spread over the masters. */
export interface Spread {
  /** Number of shards of the topic. */
  shards: number;
  /** Every master, in the order they were given, including those holding no shard. */
  masters: MasterLoad[];
  /** Most shards on one master. */
  max: number;
  /** Fewest shards on one master. */
  min: number;
  /** `max / min`: the busiest master's load relative to the quietest; `Infinity` when a master holds none. */
  ratio: number;
  /** The best ratio any placement can reach: ⌈shards/masters⌉ / ⌊shards/masters⌋ (`Infinity` with fewer shards than masters). */
  bestRatio: number;
  /** True when shards per master differ by at most one (so `ratio === bestRatio`). */
  balanced: boolean;
}

/** Moving one slot, and with it every shard of the topic it holds, to another master. */
export interface SlotMove {
  slot: number;
  from: string;
  to: string;
  /** The topic's shards in this slot (more than one when shard names collide on a slot). */
  shards: number[];
}

/** What balancing a topic would do. */
export interface PlacementPlan {
  before: Spread;
  /** Slot moves in the order to run them; empty when the topic is balanced (or cannot improve). */
  moves: SlotMove[];
  /** The spread once every move has run. */
  after: Spread;
}

/** Who owns a slot: a function, or a map from slot to master. */
export type SlotOwners = ((slot: number) => string) | ReadonlyMap<number, string>;

const ownerFn = (owners: SlotOwners): ((slot: number) => string) =>
  typeof owners === 'function'
    ? owners
    : (slot) => {
        const owner = owners.get(slot);
        if (owner === undefined) throw new RangeError(`No master owns slot ${slot}`);
        return owner;
      };

function checkInput(shardSlots: readonly number[], masters: readonly string[]): void {
  if (masters.length === 0) throw new RangeError('Expected at least one master, got none');
  if (new Set(masters).size !== masters.length) throw new RangeError(`Expected distinct masters, got ${JSON.stringify(masters)}`);
  shardSlots.forEach((slot, shard) => {
    if (!Number.isInteger(slot) || slot < 0 || slot >= 16_384) throw new RangeError(`Expected the slot of shard ${shard} to be an integer from 0 to 16383, got ${slot}`);
  });
}

/**
 * The spread of a topic whose shard `i` lives in slot `shardSlots[i]`, over `masters` (every
 * master of the cluster, so one holding no shard counts as empty).
 */
export function topicSpread(shardSlots: readonly number[], owners: SlotOwners, masters: readonly string[]): Spread {
  checkInput(shardSlots, masters);
  const ownerOf = ownerFn(owners);
  const byMaster = new Map<string, { shards: number[]; slots: Set<number> }>(masters.map((m) => [m, { shards: [], slots: new Set() }]));
  shardSlots.forEach((slot, shard) => {
    const owner = ownerOf(slot);
    const load = byMaster.get(owner);
    if (load === undefined) throw new RangeError(`Slot ${slot} (shard ${shard}) is owned by ${owner}, which is not among the masters ${JSON.stringify(masters)}`);
    load.shards.push(shard);
    load.slots.add(slot);
  });
  const n = shardSlots.length;
  const loads = masters.map((master): MasterLoad => {
    const { shards, slots } = byMaster.get(master)!;
    return { master, shards, slots: [...slots].sort((a, b) => a - b), recordShare: n === 0 ? 0 : shards.length / n };
  });
  const counts = loads.map((l) => l.shards.length);
  const max = Math.max(...counts);
  const min = Math.min(...counts);
  const m = masters.length;
  return { shards: n, masters: loads, max, min, ratio: ratio(max, min), bestRatio: ratio(Math.ceil(n / m), Math.floor(n / m)), balanced: max - min <= 1 };
}

const ratio = (max: number, min: number): number => (max === 0 ? 1 : min === 0 ? Infinity : max / min);

/**
 * A plan of slot moves that spreads the topic's shards so that masters differ by at most one shard
 * (max/min ≤ ⌈n/m⌉/⌊n/m⌋), moving only slots that hold shards of the topic.
 *
 * Greedy, one slot at a time: take the move that lowers the sum of squared loads most, which for
 * one shard per slot is always "from the busiest master to the quietest". Each step strictly lowers
 * that sum, so it ends; with one shard per slot it ends balanced after exactly the fewest moves
 * possible. A slot holding several shards moves them together, which can leave the spread short of
 * the bound (by at most that slot's shard count) when no whole-slot move helps any more. A slot
 * moved twice on the way appears once, from its first owner to its last.
 */
export function planBalance(shardSlots: readonly number[], owners: SlotOwners, masters: readonly string[]): PlacementPlan {
  const before = topicSpread(shardSlots, owners, masters);
  const ownerOf = ownerFn(owners);
  const shardsInSlot = new Map<number, number[]>();
  shardSlots.forEach((slot, shard) => {
    shardsInSlot.set(slot, [...(shardsInSlot.get(slot) ?? []), shard]);
  });
  const origin = new Map<number, string>([...shardsInSlot.keys()].map((slot) => [slot, ownerOf(slot)]));
  const owner = new Map(origin);
  const load = new Map<string, number>(before.masters.map((l) => [l.master, l.shards.length]));
  const order: number[] = []; // slots in the order they first moved

  for (;;) {
    // Busiest first, quietest first; ties keep the caller's master order, so the plan is deterministic.
    const desc = [...masters].sort((a, b) => load.get(b)! - load.get(a)!);
    const asc = [...masters].sort((a, b) => load.get(a)! - load.get(b)!);
    let best: { slot: number; to: string; gain: number } | undefined;
    for (const donor of desc) {
      const slots = [...owner]
        .filter(([, o]) => o === donor)
        .map(([slot]) => slot)
        .sort((a, b) => a - b);
      for (const receiver of asc) {
        const gap = load.get(donor)! - load.get(receiver)!;
        if (gap <= 1) break; // receivers only get busier from here
        for (const slot of slots) {
          const weight = shardsInSlot.get(slot)!.length;
          // Moving `weight` shards across a gap changes the sum of squares by -2·weight·(gap - weight).
          const gain = weight * (gap - weight);
          if (gain > 0 && (best === undefined || gain > best.gain)) best = { slot, to: receiver, gain };
        }
      }
    }
    if (best === undefined) break;
    const weight = shardsInSlot.get(best.slot)!.length;
    const from = owner.get(best.slot)!;
    load.set(from, load.get(from)! - weight);
    load.set(best.to, load.get(best.to)! + weight);
    owner.set(best.slot, best.to);
    if (!order.includes(best.slot)) order.push(best.slot);
  }

  const moves = order.filter((slot) => owner.get(slot) !== origin.get(slot)).map((slot): SlotMove => ({ slot, from: origin.get(slot)!, to: owner.get(slot)!, shards: shardsInSlot.get(slot)! }));
  return { before, moves, after: topicSpread(shardSlots, afterMoves(ownerOf, moves), masters) };
}

/** Slot owners once `moves` have run. */
export function afterMoves(owners: SlotOwners, moves: readonly SlotMove[]): (slot: number) => string {
  const ownerOf = ownerFn(owners);
  const moved = new Map(moves.map((m) => [m.slot, m.to]));
  return (slot) => moved.get(slot) ?? ownerOf(slot);
}

/**
 * The fewest single-shard moves that balance `loads` (shards per master): give the ⌈n/m⌉ targets to
 * the busiest masters and count what lies above the targets. A lower bound for any plan.
 */
export function fewestMoves(loads: readonly number[]): number {
  const n = loads.reduce((a, b) => a + b, 0);
  const m = loads.length;
  const q = Math.floor(n / m);
  const r = n % m;
  return [...loads].sort((a, b) => b - a).reduce((moves, load, i) => moves + Math.max(0, load - (i < r ? q + 1 : q)), 0);
}
