import { backoffDelay } from '../backoff.js';
import type { ResolvedConfig } from '../config.js';
import { withDeadline } from '../connection.js';
import { DeliveryError, ProducerError } from '../errors.js';
import { producerStateKey, streamKey } from '../keys.js';
import { classifyRedisError } from '../redis-errors.js';
import type { Scripts } from '../scripts.js';
import type { EventSink, SendAck } from '../sender.js';
import type { ReplayStatsHooks } from '../stats/collector.js';
import type { CompensationEntry } from './entry.js';
import type { Parker } from './parker.js';
import type { CompensationStore } from './store.js';

export interface ReplayerDeps {
  config: ResolvedConfig;
  producerId: string;
  store: CompensationStore;
  parker: Parker;
  scripts: Scripts;
  events: EventSink;
  /** Topics this producer has used; the store's topic set adds those of other producers. */
  knownTopics: () => Iterable<string>;
  /** True when Redis takes commands. */
  ready: () => boolean;
  /** Publishes a parked record again through the normal path; rejects instead of parking it again. */
  republish: (topic: string, shard: number, fields: (string | Buffer)[]) => Promise<SendAck>;
  /** Milliseconds since the epoch: the store's schedule is in wall-clock time. */
  wallClock: () => number;
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
  /** Possibly-persisted records found in their stream already (the lost reply's batch had landed); removed, not written again. */
  alreadyDelivered: number;
  /** Records whose replay failed and that were rescheduled with backoff. */
  retryLater: number;
  /** Records that failed their last allowed attempt (`compensation.maxAttempts`) and moved to the dead-letter set. */
  deadLettered: number;
}

/**
 * Claims due parked records with a lease (several producer processes can replay at once without
 * replaying a record twice), publishes them again, removes them on success, backs off on failure
 * and dead-letters them after `compensation.maxAttempts`. A "possibly persisted" record is first
 * checked against its batch's idempotence state, so a record that did land is not written twice.
 */
export class Replayer {
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<ReplayRound> | undefined;
  private stopped = false;

  constructor(private readonly deps: ReplayerDeps) {}

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

  /** Stops the background rounds and waits for the one running. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.round?.catch(() => undefined);
  }

  /** One round now: drain the journal, then replay what is due. Rounds never overlap. */
  runOnce(): Promise<ReplayRound> {
    this.round ??= this.replayDue().finally(() => (this.round = undefined));
    return this.round;
  }

  private async replayDue(): Promise<ReplayRound> {
    const result: ReplayRound = { drained: 0, replayed: 0, alreadyDelivered: 0, retryLater: 0, deadLettered: 0 };
    if (!this.deps.ready()) return result;
    const { store, parker, config, producerId } = this.deps;
    result.drained = await parker.drainJournal();
    const topics = new Set([...this.deps.knownTopics(), ...(await parker.topics())]);
    const { batchSize, leaseMs } = config.compensation.replay;
    for (const topic of topics) {
      const entries = await store.claim(topic, { limit: batchSize, leaseMs, owner: producerId });
      const outcomes = await Promise.all(entries.map((entry) => this.replayOne(entry)));
      for (const outcome of outcomes) result[outcome]++;
      this.deps.stats?.replayOutcomes(topic, outcomes);
    }
    return result;
  }

  private async replayOne(entry: CompensationEntry): Promise<'replayed' | 'alreadyDelivered' | 'retryLater' | 'deadLettered'> {
    const { store, config, producerId, events, scripts } = this.deps;
    const { topic, shard } = entry;
    try {
      if (entry.persisted === 'possibly') {
        const stateKey = producerStateKey(streamKey(config.namespace, topic, shard), entry.producerId);
        const check = scripts.checkBatch(stateKey, entry.seq, config.idempotenceStateTtlMs);
        if (await withDeadline(check, config.requestTimeoutMs, 'check-batch')) {
          await store.complete(topic, [entry.id], producerId);
          if (events.listening('replay')) events.emit('replay', { topic, shard, entryId: entry.id, outcome: 'already-delivered', streamId: undefined });
          return 'alreadyDelivered';
        }
      }
      const ack = await this.deps.republish(topic, shard, entry.fields);
      await store.complete(topic, [entry.id], producerId);
      if (events.listening('replay')) {
        events.emit('replay', { topic, shard, entryId: entry.id, outcome: 'replayed', streamId: ack.status === 'delivered' ? ack.id : undefined });
      }
      return 'replayed';
    } catch (err) {
      return this.failed(entry, err);
    }
  }

  private async failed(entry: CompensationEntry, err: unknown): Promise<'retryLater' | 'deadLettered'> {
    const { store, config, producerId, events, wallClock } = this.deps;
    const attempts = entry.attempts + 1;
    const error = asProducerError(err, 'Replay failed');
    const updated: CompensationEntry = { ...entry, attempts, lastError: `${error.code}: ${error.message}` };
    // A replay whose own reply was lost may have landed: the next check asks about that batch.
    if (err instanceof DeliveryError && err.persisted === 'possibly' && err.batch) {
      Object.assign(updated, { persisted: 'possibly', producerId, seq: err.batch.seq });
    }
    if (attempts >= config.compensation.maxAttempts) {
      await store.deadLetter(entry.topic, updated, producerId);
      if (events.listening('dead-letter')) {
        events.emit('dead-letter', { topic: entry.topic, shard: entry.shard, entryId: entry.id, attempts, lastError: updated.lastError });
      }
      return 'deadLettered';
    }
    const { backoffMs, backoffMaxMs } = config.compensation.replay;
    await store.retryLater(entry.topic, updated, wallClock() + backoffDelay(attempts, backoffMs, backoffMaxMs, this.deps.random), producerId);
    return 'retryLater';
  }
}

function asProducerError(err: unknown, what: string): ProducerError {
  if (err instanceof ProducerError) return err;
  const { code, retriable } = classifyRedisError(err);
  return new ProducerError(`${what}: ${err instanceof Error ? err.message : String(err)}`, code, { retriable, cause: err });
}
