/**
 * TLS: `rediss://` URLs and ioredis `tls` options work against a real `redis-server
 * --tls-port`, with certificates made at test time by openssl; certificate verification is on by
 * default (no `ca` → refused, wrong host name → refused); mutual TLS works with a client certificate
 * and fails clearly without one; a refused certificate does not cause a reconnect storm.
 *
 * Each server also listens on a plain loopback port, used only to see that it is up and to read what
 * the producers wrote; every producer here talks to the TLS port.
 */
import { spawn } from 'node:child_process';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeliveryError, type Producer, type ProducerConfig } from '../../../src/index.js';
import { readStream, Resources, uniqueNamespace } from '../../support/helpers.js';
import { freePort, startRedisServer, type ServerProcess } from '../../support/redis-server.js';
import { CLIENT_EXTENSIONS, createPki, SERVER_EXTENSIONS, type Pki } from '../../support/tls-pki.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/tls-url-send.ts', import.meta.url));

interface TlsServer {
  server: ServerProcess;
  tlsPort: number;
  /** Plain-port admin client (default user) for reading streams. */
  admin: Redis;
}

let pki: Pki;
let client: { cert: Buffer; key: Buffer };
/** `--tls-auth-clients optional`: server certificate for 127.0.0.1 and localhost. */
let optional: TlsServer;
/** `--tls-auth-clients yes`: mutual TLS. */
let mutual: TlsServer;
/** A certificate signed by the trusted CA, but for another host name. */
let wrongHost: TlsServer;
const res = new Resources();

async function startTlsServer(cert: { certFile: string; keyFile: string }, authClients: 'optional' | 'yes'): Promise<TlsServer> {
  const tlsPort = await freePort();
  let server: ServerProcess;
  try {
    server = await startRedisServer([
      '--tls-port',
      String(tlsPort),
      '--tls-cert-file',
      cert.certFile,
      '--tls-key-file',
      cert.keyFile,
      '--tls-ca-cert-file',
      pki.caFile,
      '--tls-auth-clients',
      authClients,
    ]);
  } catch (err) {
    throw new Error(`redis-server would not start with --tls-port; is it built with TLS (BUILD_TLS=yes; Debian's redis-server is)? ${String(err)}`);
  }
  return { server, tlsPort, admin: new Redis(server.port, '127.0.0.1', { maxRetriesPerRequest: 1 }) };
}

beforeAll(async () => {
  pki = createPki();
  const serverCert = pki.issue('server', { subject: '/CN=localhost', extensions: SERVER_EXTENSIONS });
  const otherCert = pki.issue('other-host', { subject: '/CN=redis.other.example', extensions: ['subjectAltName=DNS:redis.other.example', 'extendedKeyUsage=serverAuth'] });
  client = pki.issue('client', { subject: '/CN=producer', extensions: CLIENT_EXTENSIONS });
  [optional, mutual, wrongHost] = await Promise.all([startTlsServer(serverCert, 'optional'), startTlsServer(serverCert, 'yes'), startTlsServer(otherCert, 'optional')]);
});

afterAll(async () => {
  await res.closeAll();
  for (const s of [optional, mutual, wrongHost]) {
    if (!s) continue;
    s.admin.disconnect();
    await s.server.stop();
  }
  pki?.remove();
});

/** A producer on a TLS port; its errors are collected instead of thrown. */
function tlsProducer(redis: ProducerConfig['redis'], extra: ProducerConfig = {}): { producer: Producer; errors: DeliveryError[] } {
  const producer = res.producer({ redis, defaultShards: 2, requestTimeoutMs: 1_000, compensation: { replay: { enabled: false } }, ...extra });
  const errors: DeliveryError[] = [];
  producer.on('error', (err) => errors.push(err as DeliveryError));
  return { producer, errors };
}

async function connectError(producer: Producer): Promise<{ error: unknown; ms: number }> {
  const started = performance.now();
  const error = await producer.connect().then(
    () => undefined,
    (err: unknown) => err,
  );
  return { error, ms: performance.now() - started };
}

/** Everything the producer told the caller about a failed connection: the rejection and the error events. */
function described(rejection: unknown, errors: DeliveryError[]): string {
  const causes = errors.map((e) => `${e.message} [${String((e.cause as { code?: string } | undefined)?.code)}]`);
  return [String((rejection as Error | undefined)?.message), ...causes].join('\n');
}

