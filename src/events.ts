import type { ProducerError } from './errors.js';

/** One batch written to its stream. */
export interface DeliveryEvent {
  /** Topic of the batch. */
  topic: string;
  /** Shard of the batch (its stream is `{namespace:topic:shard}`). */
  shard: number;
  /** Stream key, e.g. `{app:orders:3}`. */
  stream: string;
  /** New entry ids, in the batch's record order. */
  ids: string[];
  /** Script calls it took (1 = first try). */
  attempts: number;
  /** From the batch's first record being accepted to the reply. */
  latencyMs: number;
}

/** A batch is being tried again after a retriable failure. */
export interface RetryEvent {
  /** Topic of the batch. */
  topic: string;
  /** Shard of the batch. */
  shard: number;
  /** Stream key of the shard, e.g. `{app:orders:3}`. */
  stream: string;
  /** Records in the batch. */
  records: number;
  /** The attempt that failed (1 = first try). */
  attempt: number;
  /** Wait before the next attempt. */
  delayMs: number;
  /** Why the attempt failed (`code`, `retriable`, and for a `DeliveryError`, `persisted`). */
  error: ProducerError;
}

/** The connection to Redis is up (first time or after a reconnect). */
export interface ConnectEvent {
  /** 1 for the first connection, then one more per reconnect. */
  count: number;
}

/** The connection to Redis went down; ioredis reconnects on its own. */
export interface DisconnectEvent {
  /** What ended the connection, for logs. */
  reason: string;
}

/** Every event the producer emits, with its listener signature. */
export interface ProducerEvents {
  /** A batch is in its stream: one event per batch, ids in record order. */
  delivery: (event: DeliveryEvent) => void;
  /** A retriable failure; the batch will be tried again after `delayMs`. */
  retry: (event: RetryEvent) => void;
  /**
   * Something failed that no awaiting caller hears about otherwise: a batch that could not be
   * delivered (its `DeliveryError` says topic, shard and record count), a connection error, an
   * event listener that threw, or a server setting found on connect that puts records at risk
   * (`ERR_EVICTION_POLICY`; with `acks: 'all'`, `ERR_NOT_ENOUGH_REPLICAS`).
   */
  error: (error: ProducerError) => void;
  /** Undeliverable records were parked in the compensation store or the local journal. */
  spill: (event: SpillEvent) => void;
  /** A parked record reached its stream. */
  replay: (event: ReplayEvent) => void;
  /** A parked record gave up after `compensation.maxAttempts` attempts. */
  'dead-letter': (event: DeadLetterEvent) => void;
  /** Connected to Redis and ready for commands. */
  connect: (event: ConnectEvent) => void;
  /** Lost the connection to Redis. */
  disconnect: (event: DisconnectEvent) => void;
  /** Every `statsIntervalMs`: throughput, batch sizes, latencies, buffer and per-shard figures (docs/metrics.md). */
  stats: (event: StatsEvent) => void;
}

/** Records that could not be delivered were parked, to be replayed later. */
export interface SpillEvent {
  /** Topic of the parked batch. */
  topic: string;
  /** Shard of the parked batch. */
  shard: number;
  /** The stream the records were meant for. */
  stream: string;
  /** Compensation entry ids of the parked records, in batch order. */
  ids: string[];
  /** `not`: surely not in the stream; `possibly`: the reply was lost, replay checks before writing. */
  persisted: 'not' | 'possibly';
  /** Where they went: the Redis compensation store, or the local journal (Redis unreachable); as `SpilledAck.parkedIn`. */
  parkedIn: 'redis' | 'journal';
  /** @deprecated The same as `parkedIn`, under its first name. */
  to: 'redis' | 'journal';
  /** Why the batch could not be delivered. */
  error: ProducerError;
}

/** A parked record is in its stream now (replayed, or found to have landed after all). */
export interface ReplayEvent {
  /** Topic of the record. */
  topic: string;
  /** Shard of the record. */
  shard: number;
  /** The compensation entry id. */
  entryId: string;
  /** `replayed`: written now; `already-delivered`: the original batch had landed, nothing written. */
  outcome: 'replayed' | 'already-delivered';
  /** The entry id in the stream, when replayed. */
  streamId: string | undefined;
}

/** A parked record failed `compensation.maxAttempts` times and was moved to the dead-letter set. */
export interface DeadLetterEvent {
  /** Topic of the record. */
  topic: string;
  /** Shard of the record. */
  shard: number;
  /** The compensation entry id; `producer.compensation.requeueDead(topic, [entryId])` brings it back. */
  entryId: string;
  /** Delivery attempts made, the original ones included. */
  attempts: number;
  /** `<code>: <message>` of the last failure. */
  lastError: string;
}

/** Count, mean, median, 99th percentile and maximum of one figure over a stats window. */
export interface StatsSummary {
  /** Samples in the window (batches); every other field is 0 when this is 0. */
  count: number;
  /** Exact mean. */
  avg: number;
  /** Median, from a log-bucketed histogram: within 4.5% of the exact value. */
  p50: number;
  /** 99th percentile, within 4.5% of the exact value. */
  p99: number;
  /** Exact maximum. */
  max: number;
}

