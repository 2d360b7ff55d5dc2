/**
 * OpenTelemetry metrics bridge: `import { instrumentProducer } from 'redis-stream-producer/otel'`.
 * Needs `@opentelemetry/api` (an optional peer dependency; the main entry never loads it). The
 * figures come from the same collector as the `stats` event; docs/metrics.md lists them all.
 */
import { metrics, type Attributes, type BatchObservableCallback, type Histogram, type Meter, type MeterProvider } from '@opentelemetry/api';
import type { Producer } from './producer.js';
import { collectorOf } from './stats/registry.js';

export interface InstrumentOptions {
  /** Meter to create the instruments on. Default: `meterProvider`'s, else the global provider's. */
  meter?: Meter;
  /** Provider to get the meter from when `meter` is not given. Default: the global one (`metrics.getMeterProvider()`). */
  meterProvider?: MeterProvider;
  /**
   * Added to every measurement, e.g. `{ 'service.instance.id': 'api-1' }`. Two producers of one
   * process writing the same topic need different attributes here, or their figures collide.
   */
  attributes?: Attributes;
}

/** What `instrumentProducer` returns. */
export interface ProducerInstrumentation {
  /** Stops reporting: removes the callbacks from the meter; the instruments stay registered, silent. */
  stop(): void;
}

const METER_NAME = 'redis-stream-producer';
/** Seconds: 50 µs to 1 min, dense where Redis answers (0.1–10 ms). */
const TIME_BUCKETS_S = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const RECORD_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000, 100_000];
const BYTE_BUCKETS = [256, 1024, 4096, 16_384, 65_536, 262_144, 1_048_576, 4_194_304, 16_777_216, 67_108_864];

/**
 * Reports a producer's figures through OpenTelemetry metrics, so an exporter (Prometheus, OTLP)
 * carries them to Grafana & co: cumulative counters per topic and shard, gauges read at collection
 * time, and histograms of batch size, queue time and request latency recorded once per batch.
 * Works whether or not `statsIntervalMs` is on.
 *
 * @throws TypeError when `producer` is not a `Producer` of this package.
 */
