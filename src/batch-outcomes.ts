import type { Batch } from './accumulator.js';
import type { SendAck } from './acks.js';
import { RECORD_OVERHEAD_BYTES } from './buffer-gate.js';
import { parkedEntries, type CompensationEntry } from './compensation/entry.js';
import { DeliveryError, ProducerError, TopicConfigError, type FailedBatch, type Persisted } from './errors.js';
import type { EventSink } from './events.js';
import type { PublishReply } from './scripts.js';
import type { ShardState } from './shard-state.js';
import type { SenderStatsHooks } from './stats/collector.js';

export interface BatchOutcomeDeps {
  /** This producer instance's idempotence identity: entry ids and the parked records' writer. */
  sessionId: string;
  /** With idempotence on, a batch given up with its reply lost is settled before the shard's next. */
  idempotent: boolean;
  events: EventSink;
  /** Milliseconds since the epoch, for `parkedAt`. */
  wallClock: () => number;
  /** Monotonic milliseconds, for the `delivery` event's latency. */
  now: () => number;
  /** Parks undeliverable records (compensation on); throws if they could not be parked anywhere. */
  park?: (topic: string, entries: CompensationEntry[]) => Promise<'redis' | 'journal'>;
  /** Counts batch outcomes for the `stats` event (once per batch, never per record). */
  stats?: SenderStatsHooks;
}

/**
 * What happens to a batch once its fate is known: delivered (acks and the `delivery` event), given
 * up (parked for replay, in the shard's order, with `spill`), or failed (rejected sends and an
 * `error` that is never silent).
 */
export class BatchOutcomes {
  /** Fire-and-forget records that failed while nobody listened to `error`; `takeUnheard()` reports them. */
  private unheard: { records: number; error: DeliveryError } | undefined;

  constructor(private readonly deps: BatchOutcomeDeps) {}

  /** The script wrote the batch (or had written it): every waiter gets its id. */
  delivered(state: ShardState, batch: Batch<SendAck>, reply: PublishReply, calledAt: number): void {
    const { events, now } = this.deps;
    this.hook(() =>
      this.deps.stats?.batchDelivered(state.topic.name, state.shard, state.stream, batch.count, batch.bytes - batch.count * RECORD_OVERHEAD_BYTES, calledAt - batch.createdAt, now() - calledAt),
    );
    // Ids are built only for those who asked: a fire-and-forget batch with no `delivery` listener
    // never turns the script's one-id reply into a thousand strings.
    // A duplicate whose entries were trimmed since answers fewer ids: the first stands for the rest.
    const idAt = (i: number): string => (i < reply.count ? reply.idAt(i) : reply.count > 0 ? reply.idAt(0) : '0-0');
    const waiters = batch.waiters;
    if (waiters !== undefined) {
      const { topic, shard, stream } = state;
      for (let i = 0; i < waiters.length; i++) {
        waiters[i]?.resolve({ status: 'delivered', topic: topic.name, shard, stream, id: idAt(i) });
      }
    }
    if (events.listening('delivery')) {
      events.emit('delivery', {
        topic: state.topic.name,
        shard: state.shard,
        stream: state.stream,
        ids: Array.from({ length: batch.count }, (_, i) => idAt(i)),
        attempts: batch.attempts,
        latencyMs: now() - batch.createdAt,
      });
    }
  }

