import type { Cluster, Redis } from 'ioredis';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { withDeadline } from '../connection.js';
import { compensationTopicsKey } from '../keys.js';
import { decodeEntry, encodeEntry, type CompensationEntry } from './entry.js';
import { complete, Journal, readJournalFile, recover, release, type JournalFsync } from './journal.js';
import type { CompensationStore } from './store.js';

export interface ParkerDeps {
  client: Redis | Cluster;
  store: CompensationStore;
  namespace: string;
  producerId: string;
  /** Base journal directory; this namespace's files go to `<journalDir>/<namespace>`. */
  journalDir: string;
  journalFsync: JournalFsync;
  requestTimeoutMs: number;
  now: () => number;
}

/**
 * Parks records that could not be delivered: in the Redis compensation store when Redis answers,
 * otherwise in the local journal, which `drainJournal()` moves into Redis once it is back.
 */
export class Parker {
  private journal: Promise<Journal> | undefined;
  readonly journalDir: string;

  constructor(private readonly deps: ParkerDeps) {
    // One directory per namespace: a drained record is parked under the namespace it came from.
    this.journalDir = join(deps.journalDir, deps.namespace);
  }

  /** Parks `entries` of one topic; resolves with where they went. Throws only if both places failed. */
  async park(topic: string, entries: CompensationEntry[]): Promise<'redis' | 'journal'> {
    if (this.deps.client.status === 'ready') {
      try {
        await this.parkInRedis(topic, entries);
        return 'redis';
      } catch {
        // Redis refused or went away while parking: the journal takes them.
      }
    }
    const journal = await (this.journal ??= Journal.open(this.journalDir, this.deps.producerId, { fsync: this.deps.journalFsync }));
    await journal.append(entries.map((e) => Buffer.from(encodeEntry(e))));
    return 'journal';
  }

  /**
   * Moves every journal file of this namespace (this process's and any crashed one's) into the Redis
   * store. Returns how many records were moved. A file that cannot be moved is released for later.
   */
  async drainJournal(): Promise<number> {
    let moved = 0;
    for (const claimed of await recover(this.journalDir)) {
      try {
        const byTopic = new Map<string, CompensationEntry[]>();
        for (const raw of claimed.records) {
          const entry = decodeEntry(raw);
          byTopic.set(entry.topic, [...(byTopic.get(entry.topic) ?? []), entry]);
        }
        for (const [topic, entries] of byTopic) await this.parkInRedis(topic, entries);
        await complete(claimed);
        moved += claimed.records.length;
      } catch (err) {
        await release(claimed);
        throw err;
      }
    }
    return moved;
  }

  /** Records waiting in this namespace's journal files (this process's and any crashed one's). */
  async journaled(): Promise<number> {
    let names: string[];
    try {
      names = await readdir(this.journalDir);
    } catch {
      return 0; // no journal directory: nothing was ever journaled
    }
    let count = 0;
    for (const name of names) {
      if (!/^journal-.*\.log(\.draining-.*)?$/.test(name)) continue;
      count += (await readJournalFile(join(this.journalDir, name)).catch(() => ({ records: [] }))).records.length;
    }
    return count;
  }

  /** Topics that have parked records in Redis (from any producer of the namespace). */
  async topics(): Promise<string[]> {
    return withDeadline(this.deps.client.smembers(compensationTopicsKey(this.deps.namespace)), this.deps.requestTimeoutMs, 'SMEMBERS compensation topics');
  }

  async close(): Promise<void> {
    const journal = await this.journal;
    await journal?.close();
  }

  private async parkInRedis(topic: string, entries: CompensationEntry[]): Promise<void> {
    // Due at once: the replayer retries as soon as Redis takes writes again.
    await this.deps.store.park(topic, entries, this.deps.now());
    await withDeadline(this.deps.client.sadd(compensationTopicsKey(this.deps.namespace), topic), this.deps.requestTimeoutMs, 'SADD compensation topic');
  }
}
