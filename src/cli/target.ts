import type { ProducerConfig } from '../config.js';
import { redactCredentials } from '../credentials.js';
import { UsageError } from './errors.js';

/** Where the CLI connects: the library's `redis` option, and a description safe to print. */
export interface RedisTarget {
  redis: NonNullable<ProducerConfig['redis']>;
  /** The URL or node list with any password masked. */
  display: string;
  cluster: boolean;
}

// A type, not an interface: the config's node type needs an implicit index signature.
type ClusterNode = { host: string; port: number };

/**
 * Picks the connection from `--redis` / `--cluster`, else `REDIS_URL` / `REDIS_CLUSTER_NODES`, else
 * `defaultUrl`. Two sources at the same level are ambiguous and refused rather than guessed between.
 */
export function resolveTarget(flags: { redis?: string; cluster?: string }, env: NodeJS.ProcessEnv, defaultUrl: string): RedisTarget {
  if (flags.redis !== undefined && flags.cluster !== undefined) {
    throw new UsageError('`--redis` and `--cluster` exclude each other: pass a URL for one server or a node list for a cluster');
  }
  if (flags.redis !== undefined) return urlTarget(flags.redis, '`--redis`');
  if (flags.cluster !== undefined) return clusterTarget(flags.cluster, '`--cluster`');
  const envUrl = env.REDIS_URL || undefined;
  const envNodes = env.REDIS_CLUSTER_NODES || undefined;
  if (envUrl !== undefined && envNodes !== undefined) {
    throw new UsageError('REDIS_URL and REDIS_CLUSTER_NODES are both set: unset one, or pass `--redis` or `--cluster`');
  }
  if (envUrl !== undefined) return urlTarget(envUrl, 'REDIS_URL');
  if (envNodes !== undefined) return clusterTarget(envNodes, 'REDIS_CLUSTER_NODES');
  return urlTarget(defaultUrl, 'the default URL');
}

function urlTarget(url: string, source: string): RedisTarget {
  if (!/^rediss?:\/\/[^/]/.test(url) || !URL.canParse(url)) {
    throw new UsageError(`${source} expects a redis:// or rediss:// URL such as redis://127.0.0.1:6379, got ${JSON.stringify(redactCredentials(url))}`);
  }
  return { redis: url, display: redactCredentials(url), cluster: false };
}

/**
 * `host:port,host:port,…`; an entry may also be a `redis://` or `rediss://` URL, whose credentials
 * and TLS apply to every node (the cluster discovers the others itself).
 */
function clusterTarget(list: string, source: string): RedisTarget {
  const entries = list
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (entries.length === 0) throw new UsageError(`${source} expects host:port[,host:port…], got ${JSON.stringify(list)}`);
  const nodes: ClusterNode[] = [];
  const redisOptions: { username?: string; password?: string; tls?: object } = {};
  for (const entry of entries) {
    if (/^rediss?:\/\//.test(entry)) {
      let url: URL;
      try {
        url = new URL(entry);
      } catch {
        throw new UsageError(`${source} has an entry that is not a valid URL: ${JSON.stringify(redactCredentials(entry))}`);
      }
      nodes.push({ host: url.hostname.replace(/^\[|\]$/g, ''), port: url.port === '' ? 6379 : Number(url.port) });
      if (url.username) redisOptions.username = decodeURIComponent(url.username);
      if (url.password) redisOptions.password = decodeURIComponent(url.password);
      if (url.protocol === 'rediss:') redisOptions.tls = {};
      continue;
    }
    const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(entry);
    const port = match ? Number(match[3]) : 0;
    if (!match || port < 1 || port > 65535) {
      throw new UsageError(`${source} expects host:port[,host:port…] (port 1–65535), got ${JSON.stringify(redactCredentials(entry))}`);
    }
    nodes.push({ host: (match[1] ?? match[2])!, port });
  }
  const options = Object.keys(redisOptions).length > 0 ? { redisOptions } : undefined;
  return {
    redis: options ? { cluster: nodes, options } : { cluster: nodes },
    display: `cluster ${nodes.map((n) => `${n.host.includes(':') ? `[${n.host}]` : n.host}:${n.port}`).join(',')}`,
    cluster: true,
  };
}