  /**
   * The batch will not be delivered: park its records for replay (compensation on), else fail them.
   * A record refused for its topic's shard count is never parked: replaying it could not succeed.
   */
  async giveUp(state: ShardState, batch: Batch<SendAck>, cause: unknown, code: string, retriable: boolean): Promise<void> {
    const persisted: Persisted = batch.possiblyPersisted ? 'possibly' : 'not';
    // Its reply was lost: the shard's next batch first learns whether it landed (and fences it if not).
    if (persisted === 'possibly' && this.deps.idempotent) state.unsettled = { seq: batch.seq, count: batch.count };
    const info: FailedBatch = { topic: state.topic.name, shard: state.shard, stream: state.stream, records: batch.count, attempts: batch.attempts, seq: batch.seq };
    const error = new DeliveryError(`Could not deliver ${batch.count} record(s) to ${state.stream} after ${batch.attempts} attempt(s): ${describeFailure(cause)}`, code, {
      retriable,
      persisted,
      cause,
      batch: info,
    });
    const park = this.deps.park;
    if (park === undefined || cause instanceof TopicConfigError) {
      this.fail(batch, error, cause);
      return;
    }
    const entries = parkedEntries(this.deps.sessionId, state.topic.name, state.shard, batch, persisted, `${code}: ${describeFailure(cause)}`, this.deps.wallClock());
    // A shard's batches are parked one after another, in the order they gave up (which is their
    // `parkedAt` order): a later batch parked first could be replayed first.
    state.parksPending++;
    const parking = state.parking.then(() => park(state.topic.name, entries)).finally(() => state.parksPending--);
    state.parking = parking.catch(() => undefined);
    let parkedIn: 'redis' | 'journal';
    try {
      parkedIn = await parking;
    } catch (parkError) {
      const failure = new DeliveryError(`Could not park ${entries.length} undeliverable record(s) of ${state.stream} in Redis nor in the journal: ${describeFailure(parkError)}`, 'ERR_PARK_FAILED', {
        retriable: false,
        persisted,
        cause: parkError,
        batch: info,
      });
      this.fail(batch, failure, cause);
      return;
    }
    const waiters = batch.waiters;
    if (waiters !== undefined) {
      for (let i = 0; i < waiters.length; i++) {
        waiters[i]?.resolve({ status: 'spilled', topic: state.topic.name, shard: state.shard, stream: state.stream, compensationId: entries[i]!.id, persisted, parkedIn, error });
      }
    }
    this.hook(() => this.deps.stats?.spilled(state.topic.name, state.shard, state.stream, entries.length, parkedIn));
    if (this.deps.events.listening('spill')) {
      this.deps.events.emit('spill', { topic: state.topic.name, shard: state.shard, stream: state.stream, ids: entries.map((e) => e.id), persisted, parkedIn, to: parkedIn, error });
    }
  }

  /**
   * The failure of fire-and-forget records nobody heard since the last call, as one error, and
   * forgets it (`flush()` rejects with it).
   */
  takeUnheard(): DeliveryError | undefined {
    const unheard = this.unheard;
    if (unheard === undefined) return undefined;
    this.unheard = undefined;
    return new DeliveryError(`${unheard.records} produced record(s) failed while nothing listened to the 'error' event; the last failure: ${unheard.error.message}`, unheard.error.code, {
      retriable: unheard.error.retriable,
      persisted: unheard.error.persisted,
      cause: unheard.error,
      batch: unheard.error.batch,
    });
  }

  /** Runs a stats hook; a hook that throws is reported, never turns a written batch into a failure. */
  hook(call: () => void): void {
    try {
      call();
    } catch (err) {
      this.deps.events.emit('error', new ProducerError(`A stats hook threw: ${describeFailure(err)}`, 'ERR_LISTENER', { cause: err }));
    }
  }

  /**
   * Fails every record of the batch: rejected sends and one `error` event. Fire-and-forget records
   * that fail while nobody listens to `error` raise a process warning and are kept for `takeUnheard()`.
   */
  private fail(batch: Batch<SendAck>, error: DeliveryError, cause: unknown): void {
    // A record refused for its topic's shard count fails with that error itself.
    const forWaiters = cause instanceof TopicConfigError ? cause : error;
    const waiters = batch.waiters;
    let unawaited = batch.count;
    if (waiters !== undefined) {
      for (const waiter of waiters) {
        if (waiter === undefined) continue;
        waiter.reject(forWaiters);
        unawaited--;
      }
    }
    if (error.batch) this.hook(() => this.deps.stats?.failed(error.batch!.topic, error.batch!.shard, error.batch!.stream, error.batch!.records));
    const heard = this.deps.events.listening('error');
    this.deps.events.emit('error', error);
    if (!heard && unawaited > 0) {
      this.unheard = { records: (this.unheard?.records ?? 0) + unawaited, error };
      process.emitWarning(`${unawaited} produced record(s) failed and nothing listens to the producer's 'error' event: ${error.message}`, { type: 'DeliveryWarning', code: error.code });
    }
  }
}

export function describeFailure(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
