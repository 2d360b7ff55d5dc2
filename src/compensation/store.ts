import type { Cluster, Redis } from 'ioredis';
import { withDeadline } from '../connection.js';
import { script, type KeyedScriptCall } from '../scripts.js';
import { ProducerError } from '../errors.js';
import { compensationKeys, type CompensationKeys } from '../keys.js';
import { nameProblem } from '../names.js';
import { serializeEntry, tryParseEntry, type CompensationEntry } from './entry.js';

/**
 * The compensation store: the parking lot for records that could not be delivered. Per topic, all
 * under the one hash tag `{ns:compensation:topic}` (one Cluster slot):
 *
 * - `:zset`  schedule: entry id → when it was parked (ms); replay takes entries in this order
 * - `:data`  hash: entry id → `serializeEntry(entry)` JSON (dead-lettered entries keep theirs)
 * - `:dead`  dead-letter zset: entry id → when it was dead-lettered (ms)
 * - `:lease` hash: entry id → `<owner> <lease end ms>` of the replayer holding it
 * - `:hold`  hash: shard → time before which its entries are not replayed (after a failed replay)
 * - `:done`  zset: entry id → when it was replayed (or found in its stream), kept for
 *            `doneTtlMs`, so a late copy of a record is never parked and replayed again
 *
 * Every write is one Lua script from `lua/compensation-*.lua`; every Redis call has a deadline.
 * Leases and holds use the server's clock.
 */

export interface CompensationStoreOptions {
  /** The client the store runs on; the scripts are registered on it. */
  client: Redis | Cluster;
  /** Key namespace, as the producer's `namespace`. */
  namespace: string;
  /** Deadline of each Redis call (ms); ioredis can leave a call unsettled forever after a reconnect. */
  requestTimeoutMs: number;
  /** Clock (ms since the epoch) for the requeue time of dead letters. @default Date.now */
  wallClock?: () => number;
  /** How long ids of replayed records are remembered, so a late copy is not parked again (ms). @default 7 days */
  doneTtlMs?: number;
}

export interface ClaimOptions {
  /** Most entries to claim (positive integer). */
  limit: number;
  /** How long the claim holds the entries (ms, positive integer); after it, anyone may claim them. */
  leaseMs: number;
  /** Token naming the claiming replayer; `complete`/`retryLater`/`deadLetter` must pass the same one. */
  owner: string;
}

/** Which entries `producer.compensation.list()` returns: a page of pending or dead-lettered ones. */
export interface ListOptions {
  /** List dead-lettered entries instead of pending ones. @default false */
  dead?: boolean;
  /** Entries to skip, in score order. @default 0 */
  offset?: number;
  /** Most entries to return. @default 100 */
  count?: number;
}

/** What `producer.compensation.purge()` deletes. Without options: every pending entry of the topic. */
export interface PurgeOptions {
  /** Purge the dead-lettered entries instead of the pending ones (ignored with `ids`). @default false */
  dead?: boolean;
  /** Purge exactly these ids, pending or dead. */
  ids?: string[];
}

/** Counts of one topic's compensation store, from `producer.compensation.stats()`. */
export interface CompensationStats {
  /** Entries scheduled, due or not (leased ones included). */
  pending: number;
  /** Pending entries without a lease (a lease that expired unclaimed still counts as held; a shard on hold counts as due). */
  due: number;
  /** Dead-lettered entries. */
  dead: number;
  /** When the oldest pending entry was parked (ms since the epoch); undefined when none is pending. */
  oldestParkedAt: number | undefined;
}

/** Entries handled per script call when a method walks a whole set (purge, requeue all). */
const PAGE = 500;

function invalid(message: string): ProducerError {
  return new ProducerError(message, 'ERR_INVALID_ARGUMENT');
}

function checkPositiveInteger(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw invalid(`Expected \`${name}\` to be a positive integer, got \`${String(value)}\` (${typeof value})`);
  }
}

export class CompensationStore {
  private readonly client: Redis | Cluster;
  private readonly namespace: string;
  private readonly timeoutMs: number;
  private readonly wallClock: () => number;
  private readonly doneTtlMs: number;
  private readonly scripts: {
    park: KeyedScriptCall<'compensation-park'>;
    claim: KeyedScriptCall<'compensation-claim'>;
    settle: KeyedScriptCall<'compensation-settle'>;
    requeue: KeyedScriptCall<'compensation-requeue'>;
    delete: KeyedScriptCall<'compensation-delete'>;
  };

