/**
 * Counters and latency histograms behind the `stats` event and the OpenTelemetry bridge. Every hook
 * is called once per batch (or per replay round), never per record: the hot path stays as it is.
 */
import type { ShardStats, StatsCounters, StatsEvent, StatsSummary } from '../events.js';
import { LogHistogram } from './histogram.js';

/** A shard's queue as the sender has it right now (read at snapshot time only). */
export interface ShardQueue {
  topic: string;
  shard: number;
  stream: string;
  queuedRecords: number;
  queuedBytes: number;
  inFlightRecords: number;
}

/** Figures read from the producer's parts when a snapshot is taken. */
export interface StatsGauges {
  /** Bytes held against `bufferMaxBytes` (the BufferGate). */
  bufferedBytes: number;
  shards: Iterable<ShardQueue>;
}

/** What the sender reports; one call per batch outcome. */
export interface SenderStatsHooks {
  batchDelivered(topic: string, shard: number, stream: string, records: number, bytes: number, queueMs: number, requestMs: number): void;
  retried(topic: string, shard: number, stream: string): void;
  spilled(topic: string, shard: number, stream: string, records: number, to: 'redis' | 'journal'): void;
  failed(topic: string, shard: number, stream: string, records: number): void;
  /** A batch was compressed, once before its first call: `records` values now take `savedBytes` less. */
  compressed(records: number, savedBytes: number): void;
}

/** How one parked record's replay ended (the replayer's outcome names). */
export type ReplayOutcome = 'replayed' | 'alreadyDelivered' | 'retryLater' | 'deadLettered';

/** What the replayer reports; one call per topic and round. */
export interface ReplayStatsHooks {
  replayOutcomes(topic: string, outcomes: readonly ReplayOutcome[]): void;
}

/** One delivered batch, for taps (the OpenTelemetry bridge records it into its histograms). */
export interface BatchObservation {
  topic: string;
  shard: number;
  records: number;
  bytes: number;
  queueMs: number;
  requestMs: number;
}

/** Replay counters of one topic, since the producer started. */
export interface TopicReplayTotals {
  replayedRecords: number;
  replayFailures: number;
  deadLetters: number;
}

export interface StatsCollectorDeps {
  producerId: string;
  bufferMaxBytes: number;
  /** Monotonic milliseconds (performance.now). */
  now: () => number;
  /** Milliseconds since the epoch, for the event's timestamp. */
  wallClock: () => number;
  gauges: () => StatsGauges;
}

const zeroCounters = (): StatsCounters => ({
  deliveredRecords: 0,
  deliveredBytes: 0,
  deliveredBatches: 0,
  retries: 0,
  spilledRecords: 0,
  journaledRecords: 0,
  failedRecords: 0,
  replayedRecords: 0,
  replayFailures: 0,
  deadLetters: 0,
  compressedRecords: 0,
  compressionSavedBytes: 0,
});

type ShardCounters = Omit<ShardStats, 'queuedRecords' | 'queuedBytes' | 'inFlightRecords'>;

/** Milliseconds: 1 µs to 1 h. Batch records: 1 to 100k (`batchMaxRecords`' bound). Bytes: 1 B to 512 MiB. */
const latencyHistogram = () => new LogHistogram(0.001, 3_600_000);