describe('TLS with verification (server certificate signed by a CA made at test time)', () => {
  it('ioredis options with `tls: { ca }`: send, sendBatch and produce deliver over TLS', async () => {
    const namespace = uniqueNamespace();
    const { producer, errors } = tlsProducer({ host: '127.0.0.1', port: optional.tlsPort, tls: { ca: pki.ca } }, { namespace });
    await producer.connect();
    const ack = await producer.send({ topic: 'orders', key: 'k1', value: 'v0' });
    expect(ack.status).toBe('delivered');
    const batch = await producer.sendBatch(Array.from({ length: 50 }, (_, i) => ({ topic: 'orders', value: `b${i}` })));
    expect(batch.every((r) => r.status === 'delivered')).toBe(true);
    for (let i = 0; i < 50; i++) producer.produce({ topic: 'orders', value: `p${i}` });
    await producer.flush();
    const entries = [...(await readStream(optional.admin, `{${namespace}:orders:0}`)), ...(await readStream(optional.admin, `{${namespace}:orders:1}`))];
    expect(entries).toHaveLength(101);
    expect(errors).toEqual([]);
  });

  it('a `rediss://` URL on a client you own, with the CA in its options', async () => {
    const namespace = uniqueNamespace();
    // The producer's own rules for a client it is handed (docs/configuration.md "Connections").
    const own = new Redis(`rediss://127.0.0.1:${optional.tlsPort}`, {
      tls: { ca: pki.ca },
      lazyConnect: true,
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 0,
    });
    try {
      const { producer } = tlsProducer(own, { namespace });
      const ack = await producer.send({ topic: 't', value: 'v' });
      expect(ack).toMatchObject({ status: 'delivered', stream: expect.stringMatching(new RegExp(`^\\{${namespace}:t:[01]\\}$`)) });
      await producer.close();
    } finally {
      own.disconnect();
    }
  });

  it("a plain `rediss://` URL as the producer's `redis` option, trusting the CA through NODE_EXTRA_CA_CERTS", async () => {
    const namespace = uniqueNamespace();
    const url = `rediss://127.0.0.1:${optional.tlsPort}`;
    const trusted = await runFixture({ REDIS_URL: url, NAMESPACE: namespace, NODE_EXTRA_CA_CERTS: pki.caFile });
    expect(trusted).toMatchObject({ ok: true, ack: { status: 'delivered' } });
    expect(await optional.admin.xlen(`{${namespace}:t:${(trusted.ack as { shard: number }).shard}}`)).toBe(1);
    // Same URL, same process setup, no trust for the CA: verification refuses the server.
    const untrusted = await runFixture({ REDIS_URL: url, NAMESPACE: namespace, NODE_EXTRA_CA_CERTS: '' });
    expect(untrusted).toMatchObject({ ok: false, name: 'DeliveryError' });
  });

  it('verification is on by default: without `ca` the server certificate is refused, connect() rejects in time', async () => {
    const { producer, errors } = tlsProducer(`rediss://127.0.0.1:${optional.tlsPort}`);
    const { error, ms } = await connectError(producer);
    expect(error).toBeInstanceOf(DeliveryError);
    // Bounded by requestTimeoutMs (1 s), not by ioredis' reconnect loop.
    expect(ms).toBeLessThan(2_500);
    // The reason is named: Node's verification error, as the cause of a typed, non-retriable error event.
    const refused = errors.find((e) => (e.cause as { code?: string } | undefined)?.code === 'SELF_SIGNED_CERT_IN_CHAIN');
    expect(refused, described(error, errors)).toBeDefined();
    expect(refused!.retriable).toBe(false);
    expect(refused!.message).toMatch(/certificate/);
  });

  it('the host name is verified too: a certificate from the trusted CA for another host is refused', async () => {
    const { producer, errors } = tlsProducer({ host: '127.0.0.1', port: wrongHost.tlsPort, tls: { ca: pki.ca } });
    const { error } = await connectError(producer);
    expect(error).toBeInstanceOf(DeliveryError);
    const refused = errors.find((e) => (e.cause as { code?: string } | undefined)?.code === 'ERR_TLS_CERT_ALTNAME_INVALID');
    expect(refused, described(error, errors)).toBeDefined();
    expect(refused!.message).toMatch(/127\.0\.0\.1/);
  });
});

