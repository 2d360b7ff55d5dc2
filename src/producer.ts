import { randomBytes, randomUUID } from 'node:crypto';
import { EventEmitter } from 'eventemitter3';
import type { Cluster, Redis } from 'ioredis';
import type { Waiter } from './accumulator.js';
import { BufferGate, RECORD_OVERHEAD_BYTES } from './buffer-gate.js';
import { resolveConfig, type ProducerConfig, type ResolvedConfig } from './config.js';
import { openConnection, targetId, whenReady, withDeadline } from './connection.js';
import { BufferFullError, DeliveryError, InvalidRecordError, ListenerError, ProducerClosedError, ProducerError } from './errors.js';
import type { EventSink, ProducerEvents } from './events.js';
import { keyPartitioner, StickyShardChooser } from './partitioner.js';
import { encodeRecord, type EncodedRecord, type ProducerRecord } from './record.js';
import { classifyRedisError } from './redis-errors.js';
import { loadScripts } from './scripts.js';
import { StalledConnectionWatch } from './stalled-connections.js';
import { isCluster } from './client-kind.js';
import { mastersShortOfReplicas, mastersThatEvict } from './server-checks.js';
import { hideCredentials } from './credentials.js';
import { SendBatchOutcome, SendBatchSlot, type SendResult } from './send-batch.js';
import { entryId } from './compensation/entry.js';
import { trimFor } from './topics.js';
import { topicMetaKey } from './keys.js';
import { compensationApi, type CompensationApi } from './compensation/api.js';
import { Parker } from './compensation/parker.js';
import { Replayer } from './compensation/replayer.js';
import { CompensationStore } from './compensation/store.js';
import type { SendAck } from './acks.js';
import { Sender, type SenderTopic } from './sender.js';
import type { ShardState } from './shard-state.js';
import { TopicRegistry } from './topics.js';
import { StatsCollector } from './stats/collector.js';
import { registerCollector } from './stats/registry.js';
import { shardQueues } from './stats/shard-queues.js';

/**
 * A Kafka-style producer for Redis Streams. Records are buffered per shard, written one batch per
 * Lua script call, and reported through awaited acks (`send`) or events (`produce`).
 */
export class Producer extends EventEmitter<ProducerEvents> {
  private readonly config: ResolvedConfig;
  private readonly client: Redis | Cluster;
  private readonly ownsClient: boolean;
  private readonly gate: BufferGate;
  private readonly topics: TopicRegistry<ShardState>;
  private readonly sender: Sender;
  private readonly partition: (key: string | Buffer, shards: number) => number;
  private readonly sticky: StickyShardChooser;
  private readonly detachClient: () => void;
  private readonly parker: Parker;
  private readonly replayer: Replayer;
  private readonly stats: StatsCollector;
  /** Inspect and drive the compensation store (parked records, dead letters, replay). */
  readonly compensation: CompensationApi;
  private closing: Promise<void> | undefined;
  /** The configured `producerId`, or a random one. */
  readonly producerId: string;
  /**
   * This instance's identity in the idempotence state, compensation entry ids and journal file:
   * `producerId` plus a fresh suffix, so a restart or a second instance with the same `producerId`
   * never reuses sequence numbers of another.
   */
  readonly sessionId: string;
  private connects = 0;
  /** The advice checks of the last connect (`checkServer`); `connect()` waits for them. */
  private serverChecks: Promise<void> = Promise.resolve();
  /** Replaces a connection of an owned client that stopped answering (stalled-connections.ts). */
  private readonly stalled: StalledConnectionWatch | undefined;
  /** Why the standalone connection is about to close, when the producer closes it. */
  private closeReason: string | undefined;