export class StatsCollector implements SenderStatsHooks, ReplayStatsHooks {
  private readonly createdAt: number;
  private windowStart: number;
  private window = zeroCounters();
  private readonly totals = zeroCounters();
  private readonly shards = new Map<string, ShardCounters>();
  private readonly topicReplays = new Map<string, TopicReplayTotals>();
  private readonly queueMs = latencyHistogram();
  private readonly requestMs = latencyHistogram();
  private readonly batchRecords = new LogHistogram(1, 100_000);
  private readonly batchBytes = new LogHistogram(1, 512 * 1024 * 1024);
  private taps: ((batch: BatchObservation) => void)[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** Windows ended so far (each tick ends one, whether or not a payload was built). */
  windowsEnded = 0;

  constructor(private readonly deps: StatsCollectorDeps) {
    this.createdAt = this.windowStart = deps.now();
  }

  batchDelivered(topic: string, shard: number, stream: string, records: number, bytes: number, queueMs: number, requestMs: number): void {
    const s = this.shard(topic, shard, stream);
    s.deliveredRecords += records;
    s.deliveredBytes += bytes;
    s.deliveredBatches++;
    this.add('deliveredRecords', records);
    this.add('deliveredBytes', bytes);
    this.add('deliveredBatches', 1);
    this.queueMs.record(queueMs);
    this.requestMs.record(requestMs);
    this.batchRecords.record(records);
    this.batchBytes.record(bytes);
    if (this.taps.length > 0) {
      const observation: BatchObservation = { topic, shard, records, bytes, queueMs, requestMs };
      for (const tap of this.taps) tap(observation);
    }
  }

  retried(topic: string, shard: number, stream: string): void {
    this.shard(topic, shard, stream).retries++;
    this.add('retries', 1);
  }

  spilled(topic: string, shard: number, stream: string, records: number, to: 'redis' | 'journal'): void {
    this.shard(topic, shard, stream).spilledRecords += records;
    this.add('spilledRecords', records);
    if (to === 'journal') this.add('journaledRecords', records);
  }

  failed(topic: string, shard: number, stream: string, records: number): void {
    this.shard(topic, shard, stream).failedRecords += records;
    this.add('failedRecords', records);
  }

  compressed(records: number, savedBytes: number): void {
    this.add('compressedRecords', records);
    this.add('compressionSavedBytes', savedBytes);
  }

  replayOutcomes(topic: string, outcomes: readonly ReplayOutcome[]): void {
    if (outcomes.length === 0) return;
    let t = this.topicReplays.get(topic);
    if (t === undefined) this.topicReplays.set(topic, (t = { replayedRecords: 0, replayFailures: 0, deadLetters: 0 }));
    for (const outcome of outcomes) {
      const field = outcome === 'deadLettered' ? 'deadLetters' : outcome === 'retryLater' ? 'replayFailures' : 'replayedRecords';
      t[field]++;
      this.add(field, 1);
    }
  }

  /** Forgets a shard's counters (its state was released as idle); the totals keep what it counted. */
  forgetShard(stream: string): void {
    this.shards.delete(stream);
  }

  /** Calls `tap` with every delivered batch until the returned function is called. */
  tap(tap: (batch: BatchObservation) => void): () => void {
    this.taps = [...this.taps, tap];
    return () => {
      this.taps = this.taps.filter((t) => t !== tap);
    };
  }

  /** Counters since the producer was created. */
  totalCounters(): Readonly<StatsCounters> {
    return this.totals;
  }

  /** Cumulative counters of every shard used so far. */
  shardCounters(): Iterable<Readonly<ShardCounters>> {
    return this.shards.values();
  }

  /** Replay counters per topic, since the producer was created. */
  replayTotals(): Iterable<[string, Readonly<TopicReplayTotals>]> {
    return this.topicReplays.entries();
  }

  /** The producer's `bufferMaxBytes`. */
  get bufferMaxBytes(): number {
    return this.deps.bufferMaxBytes;
  }

  /** Reads the gauges now (buffer, queues, in-flight batches). */
  gauges(): StatsGauges {
    return this.deps.gauges();
  }

  /** Builds the `stats` payload for the window so far, then starts a new window. */
  snapshot(): StatsEvent {
    const now = this.deps.now();
    const windowMs = now - this.windowStart;
    const perSec = (n: number) => (windowMs > 0 ? round((n * 1000) / windowMs, 2) : 0);
    const gauges = this.deps.gauges();
    const shards: ShardStats[] = [];
    let inFlightBatches = 0;
    let inFlightRecords = 0;
    let queuedRecords = 0;
    let queuedBytes = 0;
    const seen = new Set<string>();
    for (const q of gauges.shards) {
      seen.add(q.stream);
      if (q.inFlightRecords > 0) inFlightBatches++;
      inFlightRecords += q.inFlightRecords;
      queuedRecords += q.queuedRecords;
      queuedBytes += q.queuedBytes;
      const c = this.shards.get(q.stream) ?? emptyShard(q.topic, q.shard, q.stream);
      shards.push({ ...c, queuedRecords: q.queuedRecords, queuedBytes: q.queuedBytes, inFlightRecords: q.inFlightRecords });
    }
    for (const c of this.shards.values()) if (!seen.has(c.stream)) shards.push({ ...c, queuedRecords: 0, queuedBytes: 0, inFlightRecords: 0 });
    shards.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.shard - b.shard));
    const w = this.window;
    const event: StatsEvent = {
      timestamp: this.deps.wallClock(),
      producerId: this.deps.producerId,
      windowMs: round(windowMs, 3),
      uptimeMs: round(now - this.createdAt, 3),
      recordsPerSec: perSec(w.deliveredRecords),
      bytesPerSec: perSec(w.deliveredBytes),
      batchesPerSec: perSec(w.deliveredBatches),
      batchRecords: summary(this.batchRecords, 2),
      batchBytes: summary(this.batchBytes, 2),
      queueTimeMs: summary(this.queueMs, 3),
      requestLatencyMs: summary(this.requestMs, 3),
      inFlightBatches,
      inFlightRecords,
      queuedRecords,
      queuedBytes,
      bufferedBytes: gauges.bufferedBytes,
      bufferMaxBytes: this.deps.bufferMaxBytes,
      window: { ...w },
      totals: { ...this.totals },
      shards,
    };
    this.endWindow(now);
    return event;
  }

  /** Starts a new window without building a payload (nobody listens). */
  endWindow(now = this.deps.now()): void {
    this.windowStart = now;
    this.window = zeroCounters();
    this.queueMs.reset();
    this.requestMs.reset();
    this.batchRecords.reset();
    this.batchBytes.reset();
    this.windowsEnded++;
  }

  /**
   * Ends a window every `intervalMs`; emits a snapshot only when `listening()` says someone wants
   * it. The timer is unref'd: it never keeps the process alive.
   */
  start(intervalMs: number, listening: () => boolean, emit: (event: StatsEvent) => void): void {
    if (this.timer !== undefined || intervalMs <= 0) return;
    this.timer = setInterval(() => {
      if (listening()) emit(this.snapshot());
      else this.endWindow();
    }, intervalMs);
    this.timer.unref();
  }

  /** The interval timer is running (between `start()` and `stop()`). */
  get running(): boolean {
    return this.timer !== undefined;
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private add(field: keyof StatsCounters, n: number): void {
    this.window[field] += n;
    this.totals[field] += n;
  }

  private shard(topic: string, shard: number, stream: string): ShardCounters {
    let s = this.shards.get(stream);
    if (s === undefined) this.shards.set(stream, (s = emptyShard(topic, shard, stream)));
    return s;
  }
}

function emptyShard(topic: string, shard: number, stream: string): ShardCounters {
  return { topic, shard, stream, deliveredRecords: 0, deliveredBytes: 0, deliveredBatches: 0, retries: 0, spilledRecords: 0, failedRecords: 0 };
}

function summary(h: LogHistogram, digits: number): StatsSummary {
  return { count: h.count, avg: round(h.mean(), digits), p50: round(h.percentile(50), digits), p99: round(h.percentile(99), digits), max: round(h.maximum(), digits) };
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
