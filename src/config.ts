import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { ConfigError } from './errors.js';
import { nameProblem, RESERVED_TOPICS } from './keys.js';
import type { PartitionerFn } from './partitioner.js';

/**
 * Every producer option: type, bounds, default and meaning in one place. `.default()` is the only
 * source of each default; the README table is written from this file.
 */

const name = (what: string) =>
  z.string().superRefine((value, ctx) => {
    const problem = nameProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: `${what} ${problem}, got ${JSON.stringify(value)}` });
  });

const topicName = name('topic name').refine((t) => !RESERVED_TOPICS.has(t), {
  message: 'topic name "compensation" is reserved',
});

const int = (min: number, max: number) => z.number().int().min(min).max(max);

/** Stream trimming applied after each batch, in the same script call. */
const trimSchema = z.strictObject({
  /** `maxlen`: keep about `threshold` newest entries. `minid`: drop entries with ids below `threshold`. */
  strategy: z.enum(['maxlen', 'minid']),
  /** MAXLEN count (integer ≥ 0) or MINID stream id (`<ms>` or `<ms>-<seq>`). */
  threshold: z.union([z.number().int().min(0), z.string().regex(/^\d+(-\d+)?$/, 'expected a stream id like 1712345678901-0')]),
  /** `false` (default) uses `~`: Redis trims whole macro nodes only, which is far cheaper. */
  exact: z.boolean().default(false),
});
export type TrimOptions = z.input<typeof trimSchema>;

const topicSchema = z.strictObject({
  /** Shards (streams) of this topic; must agree with what Redis records for the topic. */
  shards: int(1, 16384).optional(),
  /** Trimming for this topic; overrides the producer-wide `trim`. `null` turns trimming off. */
  trim: trimSchema.nullable().optional(),
});

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype;

const clusterNode = z.union([
  z.string().min(1),
  z.number().int(),
  z.looseObject({ host: z.string().optional(), port: z.number().int().min(1).max(65535).optional() }),
]);

/**
 * Where to connect. A URL (`redis://` or `rediss://`), ioredis options, `{ cluster: [...nodes],
 * options? }`, or an ioredis `Redis`/`Cluster` the caller owns (left open by `close()`).
 */
