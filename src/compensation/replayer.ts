import { backoffDelay } from '../backoff.js';
import { encodeBatch } from '../batch-codec.js';
import type { ResolvedConfig } from '../config.js';
import { withDeadline } from '../connection.js';
import { ProducerError } from '../errors.js';
import { producerStateKey, streamKey } from '../keys.js';
import { classifyRedisError } from '../redis-errors.js';
import { waitArgs, type Scripts, type TrimArgs, type WaitArgs } from '../scripts.js';
import type { EventSink } from '../events.js';
import type { ReplayStatsHooks } from '../stats/collector.js';
import type { CompensationEntry } from './entry.js';
import type { Parker } from './parker.js';
import type { CompensationStore } from './store.js';

export interface ReplayerDeps {
  config: ResolvedConfig;
  /** This producer instance's identity: the lease owner, and (with a suffix) the replay batches' idempotence identity. */
  sessionId: string;
  store: CompensationStore;
  parker: Parker;
  scripts: Scripts;
  events: EventSink;
  /** Topics this producer has used; the store's topic set adds those of other producers. */
  knownTopics: () => Iterable<string>;
  /** True when Redis takes commands. */
  ready: () => boolean;
  /** Trimming to apply when replaying into `topic`'s streams. */
  trimOf: (topic: string) => TrimArgs;
  /** The shard count Redis records for `topic`, or undefined when none is recorded. */
  storedShards: (topic: string) => Promise<number | undefined>;
  random: () => number;
  /** Counts replay outcomes for the `stats` event (once per topic and round). */
  stats?: ReplayStatsHooks;
}

/** What one replay round did. */
export interface ReplayRound {
  /** Records moved from the local journal into Redis. */
  drained: number;
  /** Parked records written to their stream. */
  replayed: number;
  /** Possibly-persisted records found in their stream already (a batch whose reply was lost had landed); removed, not written again. */
  alreadyDelivered: number;
  /** Records whose replay failed and that were rescheduled with backoff. */
  retryLater: number;
  /** Records that failed their last allowed attempt (`compensation.maxAttempts`) and moved to the dead-letter set. */
  deadLettered: number;
}

type Outcome = Exclude<keyof ReplayRound, 'drained'>;

/**
 * Replays parked records: claims them with a lease (several producer processes can replay at once),
 * writes each shard's records as batches in their original order, removes them on success, holds
 * the shard with backoff on failure, and dead-letters them after `compensation.maxAttempts`.
 *
 * Exactly once: before a replay batch is sent, its entries are rewritten to name it (identity and
 * sequence, "possibly persisted"). Whoever claims them next, after a lost reply, a failed
 * bookkeeping call, an expired lease or a crash, first asks the shard whether that batch landed
 * (`check-batch`, which also fences it if it did not), so no record is written twice.
 */
export class Replayer {
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<ReplayRound> | undefined;
  private stopped = false;
  /** Idempotence identity of replay batches, distinct from the sender's. */
  private readonly replayId: string;
  /** Next replay sequence per stream. */
  private readonly nextSeq = new Map<string, number>();
  /** A replay batch per stream whose reply was lost: settled before the next one is sent there. */
  private readonly unsettled = new Map<string, number>();
  private readonly wait: WaitArgs | undefined;

  constructor(private readonly deps: ReplayerDeps) {
    this.replayId = `${deps.sessionId}.replay`;
    this.wait = waitArgs(deps.config);
  }