  /**
   * Validates `options` (docs/configuration.md) and prepares the connection; nothing is sent yet.
   * Throws a `ConfigError` listing every invalid option. The connection opens in the background;
   * `connect()` waits for it.
   */
  constructor(options: ProducerConfig = {}) {
    super();
    this.config = resolveConfig(options);
    const { client, owned } = openConnection(this.config.redis);
    this.client = client;
    this.ownsClient = owned;
    this.gate = new BufferGate(this.config.bufferMaxBytes);
    this.topics = new TopicRegistry(this.config);
    this.partition = keyPartitioner(this.config.partitioner);
    this.sticky = new StickyShardChooser();
    const events: EventSink = {
      listening: (event) => this.listenerCount(event) > 0,
      emit: (event, ...args) => this.emitSafely(event, ...args),
    };
    this.producerId = this.config.producerId ?? randomUUID().replace(/-/g, '').slice(0, 16);
    this.sessionId = `${this.producerId}-${randomBytes(4).toString('hex')}`;
    const config = this.config;
    this.stalled = owned
      ? new StalledConnectionWatch(client, this.config.requestTimeoutMs, (connection, why) => {
          const reason = `${why} on the connection to ${connection}: connection replaced`;
          // A standalone client reports its own close; a cluster node's connection does not.
          if (isCluster(client)) this.emitSafely('disconnect', { reason });
          else this.closeReason = reason;
        })
      : undefined;
    const scripts = loadScripts(client, (stream) => this.stalled?.replaceFor(stream, 'replies of the wrong shape'));
    const stats = new StatsCollector({
      producerId: this.producerId,
      bufferMaxBytes: config.bufferMaxBytes,
      now: () => performance.now(),
      wallClock: Date.now,
      gauges: () => ({ bufferedBytes: this.gate.usedBytes, shards: shardQueues(this.topics.all()) }),
    });
    this.stats = stats;
    registerCollector(this, stats);
    const store = new CompensationStore({ client, namespace: config.namespace, requestTimeoutMs: config.requestTimeoutMs, doneTtlMs: config.idempotenceStateTtlMs });
    const parker = new Parker({
      client,
      store,
      namespace: config.namespace,
      ownerId: this.sessionId,
      journalDir: config.compensation.journalDir,
      target: targetId(config.redis),
      journalFsync: config.compensation.journalFsync,
      requestTimeoutMs: config.requestTimeoutMs,
    });
    this.parker = parker;
    this.sender = new Sender({
      config,
      sessionId: this.sessionId,
      client,
      scripts,
      gate: this.gate,
      sticky: this.sticky,
      events,
      now: () => performance.now(),
      wallClock: Date.now,
      random: Math.random,
      topics: () => this.topics.all(),
      park: config.compensation.enabled ? (topic, entries) => parker.park(topic, entries) : undefined,
      stats,
      idle: {
        shardReleased: (topic, shard) => stats.forgetShard(topic.streams[shard]!),
        topicReleased: (topic) => {
          this.topics.release(topic);
          this.sticky.forget(topic.name);
        },
      },
      onSettled: (topic, shard, seq, count, landed) => {
        // The batch landed after all: its parked copies must not be replayed (a replayer that
        // claimed them first finds the same answer with check-batch).
        if (landed) {
          const ids = Array.from({ length: count }, (_, i) => entryId(this.sessionId, shard, seq, i));
          store
            .landed(topic, ids)
            .catch((err: unknown) =>
              this.emitSafely(
                'error',
                new DeliveryError(`Could not remove parked copies of a batch that landed: ${String(err)}`, 'ERR_COMPENSATION', { retriable: true, persisted: 'possibly', cause: err }),
              ),
            );
        }
      },
    });
    this.replayer = new Replayer({
      config,
      sessionId: this.sessionId,
      store,
      parker,
      scripts,
      events,
      knownTopics: () => [...this.topics.all()].map((t) => t.name),
      ready: () => client.status === 'ready',
      trimOf: (topic) => trimFor(config, topic),
      storedShards: async (topic) => {
        const stored = await withDeadline(client.hget(topicMetaKey(config.namespace, topic), 'shards'), config.requestTimeoutMs, 'HGET topic meta');
        return stored === null ? undefined : Number(stored);
      },
      random: Math.random,
      stats,
    });
    // The client's offline queue is off: a call before the connection is up would fail at once.
    const connected = <T>(call: () => Promise<T>): Promise<T> => this.connect().then(call);
    this.compensation = compensationApi({ connected, store, parker, replayer: this.replayer });
    if (config.compensation.enabled && config.compensation.replay.enabled) this.replayer.start();
    // No payload is built unless someone listens to `stats` when the timer fires.
    stats.start(
      config.statsIntervalMs,
      () => this.listenerCount('stats') > 0,
      (event) => this.emitSafely('stats', event),
    );
    this.detachClient = this.watchClient();
  }