describe('mutual TLS (--tls-auth-clients yes)', () => {
  it('a client certificate signed by the CA: delivers', async () => {
    const namespace = uniqueNamespace();
    const { producer, errors } = tlsProducer({ host: '127.0.0.1', port: mutual.tlsPort, tls: { ca: pki.ca, cert: client.cert, key: client.key } }, { namespace });
    const acks = await producer.sendBatch(Array.from({ length: 20 }, (_, i) => ({ topic: 't', key: `k${i}`, value: `m${i}` })));
    expect(acks.every((a) => a.status === 'delivered')).toBe(true);
    expect((await mutual.admin.xlen(`{${namespace}:t:0}`)) + (await mutual.admin.xlen(`{${namespace}:t:1}`))).toBe(20);
    expect(errors).toEqual([]);
  });

  it('without a client certificate (TLS 1.2): the handshake fails, connect() rejects, the error events say so', async () => {
    // In TLS 1.2 the server asks for the client certificate inside the handshake, so the refusal
    // arrives as a handshake alert on every attempt.
    const { producer, errors } = tlsProducer({ host: '127.0.0.1', port: mutual.tlsPort, tls: { ca: pki.ca, maxVersion: 'TLSv1.2' } });
    const { error, ms } = await connectError(producer);
    expect(error).toBeInstanceOf(DeliveryError);
    expect(ms).toBeLessThan(2_500);
    expect(errors.length, described(error, errors)).toBeGreaterThan(0);
    for (const e of errors) {
      expect((e.cause as { code?: string }).code, described(error, errors)).toBe('ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE');
      expect(e.message).toMatch(/alert handshake failure/);
      expect(e.retriable).toBe(false);
    }
  });

  it('without a client certificate (TLS 1.3): connect() rejects; the refusal arrives after the handshake', async () => {
    // In TLS 1.3 the client considers the handshake done before the server has checked its (missing)
    // certificate; the server's "certificate required" alert races the client's first write, so an
    // attempt ends either with that alert or with ECONNRESET. Never with a usable connection.
    const { producer, errors } = tlsProducer({ host: '127.0.0.1', port: mutual.tlsPort, tls: { ca: pki.ca } });
    const { error, ms } = await connectError(producer);
    expect(error).toBeInstanceOf(DeliveryError);
    expect(ms).toBeLessThan(2_500);
    expect(errors.length, described(error, errors)).toBeGreaterThan(0);
    for (const e of errors) {
      expect(['ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', 'ECONNRESET'], described(error, errors)).toContain((e.cause as { code?: string }).code);
    }
  });
});

/**
 * A TCP relay in front of the TLS port that counts connections: each is one connection attempt
 * by ioredis (TLS passes through untouched; the certificate names 127.0.0.1, the relay's address).
 */
async function countingRelay(targetPort: number): Promise<{ port: number; attempts: () => number; close: () => Promise<void> }> {
  let attempts = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    attempts++;
    const upstream = createConnection(targetPort, '127.0.0.1');
    for (const s of [socket, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => sockets.delete(s));
    }
    socket.pipe(upstream).pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    port,
    attempts: () => attempts,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('a refused certificate does not cause a retry storm', () => {
  it("connection attempts in 1 s stay bounded by ioredis' backoff, however many sends are waiting", async () => {
    const relay = await countingRelay(optional.tlsPort);
    try {
      const { producer, errors } = tlsProducer({ host: '127.0.0.1', port: relay.port }, { deliveryTimeoutMs: 5_000, compensation: { enabled: false } });
      const started = performance.now();
      const connecting = connectError(producer);
      // 50 callers waiting for the same broken connection must not multiply the attempts.
      const sends = Array.from({ length: 50 }, (_, i) => producer.send({ topic: 't', value: `s${i}` }).catch((err: unknown) => err));
      await new Promise((r) => setTimeout(r, 1_000 - (performance.now() - started)));
      const attempts = relay.attempts();
      const { error } = await connecting;
      expect(error).toBeInstanceOf(DeliveryError);
      // ioredis 6's default retryStrategy waits min(50·2^(n-1), 5000) ms + 0–200 ms jitter before
      // retry n: at least 50, 150, 350, 750, 1550 ms in total, so at most 1 + 4 = 5 attempts fit in
      // the first second (a verification failure on loopback takes ~2 ms, so an unbounded loop would
      // make hundreds). The bound below leaves room for slow machines, not for a loop.
      expect(attempts).toBeGreaterThanOrEqual(1);
      expect(attempts).toBeLessThanOrEqual(6);
      // One error event per attempt, not per waiting send.
      expect(errors.length).toBeLessThanOrEqual(attempts + 1);
      await producer.close({ timeoutMs: 100 });
      const outcomes = await Promise.all(sends);
      expect(outcomes.every((o) => o instanceof DeliveryError || (o as { status?: string }).status === 'spilled')).toBe(true);
    } finally {
      await relay.close();
    }
  });
});

function runFixture(env: Record<string, string>): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      const line = stdout.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(line) as Record<string, unknown>);
      } catch {
        reject(new Error(`tls-url-send fixture exited ${String(code)} without a result; stdout: ${stdout} stderr: ${stderr}`));
      }
    });
  });
}
