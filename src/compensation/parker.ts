import type { Cluster, Redis } from 'ioredis';
import { appendFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { withDeadline } from '../connection.js';
import { ProducerError } from '../errors.js';
import { compensationTopicsKey } from '../keys.js';
import { serializeEntry, tryParseEntry, type CompensationEntry } from './entry.js';
import { complete, encodeRecords, Journal, readJournalFile, recover, release, type JournalFsync } from './journal.js';
import type { CompensationStore } from './store.js';

export interface ParkerDeps {
  client: Redis | Cluster;
  store: CompensationStore;
  namespace: string;
  /** Names this producer's journal file. */
  ownerId: string;
  /**
   * Base journal directory; files go to `<journalDir>/<namespace>/<target>`, so a record journaled
   * for one Redis is only ever drained into the same one.
   */
  journalDir: string;
  /** Identifies the Redis deployment (see `targetId`). */
  target: string;
  journalFsync: JournalFsync;
  requestTimeoutMs: number;
}

/**
 * Parks records that could not be delivered: in the Redis compensation store when Redis answers,
 * otherwise in the local journal, which `drainJournal()` moves into Redis once it is back.
 */
export class Parker {
  private journal: Promise<Journal> | undefined;
  /**
   * This producer's journal may hold records. Until a drain empties it, later records go there too:
   * parked in Redis they could be replayed (by any producer) before the earlier ones on disk.
   */
  private journaling = false;
  /** Parks that went to the journal, to tell whether one came in while a drain ran. */
  private journalAppends = 0;
  readonly journalDir: string;

  constructor(private readonly deps: ParkerDeps) {
    this.journalDir = join(deps.journalDir, deps.namespace, deps.target);
  }

  /**
   * Parks `entries` of one topic; resolves with where they went. Throws only if both places failed.
   * Takes at most twice `requestTimeoutMs`: once for Redis, once for the journal. A park in Redis
   * whose reply was lost also goes to the journal; the store keeps one copy per entry id, also after
   * the first copy was replayed, so that is harmless.
   */
  async park(topic: string, entries: CompensationEntry[]): Promise<'redis' | 'journal'> {
    if (this.deps.client.status === 'ready' && !this.journaling) {
      try {
        await this.parkInRedis(topic, entries);
        return 'redis';
      } catch {
        // Redis refused or went away while parking: the journal takes them.
      }
    }
    const { requestTimeoutMs, journalFsync, ownerId } = this.deps;
    this.journaling = true;
    this.journalAppends++;
    const append = (this.journal ??= Journal.open(this.journalDir, ownerId, { fsync: journalFsync })).then((journal) => journal.append(entries.map((e) => Buffer.from(serializeEntry(e)))));
    await withDeadline(append, requestTimeoutMs, 'Appending to the journal');
    return 'journal';
  }

  /**
   * Moves every journal file of this directory (this process's and any crashed one's) into the Redis
   * store. Returns how many records were moved. A file that cannot be moved is released for later;
   * records that cannot be decoded (a newer version wrote them, or they are damaged) are set aside
   * in an `unreadable-*.log` file beside the journal and reported, never retried forever.
   */
  async drainJournal(): Promise<number> {
    let moved = 0;
    const unreadable: Buffer[] = [];
    const appendsBefore = this.journalAppends;
    const files = await recover(this.journalDir);
    for (let f = 0; f < files.length; f++) {
      const claimed = files[f]!;
      try {
        const byTopic = new Map<string, CompensationEntry[]>();
        const setAside: Buffer[] = [];
        for (const raw of claimed.records) {
          const entry = tryParseEntry(raw);
          if (entry === undefined) {
            setAside.push(raw);
            continue;
          }
          const group = byTopic.get(entry.topic);
          if (group === undefined) byTopic.set(entry.topic, [entry]);
          else group.push(entry);
        }
        for (const [topic, entries] of byTopic) await this.parkInRedis(topic, entries);
        if (setAside.length > 0) await appendFile(join(this.journalDir, `unreadable-${Date.now()}.log`), encodeRecords(setAside), { mode: 0o600 });
        await complete(claimed);
        moved += claimed.records.length - setAside.length;
        unreadable.push(...setAside);
      } catch (err) {
        // Give back this file and every one claimed after it, or they would wait for the stale-claim timeout.
        await Promise.allSettled(files.slice(f).map((file) => release(file)));
        throw err;
      }
    }
    // Everything journaled before the drain is in Redis now: parks may go there again, unless one
    // went to the journal meanwhile (it waits for the next drain, and so must what follows it).
    if (this.journalAppends === appendsBefore) this.journaling = false;
    if (unreadable.length > 0) {
      throw new ProducerError(`${unreadable.length} journal record(s) in ${this.journalDir} could not be decoded; they were set aside in unreadable-*.log there`, 'ERR_JOURNAL_UNREADABLE');
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

  /**
   * Both calls within one request deadline. The topic is listed first: a park whose reply is lost
   * may still have landed, and a replayer must find it.
   */
  private parkInRedis(topic: string, entries: CompensationEntry[]): Promise<void> {
    const { store, client, namespace, requestTimeoutMs } = this.deps;
    const both = client.sadd(compensationTopicsKey(namespace), topic).then(() => store.park(topic, entries));
    return withDeadline(both, requestTimeoutMs, `Parking ${entries.length} records of "${topic}"`).then(() => undefined);
  }
}
