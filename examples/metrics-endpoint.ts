/**
 * A producer's metrics on `/metrics` in Prometheus text format, while it produces some traffic:
 * the OpenTelemetry bridge (`redis-stream-producer/otel`) feeds @opentelemetry/exporter-prometheus,
 * and the `stats` event prints a line per second. docs/metrics.md explains every figure.
 *   npx tsx examples/metrics-endpoint.ts        (METRICS_PORT=9464 picks the port, 0 any; REDIS_URL optional)
 *   curl http://127.0.0.1:9464/metrics
 * Ctrl-C (SIGINT) or SIGTERM stops it: the traffic stops, the producer flushes and closes.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { BufferFullError, Producer } from '../src/index.js';
import { instrumentProducer } from '../src/otel.js';
import { withRedis } from './throwaway-redis.js';

await withRedis(async (url) => {
  const producer = new Producer({ redis: url, namespace: 'metrics-demo', topics: { orders: { shards: 4 } }, statsIntervalMs: 1000 });
  producer.on('error', (err) => console.error(`producer error: ${err.code}: ${err.message}`));

  // The exporter is a metric reader that renders on request; we serve it from our own server.
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const meterProvider = new MeterProvider({ readers: [exporter] });
  instrumentProducer(producer, { meterProvider });

  producer.on('stats', (s) => {
    console.log(
      `stats: ${Math.round(s.recordsPerSec)} records/s in ${s.batchesPerSec} batches/s (avg ${s.batchRecords.avg} records), ` +
        `request p50 ${s.requestLatencyMs.p50} ms p99 ${s.requestLatencyMs.p99} ms, buffered ${s.bufferedBytes} B, ` +
        `total ${s.totals.deliveredRecords} delivered, ${s.totals.retries} retries, ${s.totals.spilledRecords} spilled`,
    );
  });

  const server = createServer((req, res) => {
    if (req.url === '/metrics') return exporter.getMetricsRequestHandler(req, res);
    res.writeHead(404, { 'content-type': 'text/plain' }).end('metrics are on /metrics\n');
  });
  await new Promise<void>((resolve) => server.listen(Number(process.env.METRICS_PORT ?? 9464), '127.0.0.1', resolve));
  console.log(`serving metrics on http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`);

  let stopping = false;
  const signal = new Promise<NodeJS.Signals>((resolve) => {
    for (const s of ['SIGINT', 'SIGTERM'] as const) process.once(s, () => resolve(s));
  });

  // Some traffic: 200 keyed orders every 50 ms (about 4000 records/s), with back-pressure.
  const traffic = (async () => {
    for (let i = 0; !stopping; ) {
      for (let k = 0; k < 200; k++, i++) {
        const record = { topic: 'orders', key: `user-${i % 1000}`, value: JSON.stringify({ order: i, total: i % 97 }) };
        try {
          producer.produce(record);
        } catch (err) {
          if (!(err instanceof BufferFullError)) throw err;
          await producer.waitForRoom();
          producer.produce(record);
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();

  const received = await signal;
  stopping = true;
  await traffic;
  await new Promise((resolve) => server.close(resolve));
  await producer.close();
  await meterProvider.shutdown();
  console.log(`${received}: closed cleanly`);
});