  constructor(options: CompensationStoreOptions) {
    const problem = nameProblem(options.namespace);
    if (problem !== undefined) throw invalid(`Expected \`namespace\` to be a valid name: ${problem}, got \`${options.namespace}\``);
    checkPositiveInteger('requestTimeoutMs', options.requestTimeoutMs);
    this.client = options.client;
    this.namespace = options.namespace;
    this.timeoutMs = options.requestTimeoutMs;
    this.wallClock = options.wallClock ?? Date.now;
    this.doneTtlMs = options.doneTtlMs ?? 7 * 24 * 3_600_000;
    this.scripts = {
      park: script(this.client, 'compensation-park'),
      claim: script(this.client, 'compensation-claim'),
      settle: script(this.client, 'compensation-settle'),
      requeue: script(this.client, 'compensation-requeue'),
      delete: script(this.client, 'compensation-delete'),
    };
  }

  /**
   * Parks `entries` (all of `topic`) in one script call, ordered by their `parkedAt`. An entry
   * already parked under the same id (pending or dead), or replayed within `doneTtlMs`, is left as it is.
   */
  async park(topic: string, entries: CompensationEntry[]): Promise<void> {
    const k = this.keys(topic);
    if (entries.length === 0) return;
    const args: string[] = [];
    for (const entry of entries) {
      this.checkEntry(topic, entry);
      args.push(entry.id, String(this.time('parkedAt', entry.parkedAt)), serializeEntry(entry));
    }
    await this.call(this.scripts.park(k, ...args), `Parking ${entries.length} records of "${topic}"`);
  }

  /**
   * Leases up to `limit` pending entries to `owner` for `leaseMs` and returns them in order. A
   * shard whose earlier entries someone else holds, or that is on hold after a failed replay,
   * gives none (its order is kept). Entries this version cannot decode are dead-lettered instead
   * of returned, so they cannot block the replayer.
   */
  async claim(topic: string, { limit, leaseMs, owner }: ClaimOptions): Promise<CompensationEntry[]> {
    const k = this.keys(topic);
    checkPositiveInteger('limit', limit);
    checkPositiveInteger('leaseMs', leaseMs);
    this.checkOwner(owner);
    const reply = (await this.call(this.scripts.claim(k, limit, leaseMs, owner), `Claiming compensation entries of "${topic}"`)) as string[];
    const entries: CompensationEntry[] = [];
    const unreadable: string[] = [];
    for (let i = 0; i + 1 < reply.length; i += 2) {
      const id = reply[i] as string;
      const raw = reply[i + 1] as string;
      const entry = tryParseEntry(raw);
      if (entry === undefined) unreadable.push(id, raw);
      else entries.push(entry);
    }
    if (unreadable.length > 0) await this.settle(topic, 'dead', owner, '', unreadable, 'Dead-lettering unreadable compensation entries');
    return entries;
  }

  /** The entries among `ids` still leased by `owner` are in their stream: deletes them; returns how many. */
  async complete(topic: string, ids: string[], owner: string): Promise<number> {
    if (ids.length === 0) return 0;
    this.checkIds(ids);
    return this.settle(topic, 'complete', owner, this.doneTtlMs, ids, `Completing ${ids.length} compensation entries`);
  }

  /**
   * Stores `entries` as they are now (the replay batch about to carry them), keeping the lease.
   * Returns how many `owner` still held.
   */
  async mark(topic: string, entries: CompensationEntry[], owner: string): Promise<number> {
    return this.settle(topic, 'mark', owner, '', this.pairs(topic, entries), `Marking ${entries.length} compensation entries`);
  }

  /**
   * Stores `entries` (their updated attempts, last error, persisted status), releases their leases
   * and holds their shards for `holdMs`: after it, each shard's entries are replayed again together,
   * in order. Returns how many `owner` still held.
   */
  async retryLater(topic: string, entries: CompensationEntry[], holdMs: number, owner: string): Promise<number> {
    return this.settle(topic, 'retry', owner, this.time('holdMs', holdMs), this.pairs(topic, entries), `Rescheduling ${entries.length} compensation entries`);
  }

