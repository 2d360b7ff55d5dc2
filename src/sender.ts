import type { Cluster, Redis } from 'ioredis';
import PQueue from 'p-queue';
import { ShardAccumulator, type Batch, type Waiter } from './accumulator.js';
import { backoffDelay } from './backoff.js';
import type { BufferGate } from './buffer-gate.js';
import type { ResolvedConfig } from './config.js';
import { whenReady, withDeadline } from './connection.js';
import { DeliveryError, ProducerError, TopicConfigError, type FailedBatch, type Persisted } from './errors.js';
import { entryId, type CompensationEntry } from './compensation/entry.js';
import type { ProducerEvents } from './events.js';
import type { StickyShardChooser } from './partitioner.js';
import { producerStateKey } from './keys.js';
import { classifyRedisError } from './redis-errors.js';
import type { BufferedRecord } from './batch-codec.js';
import type { PublishReply, Scripts, WaitArgs } from './scripts.js';
import type { TopicState } from './topics.js';
import type { SenderStatsHooks } from './stats/collector.js';

/** What an awaited `send()` resolves with once its record is in Redis. */
export interface DeliveredAck {
  /** The record is in its stream. */
  status: 'delivered';
  /** The record's topic. */
  topic: string;
  /** The shard it went to (explicit, by key hash, or sticky for keyless records). */
  shard: number;
  /** Stream key, e.g. `{app:orders:3}`. */
  stream: string;
  /** The entry id Redis assigned, e.g. `1712345678901-0`. */
  id: string;
}

/** What `send()` resolves with when its record could not be delivered and was parked for replay. */
export interface SpilledAck {
  /** The record is parked for replay, not (surely) in its stream yet. */
  status: 'spilled';
  /** The record's topic. */
  topic: string;
  /** The shard it is meant for; the replay writes it there. */
  shard: number;
  /** The stream it is meant for. */
  stream: string;
  /** The record's id in the compensation store (`producer.compensation` inspects it). */
  compensationId: string;
  /** `not`: surely not in the stream yet; `possibly`: the reply was lost, replay checks first. */
  persisted: Persisted;
  /** Where it is parked: the Redis compensation store, or the local journal until Redis is back. */
  parkedIn: 'redis' | 'journal';
  /** Why it could not be delivered. */
  error: DeliveryError;
}

/** The outcome of an accepted record. */
export type SendAck = DeliveredAck | SpilledAck;

/** How the sender reports outcomes; the producer turns these into events. */
export interface EventSink {
  listening(event: keyof ProducerEvents): boolean;
  emit<E extends keyof ProducerEvents>(event: E, ...args: Parameters<ProducerEvents[E]>): void;
}

/** One shard's accumulator plus its scheduling state. */
export class ShardSender {
  readonly acc: ShardAccumulator<SendAck>;
  /** Pending linger timer (setTimeout) or end-of-tick send (setImmediate). */
  timer: NodeJS.Timeout | undefined;
  immediate: NodeJS.Immediate | undefined;
  /** Sequence of the next new batch (idempotence). */
  nextSeq = 1;
  /**
   * A batch that failed with its reply lost. The next batch waits until `check-batch` settles it
   * (landed, or fenced so it never will), which keeps the replay check exact.
   */
  unsettled: { seq: number; count: number } | undefined;
  /** `{stream}:p:<producerId>`: this producer's idempotence state on the shard. */
  readonly stateKey: string;

  constructor(
    readonly topic: TopicState<ShardSender>,
    readonly shard: number,
    readonly stream: string,
    producerId: string,
    config: ResolvedConfig,
    now: () => number,
  ) {
    this.acc = new ShardAccumulator(config, now);
    this.stateKey = producerStateKey(stream, producerId);
  }

  cancelTimers(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
  }
}

export interface SenderDeps {
  config: ResolvedConfig;
  producerId: string;
  client: Redis | Cluster;
  scripts: Scripts;
  gate: BufferGate;
  sticky: StickyShardChooser;
  events: EventSink;
  now: () => number;
  random: () => number;
  /** Told when a batch that failed with its reply lost turns out to have landed, or not. */
  onSettled?: (topic: string, shard: number, seq: number, count: number, landed: boolean) => void;
  /** Parks undeliverable records (compensation on); throws if they could not be parked anywhere. */
  park?: (topic: string, entries: CompensationEntry[]) => Promise<'redis' | 'journal'>;
  /** Counts batch outcomes for the `stats` event (once per batch, never per record). */
  stats?: SenderStatsHooks;
}

/**
 * Sends closed batches through one script call each, at most one per shard and `maxInFlight`
 * overall, retrying retriable failures with backoff until `deliveryTimeoutMs`.
 */
