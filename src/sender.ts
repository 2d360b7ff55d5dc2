import type { Cluster, Redis } from 'ioredis';
import PQueue from 'p-queue';
import { counter, type Batch, type Waiter } from './accumulator.js';
import type { SendAck } from './acks.js';
import { backoffDelay } from './backoff.js';
import type { BufferedRecord } from './batch-codec.js';
import { BatchOutcomes, describeFailure } from './batch-outcomes.js';
import type { BufferGate } from './buffer-gate.js';
import type { CompensationEntry } from './compensation/entry.js';
import type { ResolvedConfig } from './config.js';
import { whenReady, withDeadline } from './connection.js';
import { DeliveryError, ProducerError } from './errors.js';
import type { EventSink } from './events.js';
import { releaseIdle, type IdleReleaseHooks } from './idle-release.js';
import type { StickyShardChooser } from './partitioner.js';
import { BatchCompressor } from './compress-batch.js';
import { classifyRedisError } from './redis-errors.js';
import { mayRetry } from './retry-policy.js';
import { waitArgs, type Scripts, type WaitArgs } from './scripts.js';
import { ShardState } from './shard-state.js';
import type { SenderStatsHooks } from './stats/collector.js';
import type { TopicState } from './topics.js';

export interface SenderDeps {
  config: ResolvedConfig;
  /** This producer instance's idempotence identity (`producerId` plus a fresh session suffix). */
  sessionId: string;
  client: Redis | Cluster;
  scripts: Scripts;
  gate: BufferGate;
  sticky: StickyShardChooser;
  events: EventSink;
  /** Monotonic milliseconds. */
  now: () => number;
  /** Milliseconds since the epoch, for `parkedAt`. */
  wallClock: () => number;
  random: () => number;
  /** Every topic in use, for `abort()` and the expiry sweep. */
  topics: () => Iterable<SenderTopic>;
  /** Told when a batch that failed with its reply lost turns out to have landed, or not. */
  onSettled?: (topic: string, shard: number, seq: number, count: number, landed: boolean) => void;
  /** Parks undeliverable records (compensation on); throws if they could not be parked anywhere. */
  park?: (topic: string, entries: CompensationEntry[]) => Promise<'redis' | 'journal'>;
  /** Counts batch outcomes for the `stats` event (once per batch, never per record). */
  stats?: SenderStatsHooks;
  /** Told when an idle shard's or topic's state is forgotten (after `metadataMaxIdleMs`). */
  idle?: IdleReleaseHooks;
}

/** A topic as the sender sees it. */
export type SenderTopic = TopicState<ShardState>;

/**
 * Sends closed batches through one script call each, at most one per shard and `maxInFlight`
 * overall, retrying retriable failures with backoff until `deliveryTimeoutMs`. Every wait of a
 * batch ends by its deadline, and batches that expire while waiting for their turn are parked by
 * a sweep, so each record has an outcome within `deliveryTimeoutMs` plus the parking allowance.
 */
export class Sender {
  // Holds at most one task per shard (queued or running): bounded by the number of shards.
  private readonly queue: PQueue;
  /** >0 while a flush waits: linger is skipped so everything pending goes out now. */
  private urgent = 0;
  private readonly readMeta: (metaKey: string, shards: number) => Promise<number>;
  /** `acks: 'all'`: WAIT for replicas after each batch, within half the request deadline. */
  private readonly wait: WaitArgs | undefined;
  /** The client was ready once (for a Cluster: with every master connection open). */
  private connected = false;
  /** Compresses the batches of compressed topics, one at a time (compress-batch.ts). */
  private readonly compressor = new BatchCompressor();
  /** Set by `abort()`: batches stop retrying and unsent ones are parked or fail with this error. */
  private abortedWith: ProducerError | undefined;
  /** Parks batches that expired while waiting for their turn. */
  private readonly sweeper: NodeJS.Timeout;
  private readonly outcomes: BatchOutcomes;
  /** Batch sequence numbers of this producer session: increasing on every shard, so a shard's state can be forgotten. */
  private readonly nextSeq = counter();

  constructor(private readonly deps: SenderDeps) {
    this.queue = new PQueue({ concurrency: deps.config.maxInFlight });
    this.wait = waitArgs(deps.config);
    this.outcomes = new BatchOutcomes({ ...deps, idempotent: deps.config.idempotent });
    const { scripts, config } = deps;
    // Shared by every batch of the topic until it settles: its own deadline, so a call ioredis never
    // settles cannot keep the topic unchecked for good.
    this.readMeta = (metaKey, shards) => withDeadline(scripts.ensureTopic(metaKey, shards), config.requestTimeoutMs, 'ensure-topic');
    this.sweeper = setInterval(() => this.sweep(), sweepIntervalMs(deps.config.deliveryTimeoutMs));
    this.sweeper.unref();
  }