  /** Stores `entries` (with their last error) and moves them to the dead-letter set. Returns how many `owner` still held. */
  async deadLetter(topic: string, entries: CompensationEntry[], owner: string): Promise<number> {
    return this.settle(topic, 'dead', owner, '', this.pairs(topic, entries), `Dead-lettering ${entries.length} compensation entries`);
  }

  private pairs(topic: string, entries: CompensationEntry[]): string[] {
    const pairs: string[] = [];
    for (const entry of entries) {
      this.checkEntry(topic, entry);
      pairs.push(entry.id, serializeEntry(entry));
    }
    return pairs;
  }

  private async settle(topic: string, action: 'complete' | 'mark' | 'retry' | 'dead', owner: string, ms: number | '', items: string[], what: string): Promise<number> {
    const k = this.keys(topic);
    this.checkOwner(owner);
    if (items.length === 0) return 0;
    return (await this.call(this.scripts.settle(k, action, owner, ms, ...items), `${what} of "${topic}"`)) as number;
  }

  /** Counts of the topic's store, read in one pipeline. */
  async stats(topic: string): Promise<CompensationStats> {
    const k = this.keys(topic);
    // A pipeline, not MULTI: Redis refuses a whole MULTI while over maxmemory, reads included, and
    // an operator needs these counts most exactly then.
    const replies = await this.call(this.client.pipeline().zcard(k.zset).hlen(k.lease).zcard(k.dead).zrange(k.zset, '0', '0', 'WITHSCORES').exec(), `Reading compensation stats of "${topic}"`);
    if (replies === null) throw new ProducerError(`Reading compensation stats of "${topic}" got no reply`, 'ERR_BAD_REPLY', { retriable: true });
    const values = replies.map(([err, value]) => {
      if (err) throw err;
      return value;
    });
    // ioredis's Cluster pipeline re-sends after some redirections; never report replies of the wrong shape.
    if (values.length !== 4 || !values.slice(0, 3).every((v) => typeof v === 'number') || !Array.isArray(values[3])) {
      throw new ProducerError(`Reading compensation stats of "${topic}" got replies of the wrong shape`, 'ERR_BAD_REPLY', { retriable: true });
    }
    const oldest = values[3] as string[];
    const pending = values[0] as number;
    return {
      pending,
      due: Math.max(0, pending - (values[1] as number)),
      dead: values[2] as number,
      oldestParkedAt: oldest[1] === undefined ? undefined : Number(oldest[1]),
    };
  }

  /** Pending (or, with `dead`, dead-lettered) entries in score order; unreadable ones are skipped. */
  async list(topic: string, { dead = false, offset = 0, count = 100 }: ListOptions = {}): Promise<CompensationEntry[]> {
    const k = this.keys(topic);
    if (!Number.isSafeInteger(offset) || offset < 0) {
      throw invalid(`Expected \`offset\` to be a non-negative integer, got \`${String(offset)}\` (${typeof offset})`);
    }
    checkPositiveInteger('count', count);
    const ids = await this.call(this.client.zrange(dead ? k.dead : k.zset, offset, String(offset + count - 1)), `Listing compensation entries of "${topic}"`);
    return this.read(topic, k, ids);
  }

  /**
   * Moves dead-lettered entries (all of them when `ids` is omitted) back to the schedule, due now,
   * with `attempts` reset to 0. Returns how many moved.
   */
  async requeueDead(topic: string, ids?: string[]): Promise<number> {
    const k = this.keys(topic);
    if (ids !== undefined) {
      this.checkIds(ids);
      let moved = 0;
      for (let i = 0; i < ids.length; i += PAGE) moved += await this.requeuePage(topic, k, ids.slice(i, i + PAGE));
      return moved;
    }
    let moved = 0;
    for (;;) {
      const page = await this.call(this.client.zrange(k.dead, 0, String(PAGE - 1)), `Listing dead compensation entries of "${topic}"`);
      if (page.length === 0) return moved;
      const n = await this.requeuePage(topic, k, page);
      moved += n;
      // Nothing moved: what is left is being changed by someone else; stop rather than spin.
      if (n === 0) return moved;
    }
  }

  /**
   * Deletes entries regardless of leases: the given `ids` wherever they are, else every pending
   * entry, or every dead-lettered one with `dead: true`. Returns how many were deleted.
   */
  async purge(topic: string, { dead = false, ids }: PurgeOptions = {}): Promise<number> {
    const k = this.keys(topic);
    if (ids !== undefined) return this.remove(topic, ids);
    let deleted = 0;
    for (;;) {
      const n = (await this.call(this.scripts.delete(k, dead ? 'dead' : 'pending', PAGE), `Purging compensation entries of "${topic}"`)) as number;
      deleted += n;
      if (n < PAGE) return deleted;
    }
  }