/** A topic as the sender sees it. */
export type SenderTopic = TopicState<ShardSender>;

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
  /** Set by `abort()`: batches stop retrying and unsent ones fail with this error. */
  private abortedWith: ProducerError | undefined;

  constructor(private readonly deps: SenderDeps) {
    this.queue = new PQueue({ concurrency: deps.config.maxInFlight });
    this.wait = deps.config.acks === 'all' ? { replicas: deps.config.ackReplicas, timeoutMs: Math.max(1, Math.floor(deps.config.requestTimeoutMs / 2)) } : undefined;
    const { scripts, config } = deps;
    this.readMeta = (metaKey, shards) =>
      this.ready().then(() => withDeadline(scripts.ensureTopic(metaKey, shards), config.requestTimeoutMs, 'ensure-topic'));
  }

  /** Buffers one record for `shard` of `topic`; its room in the buffer is already reserved. */
  append(topic: SenderTopic, shard: number, record: BufferedRecord, size: number, waiter?: Waiter<SendAck>): void {
    const state = (topic.shardStates[shard] ??= new ShardSender(topic, shard, topic.streams[shard]!, this.deps.producerId, this.deps.config, this.deps.now));
    if (state.acc.append(record, size, waiter)) this.deps.sticky.batchClosed(topic.name, shard, topic.shards);
    this.schedule(state);
  }

  /** Resolves when every record buffered before the call has an outcome. */
  async flush(topics: Iterable<SenderTopic>): Promise<void> {
    const pending: Promise<void>[] = [];
    this.urgent++;
    this.lastTopics = topics;
    try {
      for (const state of this.shardsOf(topics)) {
        for (const batch of state.acc.pending()) pending.push(batch.settled());
        this.schedule(state);
      }
      await Promise.all(pending);
    } finally {
      this.urgent--;
    }
  }

  /**
   * Gives up on what is still pending (close() ran out of time): no more retries, unsent batches
   * fail with `error`. A call already in flight finishes or times out first.
   */
  abort(error: ProducerError): void {
    this.abortedWith = error;
    this.urgent++; // send (and so fail) what still waits for its linger
    for (const state of this.shardsOf(this.lastTopics)) this.schedule(state);
  }

  /** Script calls running or queued. */
  get inFlight(): number {
    return this.queue.pending + this.queue.size;
  }

  private lastTopics: Iterable<SenderTopic> = [];

  private *shardsOf(topics: Iterable<SenderTopic>): Generator<ShardSender> {
    for (const topic of topics) for (const state of topic.shardStates) if (state !== undefined) yield state;
  }

  private schedule(state: ShardSender): void {
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
      state.timer = setTimeout(() => {
        state.timer = undefined;
        this.enqueue(state);
      }, Math.max(0, lingerMs - waited));
    }
  }

  private enqueue(state: ShardSender): void {
    if (state.acc.scheduled) return;
    state.cancelTimers();
    state.acc.scheduled = true;
    void this.queue.add(() => this.run(state));
  }

  private async run(state: ShardSender): Promise<void> {
    const acc = state.acc;
    const batch = acc.takeNext();
    if (batch !== undefined) {
      this.deps.sticky.batchClosed(state.topic.name, state.shard, state.topic.shards);
      acc.inFlight = batch;
      await this.deliver(state, batch);
      acc.inFlight = undefined;
      this.deps.gate.release(batch.bytes);
      batch.markDone();
    }
    acc.scheduled = false;
    // A busy shard: what gathered during the call goes next (adaptive), or after its linger.
    if (this.deps.config.adaptiveLinger && !acc.isEmpty()) this.enqueue(state);
    else this.schedule(state);
  }

  private ready(): Promise<void> {
    return whenReady(this.deps.client, this.deps.config.requestTimeoutMs);
  }

  private async deliver(state: ShardSender, batch: Batch<SendAck>): Promise<void> {
    const { config, scripts, events, now } = this.deps;
    const topic = state.topic;
    if (batch.seq === 0) batch.seq = state.nextSeq++;
    const idem = config.idempotent ? { stateKey: state.stateKey, seq: batch.seq, stateTtlMs: config.idempotenceStateTtlMs } : undefined;
    for (;;) {
      if (this.abortedWith) {
        await this.giveUp(state, batch, this.abortedWith, this.abortedWith.code, false, 'not');
        return;
      }
      batch.attempts++;
      let sent = false; // once the script call is sent, a failure may leave it persisted
      try {
        // Both are no-ops once the topic is checked and the client connected: skip the await then.
        const check = topic.ensureChecked(this.readMeta);
        if (check !== undefined) await check;
        if (!this.connected || this.deps.client.status !== 'ready') {
          await this.ready();
          this.connected = true;
        }
        if (state.unsettled !== undefined) await this.settle(state, state.unsettled);
        sent = true;
        const calledAt = now();
        const reply = await withDeadline(
          scripts.publishBatch(state.stream, topic.trim, idem, batch.count, batch.encoded(), this.wait),
          config.requestTimeoutMs,
          'publish-batch',
        );
        this.deps.stats?.batchDelivered(topic.name, state.shard, state.stream, batch.count, batch.bytes, calledAt - batch.createdAt, now() - calledAt);
        this.succeed(state, batch, reply);
        return;
      } catch (err) {
        const kind = classifyRedisError(err);
        const persisted = sent ? kind.persisted : 'not';
        const elapsed = now() - batch.createdAt;
        const delayMs = backoffDelay(batch.attempts, config.retryBackoffMs, config.retryBackoffMaxMs, this.deps.random);
        // A retry after a lost reply is safe only with idempotent batches (the script recognises
        // the sequence); without them only failures that prove nothing was written are retried.
        const safe = persisted === 'not' || config.idempotent;
        if (kind.retriable && safe && elapsed + delayMs < config.deliveryTimeoutMs && !this.abortedWith) {
          const error = err instanceof ProducerError ? err : new DeliveryError(describeFailure(err), kind.code, { retriable: true, persisted, cause: err });
          this.deps.stats?.retried(topic.name, state.shard, state.stream);
          if (events.listening('retry')) {
            events.emit('retry', { topic: topic.name, shard: state.shard, stream: state.stream, records: batch.count, attempt: batch.attempts, delayMs, error });
          }
          await sleep(delayMs);
          continue;
        }
        if (persisted === 'possibly' && config.idempotent) state.unsettled = { seq: batch.seq, count: batch.count };
        await this.giveUp(state, batch, err, kind.code, kind.retriable, persisted);
        return;
      }
    }
  }

  /** Learns whether an earlier batch whose reply was lost landed; fences it if it did not. */
  private async settle(state: ShardSender, unsettled: { seq: number; count: number }): Promise<void> {
    const { scripts, config } = this.deps;
    const landed = await withDeadline(scripts.checkBatch(state.stateKey, unsettled.seq, config.idempotenceStateTtlMs), config.requestTimeoutMs, 'check-batch');
    state.unsettled = undefined;
    this.deps.onSettled?.(state.topic.name, state.shard, unsettled.seq, unsettled.count, landed);
  }

  private succeed(state: ShardSender, batch: Batch<SendAck>, reply: PublishReply): void {
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
    const { events, now } = this.deps;
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
  private async giveUp(state: ShardSender, batch: Batch<SendAck>, cause: unknown, code: string, retriable: boolean, persisted: Persisted): Promise<void> {
    const info: FailedBatch = { topic: state.topic.name, shard: state.shard, stream: state.stream, records: batch.count, attempts: batch.attempts, seq: batch.seq };
    const error = new DeliveryError(
      `Could not deliver ${batch.count} record(s) to ${state.stream} after ${batch.attempts} attempt(s): ${describeFailure(cause)}`,
      code,
      { retriable, persisted, cause, batch: info },
    );
    const park = this.deps.park;
    if (park === undefined || cause instanceof TopicConfigError) {
      this.fail(batch, error, cause);
      return;
    }
    const waiters = batch.waiters;
    const entries: CompensationEntry[] = [];
    const indexes: number[] = [];
    for (let i = 0; i < batch.count; i++) {
      if (waiters?.[i]?.noPark) continue;
      indexes.push(i);
      entries.push({
        id: entryId(this.deps.producerId, state.shard, batch.seq, i),
        topic: state.topic.name,
        shard: state.shard,
        fields: batch.fieldsAt(i),
        producerId: this.deps.producerId,
        seq: batch.seq,
        persisted,
        attempts: batch.attempts,
        lastError: `${code}: ${describeFailure(cause)}`,
        parkedAt: Date.now(),
      });
    }
    let parkedIn: 'redis' | 'journal';
    try {
      parkedIn = entries.length > 0 ? await park(state.topic.name, entries) : 'redis';
    } catch (parkError) {
      this.deps.events.emit('error', new DeliveryError(`Could not park ${entries.length} undeliverable record(s) of ${state.stream} in Redis nor in the journal: ${describeFailure(parkError)}`, 'ERR_PARK_FAILED', { retriable: false, persisted, cause: parkError, batch: info }));
      this.fail(batch, error, cause);
      return;
    }
    if (waiters !== undefined) {
      for (let i = 0; i < waiters.length; i++) if (waiters[i]?.noPark) waiters[i]!.reject(error);
      for (let k = 0; k < indexes.length; k++) {
        const i = indexes[k]!;
        waiters[i]?.resolve({ status: 'spilled', topic: state.topic.name, shard: state.shard, stream: state.stream, compensationId: entries[k]!.id, persisted, parkedIn, error });
      }
    }
    if (entries.length > 0) this.deps.stats?.spilled(state.topic.name, state.shard, state.stream, entries.length, parkedIn);
    if (entries.length > 0 && this.deps.events.listening('spill')) {
      this.deps.events.emit('spill', { topic: state.topic.name, shard: state.shard, stream: state.stream, ids: entries.map((e) => e.id), persisted, to: parkedIn, error });
    }
  }

  /** Fails every record of the batch: rejected sends and one `error` event. */
  private fail(batch: Batch<SendAck>, error: DeliveryError, cause: unknown): void {
    // A record refused for its topic's shard count fails with that error itself (DESIGN.md §2).
    const forWaiters = cause instanceof TopicConfigError ? cause : error;
    const waiters = batch.waiters;
    if (waiters !== undefined) for (const waiter of waiters) waiter?.reject(forWaiters);
    if (error.batch) this.deps.stats?.failed(error.batch.topic, error.batch.shard, error.batch.stream, error.batch.records);
    this.deps.events.emit('error', error);
  }
}

function describeFailure(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