  /** Buffers one record for `shard` of `topic`; its room in the buffer is already reserved. */
  append(topic: SenderTopic, shard: number, record: BufferedRecord, size: number, waiter?: Waiter<SendAck>): void {
    const state = (topic.shardStates[shard] ??= new ShardState(topic, shard, topic.streams[shard]!, this.deps.sessionId, this.deps.config, this.deps.now, this.nextSeq));
    state.idleSince = undefined;
    if (state.acc.append(record, size, waiter)) this.deps.sticky.batchClosed(topic.name, shard, topic.shards);
    this.schedule(state);
  }

  /**
   * Resolves when every record buffered before the call has an outcome. Rejects when fire-and-forget
   * records failed while nobody listened to `error`, so such a failure is never silent.
   */
  async flush(): Promise<void> {
    const pending: Promise<void>[] = [];
    this.urgent++;
    try {
      for (const state of this.shardsOf()) {
        for (const batch of state.acc.pending()) pending.push(batch.settled());
        this.schedule(state);
      }
      await Promise.all(pending);
    } finally {
      this.urgent--;
    }
    const unheard = this.outcomes.takeUnheard();
    if (unheard !== undefined) throw unheard;
  }

  /**
   * Gives up on what is still pending (close() ran out of time): no more retries, unsent batches
   * are parked (or fail) with `error`. A call already in flight finishes or times out first.
   */
  abort(error: ProducerError): void {
    this.abortedWith = error;
    this.urgent++; // send (and so give up) what still waits for its linger
    for (const state of this.shardsOf()) this.schedule(state);
  }

  /** Stops the expiry sweep (the producer is closed). */
  stop(): void {
    clearInterval(this.sweeper);
  }

  /** Script calls running or queued. */
  get inFlight(): number {
    return this.queue.pending + this.queue.size;
  }

  private *shardsOf(): Generator<ShardState> {
    for (const topic of this.deps.topics()) for (const state of topic.shardStates) if (state !== undefined) yield state;
  }

  private schedule(state: ShardState): void {
    const acc = state.acc;
    if (acc.scheduled || acc.isEmpty()) return; // a running task picks up what gathers behind it
    const { adaptiveLinger, lingerMs } = this.deps.config;
    if (acc.hasClosed() || this.urgent > 0 || lingerMs === 0) {
      this.enqueue(state);
    } else if (adaptiveLinger) {
      // Idle shard: send at the end of this tick, so records produced in one burst share a batch.
      state.immediate ??= setImmediate(() => {
        state.immediate = undefined;
        if (!state.acc.isEmpty()) this.enqueue(state);
      });
    } else if (state.timer === undefined) {
      const waited = this.deps.now() - (acc.openSince() ?? this.deps.now());
      state.timer = setTimeout(
        () => {
          state.timer = undefined;
          this.enqueue(state);
        },
        Math.max(0, lingerMs - waited),
      );
    }
  }

  private enqueue(state: ShardState): void {
    if (state.acc.scheduled) return;
    state.cancelTimers();
    state.acc.scheduled = true;
    void this.queue.add(() => this.run(state));
  }

  private async run(state: ShardState): Promise<void> {
    const acc = state.acc;
    const batch = acc.takeNext();
    if (batch !== undefined) {
      this.deps.sticky.batchClosed(state.topic.name, state.shard, state.topic.shards);
      acc.inFlight = batch;
      try {
        await this.deliver(state, batch);
      } finally {
        acc.inFlight = undefined;
        this.deps.gate.release(batch.bytes);
        batch.markDone();
      }
    }
    acc.scheduled = false;
    // A busy shard: what gathered during the call goes next (adaptive), or after its linger.
    if (this.deps.config.adaptiveLinger && !acc.isEmpty()) this.enqueue(state);
    else this.schedule(state);
  }

  /** The periodic sweep: parks expired batches, then forgets idle shards and topics. */
  private sweep(): void {
    this.sweepExpired();
    const { idle, config, now } = this.deps;
    if (idle !== undefined) releaseIdle(this.deps.topics(), now(), config.metadataMaxIdleMs, idle);
  }

  /**
   * Batches still waiting for their turn when their delivery timeout passed (the queue was full,
   * or an earlier batch of the shard took its whole time) are parked now, without being sent.
   * A shard with a batch in flight is left alone: that batch ends by its own, earlier deadline,
   * and the shard's next task finds the expired ones then, in order.
   */
  private sweepExpired(): void {
    const cutoff = this.deps.now() - this.deps.config.deliveryTimeoutMs;
    for (const state of this.shardsOf()) {
      if (state.acc.inFlight !== undefined) continue;
      const expired = state.acc.takeExpired(cutoff);
      if (expired.length === 0) continue;
      void this.expire(state, expired);
    }
  }

  private async expire(state: ShardState, batches: Batch<SendAck>[]): Promise<void> {
    // All given up at once, in order: each takes its place in the shard's parking order now, before
    // the shard's next batch can (see `giveUp`).
    const error = deliveryTimeout('The batch waited for its turn', this.deps.config.deliveryTimeoutMs);
    await Promise.all(
      batches.map((batch) =>
        this.outcomes.giveUp(state, batch, error, 'ERR_DELIVERY_TIMEOUT', true).finally(() => {
          this.deps.gate.release(batch.bytes);
          batch.markDone();
        }),
      ),
    );
  }

