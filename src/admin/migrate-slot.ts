/**
 * Moves one hash slot from its master to another, online, the way `redis-cli --cluster reshard`
 * does (Redis Cluster specification, "Live resharding"):
 *
 *   1. open:      `CLUSTER SETSLOT s IMPORTING <source>` on the target, then `MIGRATING <target>`
 *                 on the source (in that order, so a client sent to the target by ASK is accepted).
 *   2. move-keys: `CLUSTER GETKEYSINSLOT s n` on the source and `MIGRATE host port "" 0 timeout
 *                 [AUTH|AUTH2 …] KEYS k…` until the source holds none.
 *   3. assign:    `CLUSTER SETSLOT s NODE <target>` on the target, the source, then every other master (best effort: they also learn it from the cluster bus).
 *
 * Clients keep working throughout: a key still on the source is served there, a missing one is
 * redirected with ASK, a multi-key command whose keys are split between the nodes gets TRYAGAIN,
 * and after step 3 MOVED. The producer follows all of these (test/integration/cluster/faults-migration.test.ts).
 */
import type { ClusterNodeInfo, ClusterNodes } from './cluster-nodes.js';
import { nodeAddress } from './cluster-nodes.js';
import { SlotMigrationError, type MigrationPhase } from './errors.js';

/** Progress of a slot move, reported as it happens (and awaited, so a caller can pace it). */
export type MigrationStep =
  | { step: 'opened'; slot: number }
  | { step: 'keys-moved'; slot: number; keys: string[]; movedSoFar: number }
  | { step: 'drained'; slot: number; movedSoFar: number }
  | { step: 'assigned'; slot: number; movedSoFar: number };

export interface MigrateSlotOptions {
  /** Keys per `GETKEYSINSLOT` + `MIGRATE` round (default 100). */
  keysPerMigrate?: number;
  /** `MIGRATE`'s own timeout for the transfer between the nodes, in ms (default: the nodes' `timeoutMs`). */
  migrateTimeoutMs?: number;
  /** Called after each step; the move waits for it. */
  onStep?: (step: MigrationStep) => void | Promise<void>;
}

/** A slot to move, between two masters by node id. */
export interface SlotTransfer {
  slot: number;
  from: string;
  to: string;
}

/**
 * Moves `transfer.slot` from master `from` to master `to`; resolves with the number of keys moved.
 * Every command has a deadline (`nodes.timeoutMs`). Rejects with a `SlotMigrationError` naming
 * the failed phase; running the same move again resumes an interrupted one.
 */
export async function migrateSlot(nodes: ClusterNodes, transfer: SlotTransfer, options: MigrateSlotOptions = {}): Promise<number> {
  const { slot } = transfer;
  const source = nodes.node(transfer.from);
  const target = nodes.node(transfer.to);
  const keysPerMigrate = options.keysPerMigrate ?? 100;
  const migrateTimeoutMs = options.migrateTimeoutMs ?? nodes.timeoutMs;
  const step = async (s: MigrationStep) => options.onStep?.(s);
  let phase: MigrationPhase = 'open';
  let moved = 0;
  const expectOk = async (node: ClusterNodeInfo, ...args: (string | number)[]) => {
    const reply = await nodes.call(node, 'CLUSTER', ...args);
    if (reply !== 'OK') throw new Error(`CLUSTER ${args.join(' ')} on ${nodeAddress(node)} answered ${JSON.stringify(reply)}`);
  };

  try {
    await expectOk(target, 'SETSLOT', slot, 'IMPORTING', source.id);
    await expectOk(source, 'SETSLOT', slot, 'MIGRATING', target.id);
    await step({ step: 'opened', slot });

    phase = 'move-keys';
    for (;;) {
      const keys = (await nodes.call(source, 'CLUSTER', 'GETKEYSINSLOT', slot, keysPerMigrate)) as string[];
      if (keys.length === 0) break;
      // MIGRATE bounds the transfer itself; the call's deadline leaves room for that on top.
      const reply = await nodes.callWithin(nodes.timeoutMs + migrateTimeoutMs, source, 'MIGRATE', target.host, target.port, '', 0, migrateTimeoutMs, ...nodes.migrateAuth(), 'KEYS', ...keys);
      // NOKEY: the keys vanished (expired, deleted) between the two calls; nothing to move.
      if (reply !== 'OK' && reply !== 'NOKEY') throw new Error(`MIGRATE answered ${JSON.stringify(reply)}`);
      moved += keys.length;
      await step({ step: 'keys-moved', slot, keys, movedSoFar: moved });
    }
    await step({ step: 'drained', slot, movedSoFar: moved });

    // The target first: it takes the slot with a new config epoch, which then wins everywhere.
    phase = 'assign';
    await expectOk(target, 'SETSLOT', slot, 'NODE', target.id);
    await expectOk(source, 'SETSLOT', slot, 'NODE', target.id);
    // The other masters would learn the new owner from the cluster bus anyway; telling them only
    // saves them a MOVED or two. So a refusal there (a node our snapshot of CLUSTER NODES still
    // calls a master but that is a replica by now: "Please use SETSLOT only with masters") does
    // not fail a move that is already complete on both sides.
    const others = nodes.nodes.filter((n) => n.role === 'master' && n.id !== source.id && n.id !== target.id);
    await Promise.allSettled(others.map((n) => expectOk(n, 'SETSLOT', slot, 'NODE', target.id)));
    await step({ step: 'assigned', slot, movedSoFar: moved });
    return moved;
  } catch (err) {
    if (phase === 'open') {
      // Nothing has moved yet: close the slot again on both sides (best effort) so no client meets ASK.
      await Promise.allSettled([nodes.call(source, 'CLUSTER', 'SETSLOT', slot, 'STABLE'), nodes.call(target, 'CLUSTER', 'SETSLOT', slot, 'STABLE')]);
    }
    throw new SlotMigrationError(slot, nodeAddress(source), nodeAddress(target), phase, err);
  }
}