const redisSchema = z.union([
  z.string().regex(/^rediss?:\/\//, 'expected a redis:// or rediss:// URL'),
  z.custom<Redis | Cluster>((v) => v instanceof Redis || v instanceof Cluster),
  z.strictObject({ cluster: z.array(clusterNode).min(1), options: z.custom<ClusterOptions>(isPlainObject).optional() }),
  z.custom<RedisOptions>((v) => isPlainObject(v) && !('cluster' in v), 'expected ioredis options'),
], { error: 'expected a redis:// or rediss:// URL, ioredis options, { cluster: [...nodes] } or an ioredis Redis/Cluster instance' });

/** Where undeliverable records go, and how they come back (DESIGN.md §4). */
const compensationSchema = z.strictObject({
  /** `false`: a record that cannot be delivered fails with `DeliveryError` instead of being parked. */
  enabled: z.boolean().default(true),
  /**
   * Local journal for records that can be neither delivered nor parked in Redis (Redis down). Put it
   * on a persistent volume in production; each namespace gets its own subdirectory.
   */
  journalDir: z.string().min(1).default(join(tmpdir(), 'redis-stream-producer-journal')),
  /** `always`: fdatasync every journal append (survives a machine crash); `never`: leave it to the OS. */
  journalFsync: z.enum(['always', 'never']).default('always'),
  /** Delivery attempts of a parked record (the original ones included) before it becomes a dead letter. */
  maxAttempts: int(1, 1000).default(10),
  replay: z
    .strictObject({
      /** Replay parked records in the background. Off: use `producer.compensation.replayNow()`. */
      enabled: z.boolean().default(true),
      /** How often the replayer looks for due records and drains the journal. */
      intervalMs: int(10, 3_600_000).default(1_000),
      /** Most records one replay round claims per topic. */
      batchSize: int(1, 10_000).default(500),
      /** How long a claimed record is reserved for this producer; must exceed `deliveryTimeoutMs`. */
      leaseMs: int(1_000, 86_400_000).default(180_000),
      /** First delay before a failed replay is tried again; doubles per attempt. */
      backoffMs: int(10, 3_600_000).default(1_000),
      /** Largest delay between replay attempts. */
      backoffMaxMs: int(10, 86_400_000).default(60_000),
    })
    .prefault({}),
});

export const producerConfigSchema = z.strictObject({
  redis: redisSchema.default('redis://127.0.0.1:6379'),
  /** First part of every key. No `{`, `}`, `:` or whitespace. */
  namespace: name('namespace').default('rsp'),
  /** Shards of a topic not listed in `topics`. */
  defaultShards: int(1, 16384).default(16),
  /** Per-topic overrides, by topic name. */
  topics: z.record(topicName, topicSchema).default({}),
  /** Trimming for every topic that does not set its own. Off by default. */
  trim: trimSchema.optional(),
  /**
   * How long a batch may wait for more records before it is sent, when its shard is busy or
   * `adaptiveLinger` is off. Kafka's `linger.ms`.
   */
  lingerMs: int(0, 60_000).default(5),
  /**
   * `true`: a shard with nothing in flight sends at the end of the current tick instead of waiting
   * `lingerMs`, so a lone awaited send costs about one round trip, while a busy shard still batches
   * behind its in-flight call. `false`: Kafka's plain linger.
   */
  adaptiveLinger: z.boolean().default(true),
  /** Most records in one script call. Bounds how long one call blocks Redis (≈2 µs a record). */
  batchMaxRecords: int(1, 100_000).default(1000),
  /** Most record bytes in one script call. */
  batchMaxBytes: int(1024, 512 * 1024 * 1024).default(1024 * 1024),
  /** Script calls in flight at once, across all shards (at most one per shard). */
  maxInFlight: int(1, 1024).default(8),
  /** Bytes of records accepted but not yet settled (buffered or in flight). Kafka's `buffer.memory`. */
  bufferMaxBytes: int(1024, 2 ** 40).default(32 * 1024 * 1024),
  /** How long `send()` waits for buffer room before it rejects with `BufferFullError`. */
  maxBlockMs: int(0, 3_600_000).default(60_000),
  /** Upper bound from accepting a record to its outcome, retries included. */
  deliveryTimeoutMs: int(1, 3_600_000).default(120_000),
  /** Deadline of each Redis call; a call without an answer by then counts as failed. */
  requestTimeoutMs: int(1, 600_000).default(5_000),
  /** First retry delay after a retriable failure; doubles per attempt, with jitter. */
  retryBackoffMs: int(0, 60_000).default(100),
  /** Largest retry delay. */
  retryBackoffMaxMs: int(0, 600_000).default(1_000),
  /** Key → shard: `crc32` (the seed's), `murmur2` (Kafka's Java client) or `(key, shards) => shard`. */
  partitioner: z.union([z.enum(['crc32', 'murmur2']), z.custom<PartitionerFn>((v) => typeof v === 'function', 'expected a function (key: Buffer, shards: number) => number')]).default('crc32'),
  /**
   * Each batch carries this producer's id and the shard's next sequence number; the batch script
   * writes a (producer, sequence) at most once, so retrying after a lost reply cannot duplicate.
   */
  idempotent: z.boolean().default(true),
  /** This producer's id in the idempotence state. Default: random per instance. Same rules as `namespace`. */
  producerId: name('producerId').optional(),
  /** How long a shard keeps a producer's idempotence state after its last batch. */
  idempotenceStateTtlMs: int(60_000, 30 * 24 * 3_600_000).default(7 * 24 * 3_600_000),
  /**
   * `leader`: a batch is acknowledged when the master ran its script. `all`: also when `WAIT`
   * saw it on `ackReplicas` replicas, so a failover cannot lose an acknowledged record (Kafka's `acks`).
   */
  acks: z.enum(['leader', 'all']).default('leader'),
  /** With `acks: 'all'`: replicas that must have the batch. */
  ackReplicas: int(1, 100).default(1),
  /** Parking undeliverable records in Redis (or a local journal) and replaying them. */
  compensation: compensationSchema.prefault({}),
  /** Largest record (value + key + header names and values, in bytes). */
  maxRecordBytes: int(1, 512 * 1024 * 1024).default(1024 * 1024),
  /** Most headers on one record. */
  maxHeaders: int(0, 10_000).default(64),
});

export type ProducerConfig = z.input<typeof producerConfigSchema>;
export type ResolvedConfig = z.output<typeof producerConfigSchema>;

/**
 * Hides credentials in text that may hold a Redis URL: `redis://user:password@host` →
 * `redis://user:***@host` (also without a scheme: `user:password@host`), and a lone userinfo after a
 * scheme (`redis://secret@host`, which some clients read as a password) → `redis://***@host`.
 * Error messages pass through it, so a mistyped URL never prints its password.
 */
export function redactCredentials(text: string): string {
  return text
    .replace(/((?:\b[a-z][a-z0-9+.-]*:\/\/)?[^\s:/@"'`]*):(?!\/\/)[^\s"'`]+@/gi, '$1:***@')
    .replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^\s:/"'`]+@/gi, '$1***@');
}

/** Option names whose values are never printed (ioredis `password`, `sentinelPassword`, a TLS `passphrase`…). */
const SECRET_FIELD = /pass(word|phrase)?$|secret|token|credential/i;

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'string') {
    const shown = redactCredentials(value); // before shortening, or a cut could keep half a password
    return `${JSON.stringify(shown.length > 40 ? `${shown.slice(0, 40)}…` : shown)} (string)`;
  }
  if (typeof value === 'number' || typeof value === 'boolean') return `${String(value)} (${typeof value})`;
  return typeof value;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = input;
  for (const p of path) v = typeof v === 'object' && v !== null ? (v as Record<PropertyKey, unknown>)[p] : undefined;
  return v;
}

/**
 * Turns zod issues into "`path`: message, got value" lines. Credentials never appear: a value under
 * a secret-looking name (`password`, …) is not shown, and URLs in every line are redacted.
 */
export function formatIssues(issues: readonly z.core.$ZodIssue[], input: unknown, noun = 'option'): string[] {
  return issues.map((issue) => redactCredentials(formatIssue(issue, input, noun)));
}

function formatIssue(issue: z.core.$ZodIssue, input: unknown, noun: string): string {
  const path = issue.path.map(String).join('.');
  if (issue.code === 'invalid_key') {
    // A bad record key (a topic name): report the key's own problem, not "Invalid key".
    return issue.issues.map((inner) => `\`${path}\`: ${inner.message}`).join('; ');
  }
  if (issue.code === 'unrecognized_keys') {
    const where = path ? ` in \`${path}\`` : '';
    return `unknown ${noun}${issue.keys.length > 1 ? 's' : ''}${where}: ${issue.keys.map((k) => `\`${k}\``).join(', ')}`;
  }
  const got = valueAt(input, issue.path);
  const secret = issue.path.some((p) => typeof p === 'string' && SECRET_FIELD.test(p));
  // zod's own messages often say what they received already; add "got" only when they do not.
  const saysGot = /\b(got|received)\b/.test(issue.message);
  const shown = secret ? `a ${got === null ? 'null' : typeof got} (not shown)` : describe(got);
  return `\`${path || '(root)'}\`: ${issue.message}${saysGot ? '' : `, got ${shown}`}`;
}

/** Validates the whole config at once; throws a `ConfigError` listing every problem. */
export function resolveConfig(input: ProducerConfig = {}): ResolvedConfig {
  const result = producerConfigSchema.safeParse(input);
  if (!result.success) throw new ConfigError(formatIssues(result.error.issues, input));
  const config = result.data;
  const problems: string[] = [];
  if (config.retryBackoffMaxMs < config.retryBackoffMs) {
    problems.push(`\`retryBackoffMaxMs\` (${config.retryBackoffMaxMs}) must be ≥ \`retryBackoffMs\` (${config.retryBackoffMs})`);
  }
  if (config.requestTimeoutMs > config.deliveryTimeoutMs) {
    problems.push(`\`requestTimeoutMs\` (${config.requestTimeoutMs}) must be ≤ \`deliveryTimeoutMs\` (${config.deliveryTimeoutMs})`);
  }
  if (config.batchMaxBytes > config.bufferMaxBytes) {
    problems.push(`\`batchMaxBytes\` (${config.batchMaxBytes}) must be ≤ \`bufferMaxBytes\` (${config.bufferMaxBytes})`);
  }
  if (config.maxRecordBytes > config.bufferMaxBytes) {
    problems.push(`\`maxRecordBytes\` (${config.maxRecordBytes}) must be ≤ \`bufferMaxBytes\` (${config.bufferMaxBytes})`);
  }
  const { replay } = config.compensation;
  if (replay.leaseMs <= config.deliveryTimeoutMs) {
    problems.push(`\`compensation.replay.leaseMs\` (${replay.leaseMs}) must be > \`deliveryTimeoutMs\` (${config.deliveryTimeoutMs}), or a replay still in flight could be claimed twice`);
  }
  if (replay.backoffMaxMs < replay.backoffMs) {
    problems.push(`\`compensation.replay.backoffMaxMs\` (${replay.backoffMaxMs}) must be ≥ \`compensation.replay.backoffMs\` (${replay.backoffMs})`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
