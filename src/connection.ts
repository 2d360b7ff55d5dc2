import { createHash } from 'node:crypto';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { ResolvedConfig } from './config.js';
import { isCluster, isIoredisClient } from './client-kind.js';
import { withGuardedConnector } from './guarded-connector.js';
import { RequestTimeoutError } from './errors.js';
import { classifyRedisError, UNREACHABLE_CODES } from './redis-errors.js';

/**
 * The producer owns retries, so ioredis must never replay a command behind its back: a replayed
 * batch would be written twice.
 */
const SAFE_OPTIONS = {
  lazyConnect: true,
  enableOfflineQueue: false,
  autoResendUnfulfilledCommands: false,
  maxRetriesPerRequest: 0,
} as const satisfies RedisOptions;

export interface RedisConnection {
  client: Redis | Cluster;
  /** True when the producer created the client and must close it. */
  owned: boolean;
}

export function openConnection(redis: ResolvedConfig['redis']): RedisConnection {
  if (isIoredisClient(redis)) return { client: redis, owned: false };
  // The guarded connector keeps a refused TLS handshake from crashing the process (guarded-connector.ts).
  if (typeof redis === 'string') return { client: new Redis(redis, withGuardedConnector(SAFE_OPTIONS)), owned: true };
  if ('cluster' in redis) {
    const options: ClusterOptions = redis.options ?? {};
    const client = new Cluster(redis.cluster as ConstructorParameters<typeof Cluster>[0], {
      ...options,
      lazyConnect: true,
      enableOfflineQueue: false,
      // Otherwise ioredis re-sends a command whose connection closed while it was in flight (after
      // 100 ms): a replay behind the producer's back. The producer retries such batches itself.
      retryDelayOnFailover: 0,
      redisOptions: withGuardedConnector({ ...options.redisOptions, autoResendUnfulfilledCommands: false, maxRetriesPerRequest: 0 }),
    });
    return { client, owned: true };
  }
  return { client: new Redis(withGuardedConnector({ ...redis, ...SAFE_OPTIONS })), owned: true };
}

/**
 * The error behind `err` when it says Redis cannot be reached at the address: a socket error of
 * `UNREACHABLE_CODES`, or a Cluster's "no seed node answered" (ioredis keeps the nodes' socket
 * errors to itself there).
 */
function unreachableCause(err: Error): Error | undefined {
  if (err.name === 'ClusterAllFailedError') return err;
  return UNREACHABLE_CODES.has(String((err as NodeJS.ErrnoException).code)) ? err : undefined;
}

/** Connection failures that trying again cannot fix: wrong or missing credentials, a refused certificate. */
const FATAL_CONNECT_CODES = new Set(['ERR_REDIS_WRONGPASS', 'ERR_REDIS_NOAUTH', 'ERR_REDIS_NOPERM', 'ERR_TLS']);

/**
 * Resolves when the client can take commands, starting a lazy connection if needed; rejects after
 * `timeoutMs`. With the offline queue off, a command sent before that would fail at once.
 */
export async function whenReady(client: Redis | Cluster, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  await clientReady(client, timeoutMs);
  // A Cluster is "ready" once it has the slot map; its connections to the masters may still be
  // opening, and with the offline queue off a command routed to one of those fails at once.
  if (isCluster(client)) {
    const opening = client.nodes('master').filter((node) => node.status !== 'ready');
    await Promise.all(opening.map((node) => clientReady(node, Math.max(1, deadline - Date.now()))));
  }
}

function clientReady(client: Redis | Cluster, timeoutMs: number): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return withDeadline(nextReady(client), timeoutMs, 'Connecting to Redis');
}

/** The one pending wait per client that is not ready: many callers share its two listeners. */
const readyWaits = new WeakMap<Redis | Cluster, Promise<void>>();

/**
 * Resolves at the client's next `ready`; rejects at once on a refusal no reconnect can fix, or when
 * the address cannot be reached, with the cause (ioredis keeps reconnecting in the background, and
 * the next wait starts afresh). Other errors (a reset, a handshake in progress) are left to the
 * callers' deadlines.
 */
function nextReady(client: Redis | Cluster): Promise<void> {
  let wait = readyWaits.get(client);
  if (wait !== undefined) return wait;
  wait = new Promise<void>((resolve, reject) => {
    const stop = () => {
      readyWaits.delete(client);
      client.off('ready', onReady);
      client.off('error', onError);
    };
    const onReady = () => {
      stop();
      resolve();
    };
    const onError = (err: Error) => {
      const unreachable = unreachableCause(err);
      if (unreachable === undefined && !FATAL_CONNECT_CODES.has(classifyRedisError(err).code)) return;
      stop();
      reject(unreachable ?? err);
    };
    client.once('ready', onReady);
    client.on('error', onError);
  });
  wait.catch(() => undefined); // a wait whose callers all timed out must not be an unhandled rejection
  readyWaits.set(client, wait);
  if (client.status === 'wait') {
    // A failed first attempt is reported through the client's `error` event and retried by ioredis.
    client.connect().catch(() => undefined);
  }
  return wait;
}

/** Runs `call` with a deadline: ioredis can leave a promise unsettled forever after a reconnect. */
export function withDeadline<T>(call: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  // One promise and one timer per call (no race/finally chain): this wraps every batch.
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new RequestTimeoutError(what, timeoutMs)), timeoutMs);
    call.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

/**
 * A short, stable name of the Redis deployment `redis` points at (host, port and database, or a
 * cluster's seed nodes; never credentials). The journal keeps records per target, so a record
 * journaled for one Redis is never drained into another.
 */
export function targetId(redis: ResolvedConfig['redis']): string {
  return createHash('sha256').update(describeTarget(redis)).digest('hex').slice(0, 12);
}

function describeTarget(redis: ResolvedConfig['redis']): string {
  const node = (o: { host?: unknown; port?: unknown; path?: unknown; db?: unknown }) =>
    o.path ? `unix:${String(o.path)}/${Number(o.db ?? 0)}` : `${String(o.host ?? '127.0.0.1')}:${Number(o.port ?? 6379)}/${Number(o.db ?? 0)}`;
  const seeds = (nodes: unknown[]) =>
    `cluster ${nodes
      .map((n) => (typeof n === 'string' ? n : typeof n === 'number' ? `127.0.0.1:${n}` : node(n as object)))
      .sort()
      .join(',')}`;
  if (isIoredisClient(redis) && isCluster(redis)) return seeds((redis as unknown as { startupNodes: unknown[] }).startupNodes ?? []);
  if (isIoredisClient(redis)) return node(redis.options);
  if (typeof redis === 'string') {
    const url = new URL(redis);
    return node({ host: url.hostname, port: url.port || 6379, db: url.pathname.slice(1) || 0 });
  }
  if ('cluster' in redis) return seeds(redis.cluster as unknown[]);
  return node(redis);
}