  private async deliver(state: ShardState, batch: Batch<SendAck>): Promise<void> {
    const { config, scripts, events, now } = this.deps;
    const topic = state.topic;
    const deadline = batch.createdAt + config.deliveryTimeoutMs;
    const idem = config.idempotent ? { stateKey: state.stateKey, seq: batch.seq, stateTtlMs: config.idempotenceStateTtlMs } : undefined;
    /** The deadline of one Redis call: the request deadline, cut short by the batch's own. */
    const callTimeout = () => Math.max(1, Math.min(config.requestTimeoutMs, deadline - now()));
    /** The last failure worth reporting: a call cut short by the batch's deadline says less than the one before it. */
    let last: { cause: unknown; code: string; retriable: boolean } | undefined;
    // Here, once, not when the record is accepted: `produce()` stays synchronous and cheap, and a
    // retry or a parked copy carries the same bytes (docs/decisions.md, Compression).
    if (topic.compression !== undefined) {
      const { records, savedBytes } = await this.compressor.compress(batch, topic.compression);
      if (records > 0) this.outcomes.hook(() => this.deps.stats?.compressed(records, savedBytes));
    }
    for (;;) {
      if (this.abortedWith) {
        await this.outcomes.giveUp(state, batch, this.abortedWith, this.abortedWith.code, false);
        return;
      }
      if (now() >= deadline) {
        last ??= { cause: deliveryTimeout(`${batch.count} record(s) were not confirmed`, config.deliveryTimeoutMs), code: 'ERR_DELIVERY_TIMEOUT', retriable: true };
        await this.outcomes.giveUp(state, batch, last.cause, last.code, last.retriable);
        return;
      }
      batch.attempts++;
      let sent = false; // once the script call is sent, a failure may leave it persisted
      try {
        // Both are no-ops once the topic is checked and the client connected: skip the await then.
        if (!this.connected || this.deps.client.status !== 'ready') {
          await whenReady(this.deps.client, callTimeout());
          this.connected = true;
        }
        const check = topic.ensureChecked(this.readMeta);
        if (check !== undefined) await withDeadline(check, callTimeout(), 'ensure-topic');
        if (state.unsettled !== undefined) await this.settleLostBatch(state, state.unsettled, callTimeout());
        sent = true;
        const calledAt = now();
        const reply = await withDeadline(scripts.publishBatch(state.stream, topic.trim, idem, batch.count, batch.encoded(), this.wait), callTimeout(), 'publish-batch');
        this.outcomes.delivered(state, batch, reply, calledAt);
        return;
      } catch (err) {
        const kind = classifyRedisError(err);
        if (sent && kind.persisted === 'possibly') batch.possiblyPersisted = true;
        if (last === undefined || now() < deadline) last = { cause: err, code: kind.code, retriable: kind.retriable };
        const delayMs = backoffDelay(batch.attempts, config.retryBackoffMs, config.retryBackoffMaxMs, this.deps.random);
        const retry = mayRetry({
          retriable: kind.retriable,
          possiblyPersisted: batch.possiblyPersisted,
          idempotent: config.idempotent,
          retryAt: now() + delayMs,
          deadline,
          aborted: this.abortedWith !== undefined,
        });
        if (retry) {
          const error = err instanceof ProducerError ? err : new DeliveryError(describeFailure(err), kind.code, { retriable: true, persisted: kind.persisted, cause: err });
          this.outcomes.hook(() => this.deps.stats?.retried(topic.name, state.shard, state.stream));
          if (events.listening('retry')) {
            events.emit('retry', { topic: topic.name, shard: state.shard, stream: state.stream, records: batch.count, attempt: batch.attempts, delayMs, error });
          }
          await sleep(delayMs);
          continue;
        }
        await this.outcomes.giveUp(state, batch, last.cause, last.code, last.retriable);
        return;
      }
    }
  }

  /** Learns whether an earlier batch whose reply was lost landed; fences it if it did not. */
  private async settleLostBatch(state: ShardState, unsettled: { seq: number; count: number }, timeoutMs: number): Promise<void> {
    const { scripts, config } = this.deps;
    const landed = await withDeadline(scripts.checkBatch(state.stateKey, unsettled.seq, config.idempotenceStateTtlMs), timeoutMs, 'check-batch');
    state.unsettled = undefined;
    this.deps.onSettled?.(state.topic.name, state.shard, unsettled.seq, unsettled.count, landed);
  }
}

function deliveryTimeout(what: string, deliveryTimeoutMs: number): ProducerError {
  return new ProducerError(`${what} within deliveryTimeoutMs (${deliveryTimeoutMs} ms)`, 'ERR_DELIVERY_TIMEOUT', { retriable: true });
}

/** How often expired waiting batches are looked for: a small part of the delivery timeout. */
function sweepIntervalMs(deliveryTimeoutMs: number): number {
  return Math.min(1_000, Math.max(20, Math.floor(deliveryTimeoutMs / 20)));
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
