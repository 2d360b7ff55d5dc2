/**
 * `balanceTopic`: spread a topic's shards evenly over a Redis Cluster's masters by moving the
 * slots that hold them (Kafka's `kafka-reassign-partitions`: plan, execute, verify, in one call).
 */
import type { Cluster } from 'ioredis';
import { z } from 'zod';
import { formatIssues } from '../config.js';
import { withDeadline } from '../connection.js';
import { TopicConfigError } from '../errors.js';
import { streamKey, topicMetaKey } from '../keys.js';
import { nameProblem, RESERVED_TOPICS } from '../names.js';
import { ClusterNodes, nodeAddress, stableTopology } from './cluster-nodes.js';
import { AdminOptionsError, ClusterStateError } from './errors.js';
import { keySlot } from './key-slot.js';
import { migrateSlot } from './migrate-slot.js';
import { planBalance, topicSpread, type SlotMove, type Spread } from './placement.js';

/** Progress of an executed plan: one event before and one after each slot move. */
export interface BalanceProgress {
  phase: 'start' | 'done';
  move: SlotMove;
  /** 0-based position of the move in the plan. */
  index: number;
  total: number;
  /** Keys moved with the slot (the topic's streams and state, and any other key in that slot); on `done`. */
  keys?: number;
  /** Node id → `host:port` of every master, to print the move. */
  addresses: Record<string, string>;
}

const name = (what: string) =>
  z.string().superRefine((value, ctx) => {
    const problem = nameProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: `${what} ${problem}, got ${JSON.stringify(value)}` });
  });

const int = (min: number, max: number) => z.number().int().min(min).max(max);

const balanceOptionsSchema = z.strictObject({
  /** The producer's `namespace`. */
  namespace: name('namespace'),
  /** The topic to balance. */
  topic: name('topic name').refine((t) => !RESERVED_TOPICS.has(t), { message: 'topic name "compensation" is reserved' }),
  /** Shards of the topic; default: the count producers recorded in `{ns:topic}:meta`, which must agree when both exist. */
  shards: int(1, 16_384).optional(),
  /** `false` (default): only plan. `true`: run the plan, then read the placement back. */
  execute: z.boolean().default(false),
  /** Deadline of each Redis call, in ms (`MIGRATE` gets this much again for its transfer). */
  timeoutMs: int(100, 600_000).default(5_000),
  /** Keys per `MIGRATE` call. */
  keysPerMigrate: int(1, 100_000).default(100),
  /** Called before and after each slot move while executing. */
  onProgress: z.custom<(progress: BalanceProgress) => void>((v) => typeof v === 'function', 'expected a function').optional(),
});

/** Options of `balanceTopic`. */
export type BalanceTopicOptions = z.input<typeof balanceOptionsSchema>;

/** What `balanceTopic` found, planned and (with `execute`) did. Masters are cluster node ids; `addresses` maps them to `host:port`. */
export interface BalanceResult {
  namespace: string;
  topic: string;
  shards: number;
  /** Node id → `host:port` for every master. */
  addresses: Record<string, string>;
  /** The spread when the call started. */
  before: Spread;
  /** The slot moves, in order; empty when the topic is already balanced. */
  moves: SlotMove[];
  /** The spread the moves lead to. */
  planned: Spread;
  /** Whether the moves were run. */
  executed: boolean;
  /** The spread read back from the cluster after running the moves (`undefined` when only planned). */
  after: Spread | undefined;
  /** Keys moved in all (0 when only planned). */
  keysMoved: number;
}

/**
 * Plans (and with `execute: true` runs) the slot moves that spread `topic`'s shards over the
 * cluster's masters as evenly as possible: shards per master differ by at most one, so the busiest
 * master gets at most ⌈n/m⌉/⌊n/m⌋ times the quietest one's records (6/5/5 = 1.2× for 16 shards on 3
 * masters). Only slots holding the topic's shards move, each as a whole: other keys in those
 * slots move with them. Masters holding no slot at all (just added) count as empty and get shards.
 *
 * Producers keep writing during the moves (they follow ASK, TRYAGAIN and MOVED). Throws
 * `AdminOptionsError` for bad options, `ClusterStateError` when the cluster is not stable (a
 * failing master, an unfinished migration) or the shard count is unknown, `TopicConfigError` when
 * `shards` disagrees with the recorded count, and `SlotMigrationError` when a move fails.
 *
 * @param cluster an ioredis `Cluster` the caller owns (left open); its `redisOptions` (credentials,
 *   TLS) and `natMap` are used for the direct connections to each master.
 */
export async function balanceTopic(cluster: Cluster, options: BalanceTopicOptions): Promise<BalanceResult> {
  const parsed = balanceOptionsSchema.safeParse(options);
  if (!parsed.success) throw new AdminOptionsError('balanceTopic', formatIssues(parsed.error.issues, options));
  const { namespace, topic, execute, timeoutMs, keysPerMigrate, onProgress } = parsed.data;

  const nodes = await ClusterNodes.load(cluster, { timeoutMs });
  try {
    const shards = await topicShards(cluster, namespace, topic, parsed.data.shards, timeoutMs);
    const shardSlots = Array.from({ length: shards }, (_, shard) => keySlot(streamKey(namespace, topic, shard)));
    const { masters, ownerOf } = stableTopology(nodes.nodes);
    // By address, so reports list the masters in the same order whichever node answered.
    masters.sort((a, b) => a.host.localeCompare(b.host) || a.port - b.port);
    const masterIds = masters.map((m) => m.id);
    const addresses = Object.fromEntries(masters.map((m) => [m.id, nodeAddress(m)]));
    const plan = planBalance(shardSlots, ownerOf, masterIds);
    const result: BalanceResult = { namespace, topic, shards, addresses, before: plan.before, moves: plan.moves, planned: plan.after, executed: execute, after: undefined, keysMoved: 0 };
    if (!execute) return result;

    for (const [index, move] of plan.moves.entries()) {
      onProgress?.({ phase: 'start', move, index, total: plan.moves.length, addresses });
      const keys = await migrateSlot(nodes, move, { keysPerMigrate });
      result.keysMoved += keys;
      onProgress?.({ phase: 'done', move, index, total: plan.moves.length, keys, addresses });
    }
    // Every master was told each new owner (SETSLOT NODE), so any master's view is current.
    await nodes.refresh();
    const now = stableTopology(nodes.nodes);
    result.after = topicSpread(shardSlots, now.ownerOf, masterIds);
    return result;
  } finally {
    nodes.close();
  }
}

/** The topic's shard count: the recorded one, the given one, and they must agree. */
async function topicShards(cluster: Cluster, namespace: string, topic: string, given: number | undefined, timeoutMs: number): Promise<number> {
  const metaKey = topicMetaKey(namespace, topic);
  const raw = await withDeadline(cluster.hget(metaKey, 'shards'), timeoutMs, `HGET ${metaKey}`);
  const stored = raw === null ? undefined : Number(raw);
  if (stored !== undefined && (!Number.isSafeInteger(stored) || stored < 1)) throw new ClusterStateError(`${metaKey} holds shards=${JSON.stringify(raw)}, not a shard count`);
  if (given !== undefined && stored !== undefined && stored !== given) throw new TopicConfigError(topic, given, stored);
  const shards = given ?? stored;
  if (shards === undefined) {
    throw new ClusterStateError(`Topic "${topic}" of namespace "${namespace}" has no recorded shard count (${metaKey} is missing): pass \`shards\`, or produce to the topic first`);
  }
  return shards;
}