  /** Connects to Redis now instead of on the first send. Rejects if Redis does not answer in `requestTimeoutMs`. */
  async connect(): Promise<void> {
    if (this.closing) throw new ProducerClosedError();
    try {
      await whenReady(this.client, this.config.requestTimeoutMs);
    } catch (err) {
      const kind = classifyRedisError(err);
      throw new DeliveryError(`Could not connect to Redis: ${err instanceof Error ? err.message : String(err)}`, kind.code, {
        retriable: kind.retriable,
        persisted: 'not',
        cause: err,
      });
    }
    // Once connect() resolves, what the server's settings put at risk has been said.
    await this.serverChecks;
  }

  /**
   * Sends one record and resolves once its batch is in Redis. Rejects with `InvalidRecordError`,
   * `BufferFullError` (no room within `maxBlockMs`), `TopicConfigError`, `ProducerClosedError` or
   * `DeliveryError`.
   */
  send(record: ProducerRecord): Promise<SendAck> {
    // The executor captures nothing, so no closure or context is allocated per send.
    const promise = new Promise<SendAck>(captureSettlers);
    const waiter = captured!;
    captured = undefined;
    this.admit(record, waiter);
    return promise;
  }

  /**
   * Sends many records; resolves with one result per record, in input order. A bad record gets a
   * `failed` result and does not affect the others. Rejects (`InvalidRecordError`, field
   * `records`) only when given something other than an array.
   */
  sendBatch(records: readonly ProducerRecord[]): Promise<SendResult[]> {
    if (!Array.isArray(records)) {
      return Promise.reject(new InvalidRecordError('records', `sendBatch() expects an array of records, got ${records === null ? 'null' : typeof records}`));
    }
    if (records.length === 0) return Promise.resolve([]);
    // One promise for the whole call and one small waiter per record, instead of a send() promise,
    // its then() and a Promise.all element per record (KafkaJS-style users batch to go fast).
    return new Promise<SendResult[]>((resolve) => {
      const outcome = new SendBatchOutcome(records.length, resolve);
      for (let i = 0; i < records.length; i++) {
        const record = records[i];
        this.admit(record!, new SendBatchSlot(outcome, i, typeof record?.topic === 'string' ? record.topic : undefined));
      }
    });
  }

  /**
   * Buffers one record and returns at once; its outcome arrives as a `delivery` or `error` event.
   * Throws `InvalidRecordError`, `TopicConfigError`, `ProducerClosedError`, or `BufferFullError`
   * when the buffer is full (wait with `waitForRoom()`, then produce again).
   */
  produce(record: ProducerRecord): void {
    const { topic, shard, encoded, size } = this.accept(record);
    if (!this.gate.tryReserve(size)) {
      throw new BufferFullError(
        `The producer buffer is full: ${this.gate.usedBytes} of bufferMaxBytes (${this.config.bufferMaxBytes}) bytes are in use; ` + 'await producer.waitForRoom() before producing more',
      );
    }
    this.sender.append(topic, shard, encoded, size);
  }

  /**
   * Back-pressure for `produce()`: resolves when the buffer has room for a record of `bytes`
   * (default `maxRecordBytes`, room for any record). Rejects with `InvalidRecordError` (field
   * `bytes`) when `bytes` exceeds `maxRecordBytes`: no record that large is ever accepted.
   */
  waitForRoom(bytes = this.config.maxRecordBytes): Promise<void> {
    if (!Number.isFinite(bytes) || bytes < 0 || bytes > this.config.maxRecordBytes) {
      return Promise.reject(new InvalidRecordError('bytes', `waitForRoom() expects a size from 0 to maxRecordBytes (${this.config.maxRecordBytes}), got ${String(bytes)}`));
    }
    return this.gate.whenRoomFor(bytes + RECORD_OVERHEAD_BYTES);
  }

  /**
   * Resolves when every record accepted before the call is delivered, parked or has failed.
   * Rejects with a `DeliveryError` when `produce()`d records failed since the last flush while
   * nothing listened to the `error` event: a failure is never silent.
   */
  flush(): Promise<void> {
    return this.sender.flush();
  }

