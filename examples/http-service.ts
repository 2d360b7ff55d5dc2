/**
 * An HTTP service that produces one record per request (node:http) and shuts down gracefully.
 *   npx tsx examples/http-service.ts                    (PORT=8080 to pick the port; REDIS_URL optional)
 *   curl -i -X POST -H 'x-key: user-42' --data '{"total":12}' http://127.0.0.1:8080/topics/orders
 *
 * POST /topics/<topic> (body = value, optional `x-key` header = key) awaits `send()` and answers:
 *   202 {"status":"delivered","stream","id"}  the record is in its stream
 *   202 {"status":"parked","compensationId"}  Redis could not take it in time; it is parked and the
 *                                             replayer delivers it. Not a 503: a client that resent
 *                                             it would write it twice.
 *   400 {"error","field"}                     the record is invalid (InvalidRecordError names the field)
 *   503 (Retry-After)                         not accepted: the buffer stayed full, or we are shutting down
 *
 * SIGTERM/SIGINT: stop accepting connections, let the requests in flight get their answer, then
 * close the producer (flushes, parks what cannot be delivered), then exit.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BufferFullError, InvalidRecordError, Producer, ProducerClosedError } from '../src/index.js';
import { withRedis } from './throwaway-redis.js';

/** Larger bodies are refused before they are buffered in memory (the producer's maxRecordBytes is 1 MiB). */
const MAX_BODY_BYTES = 1024 * 1024;
/** How long shutdown waits for requests in flight before it cuts their connections. */
const SHUTDOWN_GRACE_MS = 10_000;
/** Set on SIGTERM: answers then carry `connection: close`, so keep-alive sockets end with them. */
let shuttingDown = false;

await withRedis(async (url) => {
  const producer = new Producer({ redis: url, namespace: 'http-demo', maxBlockMs: 1_000 });
  producer.on('error', (err) => console.error(`producer error: ${err.code}: ${err.message}`));
  await producer.connect(); // fail at start-up, not on the first request, when Redis is unreachable

  const counts = { delivered: 0, parked: 0, invalid: 0, refused: 0 };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => reply(res, 500, { error: String(err) }));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const topic = /^\/topics\/([^/?]+)$/.exec(req.url ?? '')?.[1];
    if (req.method !== 'POST' || topic === undefined) return reply(res, 404, { error: 'POST /topics/<topic>' });
    const value = await readBody(req);
    if (value === undefined) return reply(res, 413, { error: `body larger than ${MAX_BODY_BYTES} bytes` });
    const key = req.headers['x-key'];
    try {
      const ack = await producer.send({
        topic: decodeURIComponent(topic),
        value,
        ...(typeof key === 'string' ? { key } : {}),
        headers: { 'content-type': req.headers['content-type'] ?? 'application/octet-stream' },
      });
      if (ack.status === 'delivered') {
        counts.delivered++;
        return reply(res, 202, { status: 'delivered', stream: ack.stream, id: ack.id });
      }
      counts.parked++;
      return reply(res, 202, { status: 'parked', compensationId: ack.compensationId });
    } catch (err) {
      if (err instanceof InvalidRecordError) {
        counts.invalid++;
        return reply(res, 400, { error: err.message, field: err.field });
      }
      if (err instanceof BufferFullError || err instanceof ProducerClosedError) {
        counts.refused++;
        res.setHeader('retry-after', '1');
        return reply(res, 503, { error: err.message, code: err.code });
      }
      throw err;
    }
  }

  server.listen(Number(process.env.PORT ?? 8080), '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  console.log(`listening on http://127.0.0.1:${(server.address() as AddressInfo).port} (pid ${process.pid}); SIGTERM or Ctrl-C stops it`);

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  shuttingDown = true;
  console.log(`${signal}: no new connections; waiting for the requests in flight`);
  // close() stops accepting and ends idle keep-alive connections; it calls back once every
  // connection has ended, i.e. every request in flight has had its answer.
  const drained = new Promise<void>((resolve) => server.close(() => resolve()));
  const grace = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
  await drained;
  clearTimeout(grace);
  console.log('every request answered; closing the producer');
  await producer.close(); // flushes; anything it cannot deliver is parked, never dropped
  console.log(`producer closed: ${counts.delivered} delivered, ${counts.parked} parked, ${counts.invalid} invalid, ${counts.refused} refused`);
});

/** The request body, or undefined when it exceeds MAX_BODY_BYTES. */
async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function reply(res: ServerResponse, status: number, body: object): void {
  // Without this, an idle keep-alive connection would hold server.close() up until it times out.
  if (shuttingDown) res.setHeader('connection', 'close');
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}
