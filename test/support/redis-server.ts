/**
 * Finds or starts a real Redis for tests, examples and benchmarks:
 * `REDIS_URL` → a `redis-server` binary on PATH, started on a free loopback port in a temp dir →
 * Testcontainers when a Docker engine answers → an error that says how to get Redis.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RedisHandle {
  url: string;
  host: string;
  port: number;
  /** Where the server came from: `env`, `binary` or `container`. */
  source: 'env' | 'binary' | 'container';
  /** Stops what this module started; a no-op for `REDIS_URL`. */
  stop(): Promise<void>;
}

/**
 * The server binaries the tests start: Redis by default; `RSP_SERVER=valkey` runs everything against
 * Valkey (`valkey-server`, `valkey-cli`) instead.
 */
export const SERVER_BIN = process.env.RSP_SERVER === 'valkey' ? 'valkey-server' : 'redis-server';
export const CLI_BIN = process.env.RSP_SERVER === 'valkey' ? 'valkey-cli' : 'redis-cli';

export const HOW_TO_GET_REDIS =
  process.env.RSP_SERVER === 'valkey'
    ? 'No valkey-server for the Valkey suites. Install it (Debian 12: `sudo apt-get install -y -t bookworm-backports valkey-server valkey-tools` ' +
      'with the bookworm-backports suite enabled; .ci/run shows how), or run `RSP_SERVERS=redis npm test` to test against Redis only.'
    : 'No Redis for the tests. Either set REDIS_URL=redis://host:port (a server the tests may write to), ' +
      'or install redis-server (Debian/Ubuntu: `sudo apt-get install -y redis-server redis-tools`; macOS: ' +
      '`brew install redis`), or start a Docker engine so Testcontainers can run `redis:7`.';

/** A free TCP port on 127.0.0.1 (asks the OS for one, then releases it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function hasBinary(name: string): boolean {
  return spawnSync(name, ['--version'], { stdio: 'ignore' }).status === 0;
}

/** Polls until a TCP PING gets PONG, or throws after `timeoutMs`. */
export async function waitForPong(host: string, port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = new Socket();
      const done = (v: boolean) => {
        socket.destroy();
        resolve(v);
      };
      socket.setTimeout(500, () => done(false));
      socket.once('error', () => done(false));
      socket.once('data', (d) => done(d.toString().startsWith('+PONG')));
      socket.connect(port, host, () => socket.write('PING\r\n'));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`redis-server on ${host}:${port} did not answer PING within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface ServerProcess {
  port: number;
  dir: string;
  process: ChildProcess;
  /** Stops the server (SIGTERM, then SIGKILL after 5 s) and removes its directory. */
  stop(): Promise<void>;
}

/**
 * Starts `redis-server` on `port` (default: a free loopback port) with its own temp dir;
 * `extraArgs` are config flags such as `['--appendonly', 'yes']`.
 */
export async function startRedisServer(extraArgs: string[] = [], port?: number): Promise<ServerProcess> {
  port ??= await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'rsp-redis-'));
  const child = spawn(
    SERVER_BIN,
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--protected-mode', 'no', ...extraArgs],
    // Its own process group: a Ctrl-C meant for the demo must not stop Redis before the demo's
    // producer has flushed. The exit hook below still stops it when this process ends.
    { stdio: ['ignore', 'ignore', 'pipe'], detached: true },
  );
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.once('exit', () => process.off('exit', killOnExit));
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await Promise.race([
      waitForPong('127.0.0.1', port),
      exited.then(() => {
        throw new Error(`redis-server exited at start: ${stderr.trim()}`);
      }),
    ]);
  } catch (err) {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    port,
    dir,
    process: child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function dockerAnswers(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

/** A standalone Redis by the order above. Throws with `HOW_TO_GET_REDIS` when there is none. */
export async function findOrStartRedis(): Promise<RedisHandle> {
  const fromEnv = process.env.REDIS_URL;
  if (fromEnv) {
    const u = new URL(fromEnv);
    return { url: fromEnv, host: u.hostname, port: Number(u.port || 6379), source: 'env', stop: async () => {} };
  }
  if (hasBinary(SERVER_BIN)) {
    const server = await startRedisServer();
    return { url: `redis://127.0.0.1:${server.port}`, host: '127.0.0.1', port: server.port, source: 'binary', stop: () => server.stop() };
  }
  if (await dockerAnswers()) {
    const { GenericContainer, Wait } = await import('testcontainers');
    const container = await new GenericContainer(process.env.RSP_SERVER === 'valkey' ? 'valkey/valkey:8.0' : 'redis:7')
      .withExposedPorts(6379)
      .withWaitStrategy(Wait.forLogMessage('Ready to accept connections'))
      .start();
    const host = container.getHost();
    const port = container.getMappedPort(6379);
    return { url: `redis://${host}:${port}`, host, port, source: 'container', stop: async () => void (await container.stop()) };
  }
  throw new Error(HOW_TO_GET_REDIS);
}
