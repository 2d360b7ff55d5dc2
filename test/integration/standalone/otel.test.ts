/**
 * The OpenTelemetry bridge (`redis-stream-producer/otel`) against a real producer on the test Redis,
 * read through the OTel SDK's in-memory exporter.
 */
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type Histogram, type MetricData } from '@opentelemetry/sdk-metrics';
import { afterEach, describe, expect, it } from 'vitest';
import { instrumentProducer } from '../../../src/otel.js';
import { collectorOf } from '../../../src/stats/registry.js';
import { Resources, uniqueNamespace } from '../../support/helpers.js';

const res = new Resources();
const providers: MeterProvider[] = [];
afterEach(async () => {
  await res.closeAll();
  await Promise.all(providers.splice(0).map((p) => p.shutdown()));
});

/** A meter provider whose metrics are collected on demand (`collect()`), never on a timer. */
function otel() {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const meterProvider = new MeterProvider({ readers: [reader] });
  providers.push(meterProvider);
  return {
    meterProvider,
    /** Every metric as of now, by name. */
    async collect(): Promise<Map<string, MetricData>> {
      await reader.forceFlush();
      const all =
        exporter
          .getMetrics()
          .at(-1)
          ?.scopeMetrics.flatMap((s) => s.metrics) ?? [];
      exporter.reset();
      return new Map(all.map((m) => [m.descriptor.name, m]));
    },
  };
}

type Attrs = Record<string, unknown>;
/** The value of each data point of a counter or gauge, keyed by its attributes. */
function points(metrics: Map<string, MetricData>, name: string): { attributes: Attrs; value: number }[] {
  const metric = metrics.get(name);
  expect(metric, `metric ${name}`).toBeDefined();
  return metric!.dataPoints.map((p) => ({ attributes: p.attributes as Attrs, value: p.value as number }));
}
const total = (metrics: Map<string, MetricData>, name: string, match: Attrs = {}) =>
  points(metrics, name)
    .filter((p) => Object.entries(match).every(([k, v]) => p.attributes[k] === v))
    .reduce((n, p) => n + p.value, 0);
const histogram = (metrics: Map<string, MetricData>, name: string, topic: string): Histogram => {
  const point = metrics.get(name)?.dataPoints.find((p) => p.attributes.topic === topic);
  expect(point, `${name}{topic=${topic}}`).toBeDefined();
  return point!.value as Histogram;
};

