import type { CompensationEntry } from './entry.js';
import type { Parker } from './parker.js';
import type { Replayer, ReplayRound } from './replayer.js';
import type { CompensationStats, CompensationStore, ListOptions, PurgeOptions } from './store.js';

/** Inspect and drive the compensation store of this producer's namespace. */
export interface CompensationApi {
  /** Topics with records parked or dead-lettered in the Redis store (records still only in the local journal: `journaled()`). */
  topics(): Promise<string[]>;
  /** Pending, due and dead-lettered counts of a topic, and when its oldest pending record was parked. */
  stats(topic: string): Promise<CompensationStats>;
  /** Parked (or, with `dead: true`, dead-lettered) records of a topic, in replay order. */
  list(topic: string, options?: ListOptions): Promise<CompensationEntry[]>;
  /** Records waiting in the local journal (Redis was unreachable when they were parked). */
  journaled(): Promise<number>;
  /** Runs a replay round now (drains the journal first); resolves with what it did. */
  replayNow(): Promise<ReplayRound>;
  /** Deletes parked records: all pending ones, all dead ones (`dead: true`) or the given `ids`. */
  purge(topic: string, options?: PurgeOptions): Promise<number>;
  /** Moves dead letters (all, or the given ids) back to be replayed, with their attempts reset. */
  requeueDead(topic: string, ids?: string[]): Promise<number>;
}

/** `producer.compensation`: each call waits for the connection first (the offline queue is off). */
export function compensationApi(parts: { connected: <T>(call: () => Promise<T>) => Promise<T>; store: CompensationStore; parker: Parker; replayer: Replayer }): CompensationApi {
  const { connected, store, parker, replayer } = parts;
  return {
    topics: () =>
      connected(async () => {
        // The set only grows (removing a topic could race a park that has just added it): list
        // the topics whose store holds something, pending or dead.
        const all = await parker.topics();
        const counts = await Promise.all(all.map((topic) => store.stats(topic)));
        return all.filter((_topic, i) => counts[i]!.pending + counts[i]!.dead > 0).sort();
      }),
    stats: (topic) => connected(() => store.stats(topic)),
    list: (topic, options) => connected(() => store.list(topic, options)),
    journaled: () => parker.journaled(),
    replayNow: () => connected(() => replayer.runOnce()),
    purge: (topic, options) => connected(() => store.purge(topic, options)),
    requeueDead: (topic, ids) => connected(() => store.requeueDead(topic, ids)),
  };
}