  /**
   * Stops accepting records, flushes what is buffered, then releases what the producer opened.
   * Waits up to `timeoutMs` (default `deliveryTimeoutMs`) for the flush; records still undelivered
   * then are parked (sends resolve `spilled`), or with compensation off fail with `DeliveryError`.
   * A client passed in by the caller is left open. Safe to call more than once.
   */
  close(options: { timeoutMs?: number } = {}): Promise<void> {
    this.closing ??= (async () => {
      let unheard: unknown;
      const timeoutMs = options.timeoutMs ?? this.config.deliveryTimeoutMs;
      const deadline = Date.now() + timeoutMs;
      try {
        this.gate.rejectAll(new ProducerClosedError());
        await this.replayer.stop(timeoutMs);
        // A flush that rejects (produced records failed unheard) still ran to its end.
        const flushed = this.flush().catch((err: unknown) => (unheard = err));
        const inTime = await withDeadline(flushed, Math.max(1, deadline - Date.now()), 'close()').then(
          () => true,
          () => false,
        );
        if (!inTime) {
          // Out of time: stop retrying; what is left is parked (in Redis, or in the local journal
          // when Redis is down), or with compensation off fails with a DeliveryError. Never silently.
          this.sender.abort(new ProducerError(`close() gave up delivering after ${timeoutMs} ms`, 'ERR_CLOSE_TIMEOUT'));
          await flushed;
        }
        await this.parker.close();
      } finally {
        this.sender.stop();
        // Within what is left of timeoutMs (a QUIT on a dead connection would wait a whole request deadline).
        if (this.ownsClient) await closeClient(this.client, Math.max(1, Math.min(this.config.requestTimeoutMs, deadline - Date.now())));
        this.detachClient();
        this.stats.stop();
      }
      if (unheard !== undefined) throw unheard;
    })();
    return this.closing;
  }

  /** Bytes accepted and not yet settled (buffered or in flight). */
  get bufferedBytes(): number {
    return this.gate.usedBytes;
  }

  /**
   * Validates a record and buffers it for `waiter`, first waiting up to `maxBlockMs` for room if
   * the buffer is full. A record that cannot be accepted rejects the waiter with the reason.
   */
  private admit(record: ProducerRecord, waiter: Waiter<SendAck>): void {
    try {
      const { topic, shard, encoded, size } = this.accept(record);
      if (this.gate.tryReserve(size)) {
        this.sender.append(topic, shard, encoded, size, waiter);
        return;
      }
      // Appended the moment its room is granted, so no record that came later gets ahead of it.
      const granted = () => {
        if (this.closing) {
          this.gate.release(size);
          waiter.reject(new ProducerClosedError());
        } else {
          // The topic may have been forgotten as idle while this record waited: take it anew.
          this.sender.append(this.topics.get(topic.name), shard, encoded, size, waiter);
        }
      };
      this.gate.reserve(size, this.config.maxBlockMs, granted).catch((err: Error) => waiter.reject(err));
    } catch (err) {
      waiter.reject(err as Error);
    }
  }

  /**
   * Validates, encodes and partitions a record; throws the error a caller must see. `size` is what
   * it takes from `bufferMaxBytes`: its bytes plus a fixed per-record overhead.
   */
  private accept(record: ProducerRecord): { topic: SenderTopic; shard: number; encoded: EncodedRecord; size: number } {
    if (this.closing) throw new ProducerClosedError();
    const encoded = encodeRecord(record, this.config);
    const topic = this.topics.get(encoded.topic);
    if (topic.error) throw topic.error;
    let shard: number;
    if (encoded.shard !== undefined) {
      if (encoded.shard >= topic.shards) {
        throw new InvalidRecordError('shard', `Invalid record: \`shard\` must be below the topic's shard count (${topic.shards}), got ${encoded.shard}`);
      }
      shard = encoded.shard;
    } else if (encoded.key !== undefined) {
      shard = this.partition(encoded.key, topic.shards);
      if (!Number.isInteger(shard) || shard < 0 || shard >= topic.shards) {
        throw new InvalidRecordError('key', `The partitioner returned ${String(shard)} for a topic of ${topic.shards} shards; expected an integer from 0 to ${topic.shards - 1}`);
      }
    } else {
      shard = this.sticky.shardFor(encoded.topic, topic.shards);
    }
    return { topic, shard, encoded, size: encoded.size + RECORD_OVERHEAD_BYTES };
  }