describe('instrumentProducer (OpenTelemetry metrics)', () => {
  it('reports delivered records, bytes and batches per topic and shard, and batch histograms', async () => {
    const { meterProvider, collect } = otel();
    const producer = res.producer({ topics: { a: { shards: 4 }, b: { shards: 2 } }, bufferMaxBytes: 1 << 20 });
    instrumentProducer(producer, { meterProvider, attributes: { service: 'checkout' } });
    let batches = 0;
    producer.on('delivery', () => batches++);

    await producer.sendBatch([
      ...Array.from({ length: 300 }, (_, i) => ({ topic: 'a', key: `k${i}`, value: 'x'.repeat(50) })),
      ...Array.from({ length: 100 }, (_, i) => ({ topic: 'b', key: `k${i}`, value: 'y'.repeat(50) })),
    ]);
    const m = await collect();

    expect(total(m, 'rsp.producer.records.delivered', { topic: 'a' })).toBe(300);
    expect(total(m, 'rsp.producer.records.delivered', { topic: 'b' })).toBe(100);
    expect(
      points(m, 'rsp.producer.records.delivered')
        .map((p) => `${String(p.attributes.topic)}:${String(p.attributes.shard)}`)
        .sort(),
    ).toEqual(['a:0', 'a:1', 'a:2', 'a:3', 'b:0', 'b:1']);
    expect(points(m, 'rsp.producer.records.delivered').every((p) => p.attributes.service === 'checkout')).toBe(true);
    expect(total(m, 'rsp.producer.batches.delivered')).toBe(batches);
    expect(total(m, 'rsp.producer.bytes.delivered', { topic: 'a' })).toBeGreaterThanOrEqual(300 * 50);
    expect(total(m, 'rsp.producer.retries')).toBe(0);
    expect(total(m, 'rsp.producer.records.spilled')).toBe(0);
    expect(m.get('rsp.producer.records.delivered')!.descriptor.unit).toBe('{record}');

    const a = histogram(m, 'rsp.producer.batch.records', 'a');
    const b = histogram(m, 'rsp.producer.batch.records', 'b');
    expect(a.sum).toBe(300);
    expect(b.sum).toBe(100);
    expect(a.count + b.count).toBe(batches);
    const request = histogram(m, 'rsp.producer.request.duration', 'a');
    expect(request.count).toBe(a.count);
    expect(request.min).toBeGreaterThan(0);
    expect(m.get('rsp.producer.request.duration')!.descriptor.unit).toBe('s');
    expect(histogram(m, 'rsp.producer.queue.time', 'a').count).toBe(a.count);

    // Gauges, read at collection: everything is settled now.
    expect(total(m, 'rsp.producer.buffer.used')).toBe(0);
    expect(total(m, 'rsp.producer.buffer.limit')).toBe(1 << 20);
    expect(total(m, 'rsp.producer.queue.records')).toBe(0);
    expect(total(m, 'rsp.producer.inflight.batches')).toBe(0);

    // Counters are cumulative across collections.
    await producer.send({ topic: 'b', value: 'one more', shard: 1 });
    const later = await collect();
    expect(total(later, 'rsp.producer.records.delivered', { topic: 'b' })).toBe(101);
    expect(total(later, 'rsp.producer.records.delivered', { topic: 'b', shard: 1 })).toBe(total(m, 'rsp.producer.records.delivered', { topic: 'b', shard: 1 }) + 1);
  });

  it('reports spills and dead letters per topic', async () => {
    const { meterProvider, collect } = otel();
    const namespace = uniqueNamespace();
    const producer = res.producer({ namespace, topics: { bad: { shards: 1 } }, compensation: { maxAttempts: 1, replay: { enabled: false } } });
    instrumentProducer(producer, { meterProvider });
    await res.admin().set(`{${namespace}:bad:0}`, 'not a stream'); // WRONGTYPE: parked at once
    expect(await producer.send({ topic: 'bad', value: 'v' })).toMatchObject({ status: 'spilled' });
    expect(await producer.compensation.replayNow()).toMatchObject({ deadLettered: 1 });

    const m = await collect();
    expect(points(m, 'rsp.producer.records.spilled')).toEqual([{ attributes: { topic: 'bad', shard: 0 }, value: 1 }]);
    expect(points(m, 'rsp.producer.dead_letters')).toEqual([{ attributes: { topic: 'bad' }, value: 1 }]);
    expect(total(m, 'rsp.producer.records.replayed')).toBe(0);
    expect(total(m, 'rsp.producer.records.delivered')).toBe(0);
  });

  it('reports the records sent compressed and the bytes that saved, as the stats event counts them', async () => {
    const { meterProvider, collect } = otel();
    const producer = res.producer({ topics: { docs: { shards: 1, compression: { codec: 'deflate', minBytes: 100 } } } });
    instrumentProducer(producer, { meterProvider, attributes: { service: 'checkout' } });
    await producer.sendBatch([
      { topic: 'docs', value: 'a'.repeat(5000) },
      { topic: 'docs', value: 'short' },
      { topic: 'docs', value: 'b'.repeat(800) },
    ]);

    const m = await collect();
    expect(points(m, 'rsp.producer.records.compressed')).toEqual([{ attributes: { service: 'checkout' }, value: 2 }]);
    const saved = total(m, 'rsp.producer.compression.saved');
    expect(saved).toBeGreaterThan(5000 + 800 - 200); // two runs of one letter shrink to a few bytes each
    expect(saved).toBe(collectorOf(producer)!.totalCounters().compressionSavedBytes);
    expect(m.get('rsp.producer.compression.saved')!.descriptor.unit).toBe('By');
  });

  it('stops recording after stop()', async () => {
    const { meterProvider, collect } = otel();
    const producer = res.producer();
    const instrumentation = instrumentProducer(producer, { meterProvider });
    await producer.send({ topic: 't', value: 'v' });
    expect(histogram(await collect(), 'rsp.producer.batch.records', 't').count).toBe(1);
    instrumentation.stop();
    await producer.send({ topic: 't', value: 'w' });
    const after = await collect();
    expect(after.get('rsp.producer.batch.records')?.dataPoints.find((p) => p.attributes.topic === 't')?.value).toMatchObject({ count: 1 });
    // No callback observes the counters any more: they keep their last value (2 records are in Redis now).
    expect(total(after, 'rsp.producer.records.delivered')).toBe(1);
  });

  it('refuses something that is not a producer, naming the argument', () => {
    expect(() => instrumentProducer({} as never)).toThrow(TypeError);
    expect(() => instrumentProducer({} as never)).toThrow(/`producer` must be a Producer of redis-stream-producer, got an instance of Object/);
    expect(() => instrumentProducer(undefined as never)).toThrow(/got undefined/);
  });
});
