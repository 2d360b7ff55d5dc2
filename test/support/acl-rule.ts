/**
 * The least-privilege ACL rule for a producer (docs/security.md), as the ACL tests create it. Keep
 * it in step with docs/security.md: a test checks the line there.
 */

/**
 * What a producer runs, by command, in the order of docs/security.md. Lua scripts run under the caller's ACL,
 * so the commands inside them count (and their keys are checked).
 */
export const PRODUCER_COMMANDS: readonly string[] = [
  // Every batch, topic check, park, claim, settle, requeue and delete is one script call:
  // ioredis sends EVAL the first time on a connection, EVALSHA after.
  'eval',
  'evalsha',
  // Inside the scripts (lua/*.lua).
  'xadd',
  'xrange',
  'xtrim',
  'get',
  'set',
  'pexpire',
  'sadd',
  'sismember',
  'hsetnx',
  'hget',
  'hset',
  'hdel',
  'zadd',
  'zrem',
  'zscore',
  'zrange',
  'zremrangebyscore',
  'time',
  // Sent directly: compensation topics, stats, list, a topic's shard count (sadd, zrange, hget above too).
  'smembers',
  'hmget',
  'zcard',
  'hlen',
  // ioredis' ready check on connect (INFO), and `acks: 'all'` (WAIT).
  'info',
  'wait',
];

/** What a producer on Redis Cluster needs on top: ioredis' slot map and cluster-state check, and the name of its slot-refresh connection. */
export const CLUSTER_COMMANDS: readonly string[] = ['cluster|slots', 'cluster|info', 'client|setname', 'readonly', 'readwrite'];

/** `~{ns:*`, with the glob characters a namespace may contain (`*?[]\`) escaped. */
export function aclKeyPattern(namespace: string): string {
  return `~{${namespace.replace(/[*?[\]\\]/g, '\\$&')}:*`;
}

/** The documented rule for `namespace`, as `ACL SETUSER <user>` arguments. */
export function aclRule(namespace: string, password: string, extraCommands: readonly string[] = []): string[] {
  return ['reset', 'on', `>${password}`, aclKeyPattern(namespace), ...[...PRODUCER_COMMANDS, ...extraCommands].map((c) => `+${c}`)];
}

/**
 * What docs/security.md adds for the server's version: from Redis 7.2 (and on every Valkey, which
 * reports 7.2.4 or later) ioredis sends `CLIENT SETINFO` on connect.
 */
export async function versionAdditions(server: { info(section: string): Promise<string> }): Promise<string[]> {
  const version = /^redis_version:(\d+)\.(\d+)/m.exec(await server.info('server'));
  const [major, minor] = [Number(version?.[1] ?? 0), Number(version?.[2] ?? 0)];
  return major > 7 || (major === 7 && minor >= 2) ? ['client|setinfo'] : [];
}