  /** Emits without letting a throwing listener break delivery; the throw becomes an `error` event. */
  private emitSafely<E extends keyof ProducerEvents>(event: E, ...args: Parameters<ProducerEvents[E]>): void {
    try {
      (this.emit as (e: E, ...a: unknown[]) => boolean)(event, ...args);
    } catch (thrown) {
      if (event === 'error') return; // an error listener that throws has nowhere left to report to
      this.emitSafely('error', new ListenerError(event, thrown));
    }
  }

  /**
   * Server settings that put records at risk, checked on every connect, each said as an `error`
   * event: advice only, never a failure (a check that fails says nothing). Never rejects.
   */
  private async checkServer(): Promise<void> {
    await Promise.all([this.config.acks === 'all' ? this.warnIfShortOfReplicas() : undefined, this.warnIfEvicting()]);
  }

  /** An `error` event when a master may evict keys: streams, parked records, idempotence state. */
  private async warnIfEvicting(): Promise<void> {
    const evicting = await mastersThatEvict(this.client, this.config.requestTimeoutMs).catch(() => []);
    if (evicting.length === 0) return;
    const message = `${evicting.join(', ')}: when memory runs out it may drop streams, parked records and idempotence state without an error anyone sees (records lost or written twice); set maxmemory-policy noeviction on servers that hold streams`;
    this.emitSafely('error', new ProducerError(message, 'ERR_EVICTION_POLICY', { retriable: false }));
  }

  /** `acks: 'all'`: an `error` event when a master lacks the replicas every batch to it would wait for. */
  private async warnIfShortOfReplicas(): Promise<void> {
    const needed = this.config.ackReplicas;
    const short = await mastersShortOfReplicas(this.client, needed, this.config.requestTimeoutMs).catch(() => []); // advice only: a failed INFO says nothing
    if (short.length === 0) return;
    const message = `acks: 'all' needs ${needed} online replica(s) per master; ${short.join(', ')}: its batches retry (ERR_NOT_ENOUGH_REPLICAS) until deliveryTimeoutMs, then park`;
    this.emitSafely('error', new ProducerError(message, 'ERR_NOT_ENOUGH_REPLICAS', { retriable: true }));
  }

  /**
   * Relays the client's connection events and, for a client the producer owns, replaces a
   * connection that stopped answering; returns a function that stops both.
   */
  private watchClient(): () => void {
    const client = this.client;
    let up = false;

    const onReady = () => {
      up = true;
      this.emitSafely('connect', { count: ++this.connects });
      this.serverChecks = this.checkServer();
    };
    const onClose = () => {
      if (!up) return;
      up = false;
      this.emitSafely('disconnect', { reason: this.closeReason ?? 'connection closed' });
      this.closeReason = undefined;
    };
    const onError = (err: Error) => {
      hideCredentials(err);
      const kind = classifyRedisError(err);
      this.emitSafely('error', new DeliveryError(`Redis connection error: ${err.message}`, kind.code, { retriable: kind.retriable, persisted: 'not', cause: err }));
    };
    if (client.status === 'ready') onReady();
    client.on('ready', onReady);
    client.on('close', onClose);
    client.on('error', onError);
    return () => {
      this.stalled?.stop();
      client.off('ready', onReady);
      client.off('close', onClose);
      client.off('error', onError);
    };
  }
}

/** QUITs the client and waits until its connection has ended, so `disconnect` fires before `close()` resolves. */
async function closeClient(client: Redis | Cluster, timeoutMs: number): Promise<void> {
  if (client.status === 'end') return;
  const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
  if (client.status === 'ready') {
    await withDeadline(client.quit(), timeoutMs, 'QUIT').catch(() => client.disconnect());
  } else {
    client.disconnect();
  }
  await withDeadline(ended, timeoutMs, 'Closing the connection').catch(() => undefined);
}

let captured: Waiter<SendAck> | undefined;
/** A Promise executor that hands its settle functions to `send()` through `captured`. */
function captureSettlers(resolve: (ack: SendAck) => void, reject: (error: Error) => void): void {
  captured = { resolve, reject };
}
