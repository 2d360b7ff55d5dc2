/**
 * Errors of the admin API. They join the producer's hierarchy (`ProducerError`: `code`,
 * `retriable`), so callers branch on `instanceof` or `code` as everywhere else.
 */
import { ProducerError } from '../errors.js';

/** An admin call's options are invalid; `issues` lists every problem (field, expected, got). */
export class AdminOptionsError extends ProducerError {
  readonly issues: readonly string[];
  constructor(what: string, issues: readonly string[]) {
    super(`Invalid ${what} options:\n${issues.map((i) => `  - ${i}`).join('\n')}`, 'ERR_ADMIN_OPTIONS');
    this.issues = issues;
  }
}

/**
 * The cluster is not in a state the admin call can work on: not a cluster, a slot half-migrated,
 * a master failing, a topic Redis knows nothing about. Nothing was changed.
 */
export class ClusterStateError extends ProducerError {
  constructor(message: string) {
    super(message, 'ERR_CLUSTER_STATE');
  }
}

/** Which step of moving a slot failed (see `migrateSlot`). */
export type MigrationPhase = 'open' | 'move-keys' | 'assign';

/**
 * Moving a slot failed at `phase`. After `open` the slot was put back as it was; after
 * `move-keys` or `assign` it is left open (MIGRATING/IMPORTING), and running the same move again
 * finishes it (or `redis-cli --cluster fix` does). `cause` holds the Redis error.
 */
export class SlotMigrationError extends ProducerError {
  constructor(
    readonly slot: number,
    readonly from: string,
    readonly to: string,
    readonly phase: MigrationPhase,
    cause: unknown,
  ) {
    super(
      `Moving slot ${slot} from ${from} to ${to} failed while ${PHASE_TEXT[phase]}: ${cause instanceof Error ? cause.message : String(cause)}` +
        (phase === 'open' ? '' : `; the slot is left open: run the same move again to finish it, or \`redis-cli --cluster fix\``),
      'ERR_SLOT_MIGRATION',
      { retriable: true, cause },
    );
  }
}

const PHASE_TEXT: Record<MigrationPhase, string> = {
  open: 'opening the slot (CLUSTER SETSLOT IMPORTING/MIGRATING)',
  'move-keys': 'moving its keys (CLUSTER GETKEYSINSLOT, MIGRATE)',
  assign: 'assigning it to the target (CLUSTER SETSLOT NODE)',
};