/** Counters of a stats event: per window (`window`) or since the producer started (`totals`). */
export interface StatsCounters {
  /** Records written to their streams (acknowledged by Redis; replayed records included). */
  deliveredRecords: number;
  /** Record bytes (value + key + headers) written. */
  deliveredBytes: number;
  /** Script calls that wrote a batch. */
  deliveredBatches: number;
  /** Batch attempts that failed retriably and were tried again (one per `retry` event). */
  retries: number;
  /** Records parked for replay (compensation store or journal). */
  spilledRecords: number;
  /** Of `spilledRecords`, those parked in the local journal because Redis was unreachable. */
  journaledRecords: number;
  /** Records that failed without being parked (compensation off, `TopicConfigError`, park failed). */
  failedRecords: number;
  /** Parked records now in their stream (replayed, or found already delivered). */
  replayedRecords: number;
  /** Replays that failed and were rescheduled. */
  replayFailures: number;
  /** Parked records moved to the dead-letter set. */
  deadLetters: number;
  /** Records whose value is sent compressed (a topic with `compression`), counted when their batch is compressed, before its first call. */
  compressedRecords: number;
  /** Entry bytes compression saved on those records: value bytes less the compressed bytes and the `encoding` field. */
  compressionSavedBytes: number;
}

/** One shard this producer has used: cumulative counters and its queue right now. */
export interface ShardStats {
  /** Topic of the shard. */
  topic: string;
  /** Shard number. */
  shard: number;
  /** Stream key of the shard, e.g. `{app:orders:3}`. */
  stream: string;
  /** Records written to the stream since the producer started. */
  deliveredRecords: number;
  /** Record bytes written since the producer started. */
  deliveredBytes: number;
  /** Script calls that wrote a batch since the producer started. */
  deliveredBatches: number;
  /** Batch attempts retried since the producer started. */
  retries: number;
  /** Records parked for replay since the producer started. */
  spilledRecords: number;
  /** Records that failed without being parked since the producer started. */
  failedRecords: number;
  /** Records waiting in the shard's accumulator, not yet in a script call. */
  queuedRecords: number;
  /** Bytes of those records. */
  queuedBytes: number;
  /** Records of the batch in flight (0 or one batch per shard). */
  inFlightRecords: number;
}

/**
 * A periodic snapshot, like librdkafka's `stats_cb`: rates and distributions over the last window
 * (`windowMs`, normally `statsIntervalMs`), cumulative `totals`, and gauges read at snapshot time.
 * Built only when someone listens to `stats`. Units are in the names; docs/metrics.md explains each.
 */
export interface StatsEvent {
  /** Wall-clock time of the snapshot, ms since the epoch. */
  timestamp: number;
  /** The emitting producer's id (`producer.producerId`). */
  producerId: string;
  /** Length of the window the rates, summaries and `window` counters cover. */
  windowMs: number;
  /** Time since the producer was created. */
  uptimeMs: number;
  /** Delivered records per second over the window. */
  recordsPerSec: number;
  /** Delivered record bytes per second over the window. */
  bytesPerSec: number;
  /** Delivered batches (script calls) per second over the window. */
  batchesPerSec: number;
  /** Records per delivered batch. */
  batchRecords: StatsSummary;
  /** Record bytes per delivered batch. */
  batchBytes: StatsSummary;
  /** Per delivered batch: its first record accepted → the script call that wrote it was sent (retries included). */
  queueTimeMs: StatsSummary;
  /** Per delivered batch: the script call that wrote it → its reply. */
  requestLatencyMs: StatsSummary;
  /** Batches being sent now (≤ `maxInFlight`; a batch waiting out a retry backoff counts). */
  inFlightBatches: number;
  /** Records in those batches. */
  inFlightRecords: number;
  /** Records in accumulators, not yet in a script call. */
  queuedRecords: number;
  /** Bytes of those records. */
  queuedBytes: number;
  /** Bytes accepted and not yet settled, counted against `bufferMaxBytes` (queued + in flight). */
  bufferedBytes: number;
  /** The configured `bufferMaxBytes`, so `bufferedBytes / bufferMaxBytes` is how full the buffer is. */
  bufferMaxBytes: number;
  /** Counters over the window. */
  window: StatsCounters;
  /** Counters since the producer was created. */
  totals: StatsCounters;
  /** Every shard this producer has used, by topic then shard. */
  shards: ShardStats[];
}

/** How the parts that deliver and replay report outcomes; the producer turns these into events. */
export interface EventSink {
  /** Whether anyone listens: payloads are built only then. */
  listening(event: keyof ProducerEvents): boolean;
  emit<E extends keyof ProducerEvents>(event: E, ...args: Parameters<ProducerEvents[E]>): void;
}