  start(): void {
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.runOnce()
        .catch((err: unknown) => this.deps.events.emit('error', asProducerError(err, 'A replay round failed')))
        .finally(() => this.start());
    }, this.deps.config.compensation.replay.intervalMs);
    this.timer.unref();
  }

  /** Stops the background rounds and waits up to `timeoutMs` for the one running. */
  async stop(timeoutMs: number): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    // A round cut short is safe: its entries stay leased and marked, the next claimer checks them.
    if (this.round) await withDeadline(this.round, timeoutMs, 'The replay round').catch(() => undefined);
  }

  /** One round now: drain the journal, then replay what is due. Rounds never overlap. */
  runOnce(): Promise<ReplayRound> {
    this.round ??= this.replayDue().finally(() => (this.round = undefined));
    return this.round;
  }

  private async replayDue(): Promise<ReplayRound> {
    const result: ReplayRound = { drained: 0, replayed: 0, alreadyDelivered: 0, retryLater: 0, deadLettered: 0 };
    if (!this.deps.ready()) return result;
    const { store, parker, config, sessionId } = this.deps;
    let firstError: unknown;
    try {
      result.drained = await parker.drainJournal();
    } catch (err) {
      // Records set aside as unreadable do not stop the round; Redis refusing the drain does.
      if (!(err instanceof ProducerError && err.code === 'ERR_JOURNAL_UNREADABLE')) throw err;
      firstError = err;
    }
    const { batchSize, leaseMs } = config.compensation.replay;
    const topics = new Set([...this.deps.knownTopics(), ...(await parker.topics())]);
    for (const topic of topics) {
      try {
        const byShard = new Map<number, CompensationEntry[]>();
        for (const entry of await store.claim(topic, { limit: batchSize, leaseMs, owner: sessionId })) {
          const group = byShard.get(entry.shard);
          if (group === undefined) byShard.set(entry.shard, [entry]);
          else group.push(entry);
        }
        if (byShard.size === 0) continue;
        const outcomes = (await Promise.all([...byShard].map(([shard, entries]) => this.replayShard(topic, shard, entries)))).flat();
        for (const outcome of outcomes) result[outcome]++;
        this.deps.stats?.replayOutcomes(topic, outcomes);
      } catch (err) {
        firstError ??= err;
      }
    }
    if (firstError !== undefined) throw firstError;
    return result;
  }

  /** Replays one shard's claimed entries, in order; on the first failure the rest wait together. */
  private async replayShard(topic: string, shard: number, entries: CompensationEntry[]): Promise<Outcome[]> {
    const { config, store, sessionId, events } = this.deps;
    const stream = streamKey(config.namespace, topic, shard);
    const outcomes: Outcome[] = [];
    let rest = entries;
    try {
      const shards = await this.deps.storedShards(topic);
      if (shards !== undefined && shard >= shards) {
        const reason = new ProducerError(`Topic "${topic}" has ${shards} shards in Redis; a record parked for shard ${shard} cannot be replayed`, 'ERR_TOPIC_CONFIG');
        return await this.deadLetter(topic, entries, reason);
      }
      const settling = this.unsettled.get(stream);
      if (settling !== undefined) {
        await this.checkBatch(stream, this.replayId, settling);
        this.unsettled.delete(stream);
      }
      rest = [];
      // One question per batch, however many of its records are parked.
      const landed = new Map<string, Promise<boolean>>();
      const batchLanded = (entry: CompensationEntry) => {
        const key = `${entry.producerId} ${entry.seq}`;
        let answer = landed.get(key);
        if (answer === undefined) landed.set(key, (answer = this.checkBatch(stream, entry.producerId, entry.seq)));
        return answer;
      };
      for (const entry of entries) {
        if (entry.persisted === 'possibly' && (await batchLanded(entry))) {
          await store.complete(topic, [entry.id], sessionId);
          outcomes.push('alreadyDelivered');
          if (events.listening('replay')) events.emit('replay', { topic, shard, entryId: entry.id, outcome: 'already-delivered', streamId: undefined });
        } else {
          rest.push(entry);
        }
      }
      while (rest.length > 0) {
        const chunk = this.nextChunk(rest);
        const seq = (this.nextSeq.get(stream) ?? 0) + 1;
        this.nextSeq.set(stream, seq);
        const marked = chunk.map((e) => ({ ...e, persisted: 'possibly' as const, producerId: this.replayId, seq }));
        // Lost leases: another replayer holds these now and its outcome wins.
        if ((await store.mark(topic, marked, sessionId)) !== marked.length) return outcomes;
        rest = [...marked, ...rest.slice(chunk.length)];
        const reply = await this.publish(stream, topic, seq, marked).catch((err: unknown) => {
          // An error reply proves the replay batch wrote nothing: the marker no longer applies.
          if (classifyRedisError(err).persisted === 'not') rest = [...chunk.map((e) => ({ ...e, persisted: 'not' as const })), ...rest.slice(chunk.length)];
          throw err;
        });
        rest = rest.slice(marked.length);
        await store.complete(
          topic,
          marked.map((e) => e.id),
          sessionId,
        );
        for (let i = 0; i < marked.length; i++) {
          outcomes.push('replayed');
          if (events.listening('replay')) events.emit('replay', { topic, shard, entryId: marked[i]!.id, outcome: 'replayed', streamId: i < reply.count ? reply.idAt(i) : undefined });
        }
      }
      return outcomes;
    } catch (err) {
      return [...outcomes, ...(await this.retryLater(topic, rest, err))];
    }
  }

  /** The next replay batch: a prefix of `entries` within the batch limits (at least one entry). */
  private nextChunk(entries: CompensationEntry[]): CompensationEntry[] {
    const { batchMaxRecords, batchMaxBytes } = this.deps.config;
    let bytes = 0;
    let n = 0;
    while (n < entries.length && n < batchMaxRecords) {
      for (const f of entries[n]!.fields) bytes += typeof f === 'string' ? Buffer.byteLength(f) : f.length;
      if (n > 0 && bytes > batchMaxBytes) break;
      n++;
    }
    return entries.slice(0, n);
  }

  private async publish(stream: string, topic: string, seq: number, entries: CompensationEntry[]) {
    const { scripts, config } = this.deps;
    const idem = { stateKey: producerStateKey(stream, this.replayId), seq, stateTtlMs: config.idempotenceStateTtlMs };
    const call = scripts.publishBatch(stream, this.deps.trimOf(topic), idem, entries.length, encodeBatch(entries.map((e) => e.fields)), this.wait);
    try {
      return await withDeadline(call, config.requestTimeoutMs, 'publish-batch (replay)');
    } catch (err) {
      // Its reply may be lost: the next replay batch on this stream waits until this one is settled.
      if (classifyRedisError(err).persisted === 'possibly') this.unsettled.set(stream, seq);
      throw err;
    }
  }

  /** Did batch `seq` of `identity` land on `stream`? If not, it is fenced and never will. */
  private checkBatch(stream: string, identity: string, seq: number): Promise<boolean> {
    const { scripts, config } = this.deps;
    return withDeadline(scripts.checkBatch(producerStateKey(stream, identity), seq, config.idempotenceStateTtlMs), config.requestTimeoutMs, 'check-batch');
  }

  /** Counts a failed attempt for each entry; those out of attempts become dead letters, the rest wait. */
  private async retryLater(topic: string, entries: CompensationEntry[], err: unknown): Promise<Outcome[]> {
    if (entries.length === 0) return [];
    const { store, config, sessionId } = this.deps;
    const error = asProducerError(err, 'Replay failed');
    const lastError = `${error.code}: ${error.message}`;
    const updated = entries.map((e) => ({ ...e, attempts: e.attempts + 1, lastError }));
    const dead = updated.filter((e) => e.attempts >= config.compensation.maxAttempts);
    const later = updated.filter((e) => e.attempts < config.compensation.maxAttempts);
    const outcomes: Outcome[] = [];
    try {
      if (dead.length > 0) outcomes.push(...(await this.deadLetter(topic, dead, error)));
      if (later.length > 0) {
        const { backoffMs, backoffMaxMs } = config.compensation.replay;
        const attempts = Math.max(...later.map((e) => e.attempts));
        await store.retryLater(topic, later, backoffDelay(attempts, backoffMs, backoffMaxMs, this.deps.random), sessionId);
        outcomes.push(...later.map(() => 'retryLater' as const));
      }
    } catch {
      // The store is unreachable too: the leases expire and the entries are claimed again as they are.
      return [...outcomes, ...later.map(() => 'retryLater' as const)];
    }
    return outcomes;
  }

  private async deadLetter(topic: string, entries: CompensationEntry[], error: ProducerError): Promise<Outcome[]> {
    const { store, sessionId, events } = this.deps;
    const lastError = `${error.code}: ${error.message}`;
    const updated = entries.map((e) => ({ ...e, lastError }));
    await store.deadLetter(topic, updated, sessionId);
    for (const e of updated) {
      if (events.listening('dead-letter')) events.emit('dead-letter', { topic, shard: e.shard, entryId: e.id, attempts: e.attempts, lastError });
    }
    return updated.map(() => 'deadLettered' as const);
  }
}

function asProducerError(err: unknown, what: string): ProducerError {
  if (err instanceof ProducerError) return err;
  const { code, retriable } = classifyRedisError(err);
  return new ProducerError(`${what}: ${err instanceof Error ? err.message : String(err)}`, code, { retriable, cause: err });
}