export function instrumentProducer(producer: Producer, options: InstrumentOptions = {}): ProducerInstrumentation {
  const collector = collectorOf(producer);
  if (collector === undefined) {
    throw new TypeError(`instrumentProducer(): \`producer\` must be a Producer of redis-stream-producer, got ${describe(producer)}`);
  }
  const meter = options.meter ?? (options.meterProvider ?? metrics.getMeterProvider()).getMeter(METER_NAME);
  const base = options.attributes ?? {};

  const counter = (name: string, unit: string, description: string) => meter.createObservableCounter(name, { unit, description });
  const gauge = (name: string, unit: string, description: string) => meter.createObservableGauge(name, { unit, description });
  const histogram = (name: string, unit: string, description: string, buckets: number[]): Histogram =>
    meter.createHistogram(name, { unit, description, advice: { explicitBucketBoundaries: buckets } });

  const delivered = counter('rsp.producer.records.delivered', '{record}', 'Records written to their streams (acknowledged by Redis; replays included)');
  const deliveredBytes = counter('rsp.producer.bytes.delivered', 'By', 'Record bytes (value + key + headers) written');
  const batches = counter('rsp.producer.batches.delivered', '{batch}', 'Script calls that wrote a batch');
  const retries = counter('rsp.producer.retries', '{retry}', 'Batch attempts that failed retriably and were tried again');
  const spilled = counter('rsp.producer.records.spilled', '{record}', 'Records parked for replay (compensation store or journal)');
  const journaled = counter('rsp.producer.records.journaled', '{record}', 'Records parked in the local journal because Redis was unreachable');
  const failed = counter('rsp.producer.records.failed', '{record}', 'Records that failed without being parked');
  const replayed = counter('rsp.producer.records.replayed', '{record}', 'Parked records now in their stream');
  const replayFailures = counter('rsp.producer.replay.failures', '{record}', 'Replays that failed and were rescheduled');
  const deadLetters = counter('rsp.producer.dead_letters', '{record}', 'Parked records moved to the dead-letter set');
  const compressed = counter('rsp.producer.records.compressed', '{record}', 'Records whose value is sent compressed');
  const compressionSaved = counter('rsp.producer.compression.saved', 'By', 'Entry bytes compression saved (value bytes less compressed bytes and the encoding field)');
  const bufferUsed = gauge('rsp.producer.buffer.used', 'By', 'Bytes accepted and not yet settled (bufferMaxBytes counts these)');
  const bufferLimit = gauge('rsp.producer.buffer.limit', 'By', 'bufferMaxBytes');
  const queuedRecords = gauge('rsp.producer.queue.records', '{record}', 'Records in accumulators, not yet in a script call');
  const queuedBytes = gauge('rsp.producer.queue.size', 'By', 'Record bytes in accumulators, not yet in a script call');
  const inFlightRecords = gauge('rsp.producer.inflight.records', '{record}', 'Records of the batch in flight on the shard');
  const inFlightBatches = gauge('rsp.producer.inflight.batches', '{batch}', 'Batches being sent (at most maxInFlight)');
  const observables = [
    delivered,
    deliveredBytes,
    batches,
    retries,
    spilled,
    journaled,
    failed,
    replayed,
    replayFailures,
    deadLetters,
    compressed,
    compressionSaved,
    bufferUsed,
    bufferLimit,
    queuedRecords,
    queuedBytes,
    inFlightRecords,
    inFlightBatches,
  ];

  const batchRecords = histogram('rsp.producer.batch.records', '{record}', 'Records per delivered batch', RECORD_BUCKETS);
  const batchSize = histogram('rsp.producer.batch.size', 'By', 'Record bytes per delivered batch', BYTE_BUCKETS);
  const queueTime = histogram('rsp.producer.queue.time', 's', 'Per delivered batch: first record accepted → the script call that wrote it (retries included)', TIME_BUCKETS_S);
  const requestDuration = histogram('rsp.producer.request.duration', 's', 'Per delivered batch: script call → reply', TIME_BUCKETS_S);

  const observe: BatchObservableCallback = (result) => {
    const topics = new Set<string>();
    for (const s of collector.shardCounters()) {
      topics.add(s.topic);
      const at = { ...base, topic: s.topic, shard: s.shard };
      result.observe(delivered, s.deliveredRecords, at);
      result.observe(deliveredBytes, s.deliveredBytes, at);
      result.observe(batches, s.deliveredBatches, at);
      result.observe(retries, s.retries, at);
      result.observe(spilled, s.spilledRecords, at);
      result.observe(failed, s.failedRecords, at);
    }
    // Every topic gets its replay series (0 until a replay happens), so alerts need no `absent()`.
    const replays = new Map(collector.replayTotals());
    for (const topic of new Set([...topics, ...replays.keys()])) {
      const t = replays.get(topic);
      const at = { ...base, topic };
      result.observe(replayed, t?.replayedRecords ?? 0, at);
      result.observe(replayFailures, t?.replayFailures ?? 0, at);
      result.observe(deadLetters, t?.deadLetters ?? 0, at);
    }
    const totals = collector.totalCounters();
    result.observe(journaled, totals.journaledRecords, base);
    result.observe(compressed, totals.compressedRecords, base);
    result.observe(compressionSaved, totals.compressionSavedBytes, base);
    const gauges = collector.gauges();
    result.observe(bufferUsed, gauges.bufferedBytes, base);
    result.observe(bufferLimit, collector.bufferMaxBytes, base);
    let batchesInFlight = 0;
    for (const q of gauges.shards) {
      const at = { ...base, topic: q.topic, shard: q.shard };
      result.observe(queuedRecords, q.queuedRecords, at);
      result.observe(queuedBytes, q.queuedBytes, at);
      result.observe(inFlightRecords, q.inFlightRecords, at);
      if (q.inFlightRecords > 0) batchesInFlight++;
    }
    result.observe(inFlightBatches, batchesInFlight, base);
  };
  meter.addBatchObservableCallback(observe, observables);

  const untap = collector.tap((b) => {
    const at = { ...base, topic: b.topic };
    batchRecords.record(b.records, at);
    batchSize.record(b.bytes, at);
    queueTime.record(b.queueMs / 1000, at);
    requestDuration.record(b.requestMs / 1000, at);
  });

  return {
    stop() {
      untap();
      meter.removeBatchObservableCallback(observe, observables);
    },
  };
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object') return typeof value;
  return value.constructor?.name ? `an instance of ${value.constructor.name}` : 'an object';
}
