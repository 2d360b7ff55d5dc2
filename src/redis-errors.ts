import { DeliveryError, ProducerError, RequestTimeoutError, type Persisted } from './errors.js';

/**
 * The one place that reads Redis error replies and connection failures.
 * Retriable here means "the command surely did not run, or running it again is harmless".
 */
export interface RedisErrorClass {
  /** `ERR_REDIS_<PREFIX>` for a reply, `ERR_CONNECTION` for a transport failure. */
  code: string;
  retriable: boolean;
  /** Whether the failed command may have run anyway. */
  persisted: Persisted;
}

/**
 * The error replies of the project's own scripts (`lua/*.lua`; each script's header lists those it
 * returns). Every one is returned before the script's first write.
 */
export const SCRIPT_ERRORS = {
  /** The arguments do not have the shape the script's header describes. */
  ERR_RSP_ARGS: 'arguments of the wrong shape',
  /** This batch's sequence was fenced (found not landed after a lost reply): it must never be written. */
  ERR_RSP_FENCED: 'batch fenced',
  /** A later sequence of this producer session was already written on the shard. */
  ERR_RSP_STALE: 'batch older than the last written',
} as const;

/** A code of `SCRIPT_ERRORS`. */
export type ScriptErrorCode = keyof typeof SCRIPT_ERRORS;

// Reply prefixes (the first word of a Redis error) that say the command was not executed
// and may succeed later. A script meets a write refusal (OOM, MISCONF, NOREPLICAS) at its first
// write, and the condition cannot change while it runs: so none of its writes happened.
const RETRIABLE_REPLIES = new Set(['MOVED', 'ASK', 'TRYAGAIN', 'CLUSTERDOWN', 'LOADING', 'BUSY', 'READONLY', 'OOM', 'MISCONF', 'NOREPLICAS', 'MASTERDOWN', 'NOSCRIPT']);
const FATAL_REPLIES = new Set(['NOAUTH', 'WRONGPASS', 'NOPERM', 'WRONGTYPE', 'ERR']);

// Transport failures reported by Node or ioredis.
// Those that prove the command never left this process: nothing listens at the address, no such
// host, no route.
export const UNREACHABLE_CODES: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
const NOT_SENT_MESSAGES = [
  'Failed to refresh slots cache', // a Cluster none of whose nodes answered
  "Stream isn't writeable",
  'None of startup nodes is available',
  'Cluster is disconnected',
  "Cluster isn't ready", // a Cluster with the offline queue off, between slot-map refreshes
  'Too many Cluster redirections', // every attempt was answered MOVED/ASK/TRYAGAIN: never ran
  'Node is disconnected',
];
// Those after which the command may have reached Redis and run:
const IN_FLIGHT_CODES = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED']);
const IN_FLIGHT_MESSAGES = [
  'Connection is closed',
  'Command timed out',
  'Command aborted due to connection close', // ioredis aborting the rest of a pipeline
];

/**
 * Classifies what a Redis call threw. A Redis error reply means the script stopped before writing
 * (our scripts check their input first, and Redis refuses OOM/READONLY/… before the first write).
 */
export function classifyRedisError(err: unknown): RedisErrorClass {
  if (err instanceof RequestTimeoutError) return { code: err.code, retriable: true, persisted: 'possibly' };
  if (err instanceof DeliveryError) return { code: err.code, retriable: err.retriable, persisted: err.persisted };
  if (err instanceof ProducerError) return { code: err.code, retriable: err.retriable, persisted: 'not' };
  const e = err as { message?: unknown; code?: unknown; name?: unknown } | null;
  const message = typeof e?.message === 'string' ? e.message : String(err);
  if (e?.name === 'ReplyError') {
    const prefix = message.split(' ', 1)[0] ?? '';
    // Our scripts' own refusals come before any write.
    if (Object.hasOwn(SCRIPT_ERRORS, prefix)) return { code: prefix, retriable: false, persisted: 'not' };
    if (RETRIABLE_REPLIES.has(prefix)) return { code: `ERR_REDIS_${prefix}`, retriable: true, persisted: 'not' };
    if (FATAL_REPLIES.has(prefix)) return { code: `ERR_REDIS_${prefix}`, retriable: false, persisted: 'not' };
    return { code: 'ERR_REDIS_REPLY', retriable: false, persisted: 'not' };
  }
  // ioredis (maxRetriesPerRequest: 0) fails the commands in flight this way when a connection drops.
  if (e?.name === 'MaxRetriesPerRequestError') return { code: 'ERR_CONNECTION', retriable: true, persisted: 'possibly' };
  const code = typeof e?.code === 'string' ? e.code : '';
  // In-flight first: "Too many Cluster redirections. Last error: Error: Connection is closed." may have run.
  if (IN_FLIGHT_CODES.has(code) || IN_FLIGHT_MESSAGES.some((m) => message.includes(m))) {
    return { code: 'ERR_CONNECTION', retriable: true, persisted: 'possibly' };
  }
  if (UNREACHABLE_CODES.has(code) || NOT_SENT_MESSAGES.some((m) => message.includes(m))) {
    // ioredis Cluster gave up following MOVED/ASK/TRYAGAIN: name the last redirection.
    const redirection = /Too many Cluster redirections\. Last error: ReplyError: ([A-Z]+)/.exec(message)?.[1];
    return { code: redirection ? `ERR_REDIS_${redirection}` : 'ERR_CONNECTION', retriable: true, persisted: 'not' };
  }
  // TLS: the server's certificate was refused (unknown CA, wrong host name, expired…) or the server
  // refused ours. Nothing was sent, and no retry helps until the configuration changes.
  if (code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_') || TLS_CERT_CODES.has(code)) return { code: 'ERR_TLS', retriable: false, persisted: 'not' };
  return { code: 'ERR_UNKNOWN', retriable: false, persisted: 'possibly' };
}

// Node's certificate verification codes (tls.TLSSocket#authorizationError).
const TLS_CERT_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'INVALID_CA',
  'HOSTNAME_MISMATCH',
]);