  /** Deletes the entries `ids`, pending or dead, whoever holds them. Returns how many existed. */
  async remove(topic: string, ids: string[]): Promise<number> {
    return this.deletePages(topic, ids, ['ids'], 'Removing');
  }

  /**
   * The records `ids` turned out to be in their stream (a batch whose reply was lost had landed):
   * deletes their entries and remembers the ids like replayed ones. Returns how many existed.
   */
  async landed(topic: string, ids: string[]): Promise<number> {
    return this.deletePages(topic, ids, ['landed', this.doneTtlMs], 'Removing landed');
  }

  private async deletePages(topic: string, ids: string[], mode: (string | number)[], what: string): Promise<number> {
    const k = this.keys(topic);
    this.checkIds(ids);
    let deleted = 0;
    for (let i = 0; i < ids.length; i += PAGE) {
      const page = ids.slice(i, i + PAGE);
      deleted += (await this.call(this.scripts.delete(k, ...mode, ...page), `${what} ${page.length} compensation entries of "${topic}"`)) as number;
    }
    return deleted;
  }

  private async requeuePage(topic: string, k: CompensationKeys, ids: string[]): Promise<number> {
    if (ids.length === 0) return 0;
    const raws = await this.call(this.client.hmget(k.data, ...ids), `Reading dead compensation entries of "${topic}"`);
    const pairs: string[] = [];
    const orphans: string[] = [];
    ids.forEach((id, i) => {
      const raw = raws[i];
      if (raw === null || raw === undefined) {
        orphans.push(id);
        return;
      }
      const entry = tryParseEntry(raw);
      // An unreadable entry goes back as it is; the replayer will dead-letter it again.
      pairs.push(id, entry === undefined ? raw : serializeEntry({ ...entry, attempts: 0 }));
    });
    // A dead id without data cannot be replayed: drop it so requeueing all terminates.
    if (orphans.length > 0) await this.remove(topic, orphans);
    if (pairs.length === 0) return 0;
    return (await this.call(this.scripts.requeue(k, this.wallClock(), ...pairs), `Requeueing ${pairs.length / 2} dead compensation entries of "${topic}"`)) as number;
  }

  private async read(topic: string, k: CompensationKeys, ids: string[]): Promise<CompensationEntry[]> {
    if (ids.length === 0) return [];
    const raws = await this.call(this.client.hmget(k.data, ...ids), `Reading compensation entries of "${topic}"`);
    const entries: CompensationEntry[] = [];
    for (const raw of raws) {
      const entry = raw === null ? undefined : tryParseEntry(raw);
      if (entry !== undefined) entries.push(entry);
    }
    return entries;
  }

  private call<T>(call: Promise<T>, what: string): Promise<T> {
    return withDeadline(call, this.timeoutMs, what);
  }

  private keys(topic: string): CompensationKeys {
    const problem = nameProblem(topic);
    if (problem !== undefined) throw invalid(`Expected \`topic\` to be a valid name: ${problem}, got \`${topic}\``);
    return compensationKeys(this.namespace, topic);
  }

  private time(name: string, value: number): number {
    if (!Number.isSafeInteger(value)) throw invalid(`Expected \`${name}\` to be an integer time in ms, got \`${String(value)}\` (${typeof value})`);
    return value;
  }

  private checkOwner(owner: string): void {
    if (typeof owner !== 'string' || owner === '' || owner.includes(' ')) throw invalid(`Expected \`owner\` to be a non-empty string without spaces, got \`${String(owner)}\``);
  }

  private checkIds(ids: string[]): void {
    for (const id of ids) {
      if (typeof id !== 'string' || id === '') throw invalid(`Expected every id to be a non-empty string, got \`${String(id)}\``);
    }
  }

  private checkEntry(topic: string, entry: CompensationEntry): void {
    if (entry.topic !== topic) throw invalid(`Expected entry ${entry.id} to belong to topic "${topic}", got "${entry.topic}"`);
    if (typeof entry.id !== 'string' || entry.id === '') throw invalid(`Expected entry id to be a non-empty string, got \`${String(entry.id)}\``);
  }
}
