import type { Cluster, Redis, ClusterOptions, RedisOptions } from 'ioredis';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { isIoredisClient } from './client-kind.js';
import { CODECS, codecProblem, LEVELS } from './compression.js';
import { redactCredentials } from './credentials.js';
import { ConfigError } from './errors.js';
import { nameProblem, RESERVED_TOPICS } from './names.js';
import type { PartitionerFn } from './partitioner.js';

/**
 * Every producer option: type, bounds, default and meaning in one place. `.default()` is the only
 * source of each default and `.describe()` (or `.meta({ description })`) of each meaning:
 * `npm run docs:config` writes the table in docs/configuration.md from this schema.
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
/** Stream trimming (`trim`, `topics[name].trim`): `{ strategy: 'maxlen' | 'minid', threshold, exact? }`. */
export type TrimOptions = z.input<typeof trimSchema>;

/** Payload compression (`compression`, `topics[name].compression`); see docs/configuration.md. */
const compressionSchema = z
  .strictObject({
    codec: z
      .enum(['none', ...CODECS])
      .default('none')
      .describe(
        "`none`: values are stored as they are. Otherwise values of at least `minBytes` are compressed with this codec (`zstd` only where the running Node's zlib has it) and the entry's `encoding` field names it; a value that would not shrink is stored as it is.",
      ),
    minBytes: int(0, 512 * 1024 * 1024)
      .default(1024)
      .describe('Values shorter than this (in bytes) are stored as they are: each compression has a fixed cost (tens of µs) that small values do not repay.'),
    level: z.number({ error: 'expected an integer level' }).int('expected an integer level').optional().meta({
      description: 'Codec level: gzip and deflate 1–9 (default 6), brotli 0–11 (default 4), zstd 1–22 (default 3). Higher: smaller, slower.',
      accepts: "integer in the codec's range",
    }),
  })
  .superRefine((c, ctx) => {
    if (c.codec === 'none') return;
    const problem = codecProblem(c.codec);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', path: ['codec'], message: `${problem}, got "zstd"` });
    if (c.level === undefined) return;
    const { min, max } = LEVELS[c.codec];
    if (c.level < min || c.level > max) {
      ctx.addIssue({ code: 'custom', path: ['level'], message: `expected an integer from ${min} to ${max} for codec "${c.codec}", got ${c.level} (number)` });
    }
  });
/** Payload compression: `{ codec?: 'none' | 'gzip' | 'deflate' | 'brotli' | 'zstd', minBytes?, level? }`. */
export type CompressionOptions = z.input<typeof compressionSchema>;

const topicSchema = z.strictObject({
  /** Shards (streams) of this topic; must agree with what Redis records for the topic. */
  shards: int(1, 16384).optional(),
  /** Trimming for this topic; overrides the producer-wide `trim`. `null` turns trimming off. */
  trim: trimSchema.nullable().optional(),
  /** Compression for this topic; replaces the producer-wide `compression` as a whole. */
  compression: compressionSchema.optional(),
});

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype;

const clusterNode = z.union([z.string().min(1), z.number().int(), z.strictObject({ host: z.string().optional(), port: z.number().int().min(1).max(65535).optional() })]);

/**
 * Where to connect. A URL (`redis://` or `rediss://`), ioredis options, `{ cluster: [...nodes],
 * options? }`, or an ioredis `Redis`/`Cluster` the caller owns (left open by `close()`).
 */
const redisSchema = z.union(
  [
    z.string().regex(/^rediss?:\/\//, 'expected a redis:// or rediss:// URL'),
    z.custom<Redis | Cluster>(isIoredisClient),
    z.strictObject({ cluster: z.array(clusterNode).min(1), options: z.custom<ClusterOptions>(isPlainObject).optional() }),
    z.custom<RedisOptions>((v) => isPlainObject(v) && !('cluster' in v), 'expected ioredis options'),
  ],
  { error: 'expected a redis:// or rediss:// URL, ioredis options, { cluster: [...nodes] } or an ioredis Redis/Cluster instance' },
);

/** Where undeliverable records go, and how they come back. */
const compensationSchema = z.strictObject({
  enabled: z
    .boolean()
    .default(true)
    .describe('Park records that cannot be delivered (in Redis, or in the local journal when Redis is down) and replay them. `false`: they fail with `DeliveryError` instead.'),
  journalDir: z
    .string()
    .min(1)
    .default(join(tmpdir(), 'redis-stream-producer-journal'))
    .describe('Local journal directory for records that can be neither delivered nor parked in Redis (Redis down); one subdirectory per namespace. Put it on a persistent volume in production.'),
  journalFsync: z.enum(['always', 'never']).default('always').describe('`always`: fdatasync every journal append (survives a machine crash); `never`: leave it to the OS.'),
  maxAttempts: int(1, 1000).default(10).describe('Replay attempts of a parked record before it becomes a dead letter (the attempts before it was parked do not count).'),
  replay: z
    .strictObject({
      enabled: z.boolean().default(true).describe('Replay parked records in the background. `false`: call `producer.compensation.replayNow()` yourself.'),
      intervalMs: int(10, 3_600_000).default(1_000).describe('How often the replayer looks for due records and drains the journal.'),
      batchSize: int(1, 10_000).default(500).describe('Most records one replay round claims per topic.'),
      leaseMs: int(1_000, 86_400_000)
        .default(180_000)
        .describe(
          "How long a claimed record is reserved for one producer (on the server's clock). Must exceed `deliveryTimeoutMs`. A replay outliving its lease still writes nothing twice: the next claimer first checks whether the replay batch landed.",
        ),
      backoffMs: int(10, 3_600_000).default(1_000).describe('First delay before a failed replay is tried again; doubles per attempt (±20% jitter).'),
      backoffMaxMs: int(10, 86_400_000).default(60_000).describe('Largest delay between replay attempts. At least `backoffMs`.'),
    })
    .prefault({}),
});

export const producerConfigSchema = z.strictObject({
  redis: redisSchema.default('redis://127.0.0.1:6379').meta({
    description:
      'Where to connect: a `redis://`/`rediss://` URL, ioredis options, `{ cluster: [...nodes], options? }` for Redis Cluster, or an ioredis (5 or 6) `Redis`/`Cluster` you own (used as it is, left open by `close()`).',
    accepts: 'URL, ioredis options, `{ cluster }` or a client',
  }),
  namespace: name('namespace').default('rsp').describe('First part of every key. No `{`, `}`, `:` or whitespace, at most 128 characters.'),
  defaultShards: int(1, 16384).default(16).describe("Shards (streams) of a topic not listed in `topics`. A topic's shard count is fixed once its first batch records it in Redis."),
  topics: z.record(topicName, topicSchema).default({}).meta({
    description:
      "Per-topic overrides, by topic name: `{ shards?, trim?, compression? }`. `trim: null` turns the producer-wide `trim` off for that topic; a topic's `compression` replaces the producer-wide one as a whole (`{ codec: 'none' }` turns it off).",
    accepts: '`{ [topic]: { shards?, trim?, compression? } }`',
  }),
  trim: trimSchema.optional().meta({
    description:
      'Trimming after each batch, in the same script call, for every topic that does not set its own: `maxlen` keeps about `threshold` newest entries, `minid` drops ids below `threshold`; `exact: false` (default) uses `~`, which trims whole macro nodes only and is far cheaper. Off when unset.',
    accepts: "`{ strategy: 'maxlen' | 'minid', threshold, exact? }`",
  }),
  lingerMs: int(0, 60_000).default(5).describe("How long a batch may wait for more records, when its shard is busy or `adaptiveLinger` is off (Kafka's `linger.ms`)."),
  adaptiveLinger: z
    .boolean()
    .default(true)
    .describe(
      "A shard with nothing in flight sends at the end of the current tick instead of waiting `lingerMs`, so a lone awaited send costs about one round trip; a busy shard's next batch fills up behind its in-flight call. `false`: Kafka's plain linger.",
    ),
  batchMaxRecords: int(1, 100_000).default(500).describe('Most records in one script call; bounds how long one call blocks Redis (≈1 ms at 500 records of 100 bytes, ≈2 ms at 1000).'),
  batchMaxBytes: int(1024, 512 * 1024 * 1024)
    .default(1024 * 1024)
    .describe('Most record bytes in one script call. At most `bufferMaxBytes`.'),
  maxInFlight: int(1, 1024).default(8).describe("Script calls in flight at once across all shards; at most one per shard, which keeps each shard's order."),
  bufferMaxBytes: int(1024, 2 ** 40)
    .default(32 * 1024 * 1024)
    .describe("Bytes of records accepted and not yet settled, buffered or in flight (Kafka's `buffer.memory`)."),
  maxBlockMs: int(0, 3_600_000).default(60_000).describe('How long `send()` waits for buffer room before it rejects with `BufferFullError`. `produce()` never waits: it throws at once.'),
  deliveryTimeoutMs: int(1, 3_600_000)
    .default(120_000)
    .describe("Upper bound from accepting a record to its outcome, retries included; a record still undelivered then is parked. Also `close()`'s default wait."),
  requestTimeoutMs: int(1, 600_000)
    .default(5_000)
    .describe(
      'Deadline of every Redis call the producer makes; a call without an answer by then counts as failed, its reply lost, and a connection the producer created is replaced once its oldest call waited this long. At most `deliveryTimeoutMs`.',
    ),
  retryBackoffMs: int(0, 60_000).default(100).describe('First retry delay after a retriable failure; doubles per attempt, ±20% jitter.'),
  retryBackoffMaxMs: int(0, 600_000).default(1_000).describe('Largest retry delay. At least `retryBackoffMs`.'),
  partitioner: z
    .union([z.enum(['crc32', 'murmur2']), z.custom<PartitionerFn>((v) => typeof v === 'function', 'expected a function (key: Buffer, shards: number) => number')])
    .default('crc32')
    .meta({
      description: "Key → shard: `'crc32'` (zlib CRC-32 of the key bytes, mod shards), `'murmur2'` (Kafka's Java client), or your own `(key: Buffer, shards) => shard`.",
      accepts: '`"crc32"` | `"murmur2"` | function',
    }),
  idempotent: z
    .boolean()
    .default(true)
    .describe(
      "Each batch carries this producer's id and a sequence number (increasing over the producer session, so on each shard); the batch script writes a (producer, sequence) at most once, so a retry after a lost reply cannot duplicate. `false`: a lost reply is not retried but parked as possibly persisted, and replay may duplicate it (at-least-once).",
    ),
  producerId: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'expected 1 to 64 letters, digits, "_" or "-"')
    .optional()
    .describe(
      'Names this producer in its idempotence state, compensation entry ids and journal file: 1–64 letters, digits, `_` or `-`. Each producer instance adds a fresh session suffix, so two instances with the same id (a restart, two replicas configured alike) never share sequence numbers. Default: random per instance.',
    ),
  idempotenceStateTtlMs: int(60_000, 30 * 24 * 3_600_000)
    .default(7 * 24 * 3_600_000)
    .describe(
      "How long a shard keeps a producer's idempotence state (`{ns:topic:shard}:p:<sessionId>`) after its last batch. A possibly-persisted record replayed later than this could be written twice.",
    ),
  acks: z
    .enum(['leader', 'all'])
    .default('leader')
    .describe(
      "`leader`: a batch is acknowledged when the master ran its script. `all`: also after `WAIT` saw it on `ackReplicas` replicas (same connection, same node), so a failover cannot lose an acknowledged record (Kafka's `acks`). A short `WAIT` is retried idempotently.",
    ),
  ackReplicas: int(1, 100).default(1).describe("With `acks: 'all'`: how many replicas must have each batch."),
  /** Parking undeliverable records in Redis (or a local journal) and replaying them. */
  compensation: compensationSchema.prefault({}),
  /** Compressing large values before they are written (per topic: `topics[name].compression`). */
  compression: compressionSchema.prefault({}),
  maxRecordBytes: int(1, 512 * 1024 * 1024)
    .default(1024 * 1024)
    .describe('Largest record: value + key + header names and values, in bytes. At most `bufferMaxBytes`.'),
  maxHeaders: int(0, 3_900)
    .default(64)
    .describe("Most headers on one record (at most 3900: the batch script passes a record's fields to one `XADD` through Lua's `unpack`, which takes about 8000 values)."),
  metadataMaxIdleMs: int(100, 86_400_000)
    .default(300_000)
    .describe(
      "How long a shard, and then its topic, may go unused before the producer forgets what it keeps for it (accumulator, stream keys, `stats` counters, the shard-count check, which runs again on the next use), as Kafka's `metadata.max.idle.ms`. Keeps a producer that touches many topics bounded; nothing buffered, in flight or being parked is ever forgotten.",
    ),
  statsIntervalMs: int(0, 86_400_000)
    .refine((ms) => !(Number.isInteger(ms) && ms > 0 && ms < 10), 'expected 0 (off) or at least 10')
    .default(5_000)
    .meta({
      description:
        "How often the `stats` event fires (librdkafka's `statistics.interval.ms`); `0` turns it off. No payload is built while nobody listens, and the timer never keeps the process alive. See docs/metrics.md.",
      accepts: '`0` (off) or integer 10–86400000',
    }),
});

/**
 * Options of `new Producer(options)`; every one is optional. Types, bounds, defaults and meanings
 * are in the table of docs/configuration.md, generated from `producerConfigSchema` above.
 */
export type ProducerConfig = z.input<typeof producerConfigSchema>;
export type ResolvedConfig = z.output<typeof producerConfigSchema>;

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

/** Every trim setting of the config, with where it is set. */
function trimSettings(config: ResolvedConfig): [string, NonNullable<ResolvedConfig['trim']>][] {
  const all: [string, NonNullable<ResolvedConfig['trim']>][] = config.trim ? [['trim', config.trim]] : [];
  for (const [topic, override] of Object.entries(config.topics)) if (override.trim) all.push([`topics.${topic}.trim`, override.trim]);
  return all;
}

/** A threshold `XTRIM` would refuse for its strategy: caught here, not by a script half way through a batch. */
function trimProblem(trim: NonNullable<ResolvedConfig['trim']>): string | undefined {
  const value = String(trim.threshold);
  if (trim.strategy === 'maxlen' && !/^\d+$/.test(value)) return `expected an entry count (integer ≥ 0) for strategy "maxlen", got ${JSON.stringify(value)}`;
  return undefined;
}

/**
 * Defaults the user did not set follow the settings they did, so one setting alone never conflicts
 * with a default (`bufferMaxBytes: 65536` alone lowers the batch and record limits to it). Only
 * values both given can conflict; `resolveConfig` reports those.
 */
function followGivenSettings(config: ResolvedConfig, given: (...path: string[]) => boolean): void {
  if (!given('batchMaxBytes')) config.batchMaxBytes = Math.min(config.batchMaxBytes, config.bufferMaxBytes);
  if (!given('maxRecordBytes')) config.maxRecordBytes = Math.min(config.maxRecordBytes, config.bufferMaxBytes);
  if (!given('requestTimeoutMs')) config.requestTimeoutMs = Math.min(config.requestTimeoutMs, config.deliveryTimeoutMs);
  if (!given('retryBackoffMaxMs')) config.retryBackoffMaxMs = Math.max(config.retryBackoffMaxMs, config.retryBackoffMs);
  // Outlive every retry by a margin, as the defaults do (7 days and 1.5 × the delivery timeout).
  if (!given('idempotenceStateTtlMs')) config.idempotenceStateTtlMs = Math.max(config.idempotenceStateTtlMs, 2 * config.deliveryTimeoutMs);
  const replay = config.compensation.replay;
  if (!given('compensation', 'replay', 'leaseMs')) replay.leaseMs = Math.max(replay.leaseMs, Math.ceil(1.5 * config.deliveryTimeoutMs));
  if (!given('compensation', 'replay', 'backoffMaxMs')) replay.backoffMaxMs = Math.max(replay.backoffMaxMs, replay.backoffMs);
}

/** Validates the whole config at once; throws a `ConfigError` listing every problem. */
export function resolveConfig(input: ProducerConfig = {}): ResolvedConfig {
  const result = producerConfigSchema.safeParse(input);
  if (!result.success) throw new ConfigError(formatIssues(result.error.issues, input));
  const config = result.data;
  followGivenSettings(config, (...path) => path.reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], input) !== undefined);
  const problems: string[] = [];
  if (typeof config.redis === 'string' && !URL.canParse(config.redis)) {
    problems.push(redactCredentials(`\`redis\`: expected a URL such as redis://127.0.0.1:6379 (host, port 1–65535), got ${JSON.stringify(config.redis)}`));
  }
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
  if (config.idempotenceStateTtlMs <= config.deliveryTimeoutMs) {
    problems.push(`\`idempotenceStateTtlMs\` (${config.idempotenceStateTtlMs}) must be > \`deliveryTimeoutMs\` (${config.deliveryTimeoutMs}), or a retry could outlive the state that makes it safe`);
  }
  for (const [where, trim] of trimSettings(config)) {
    const problem = trimProblem(trim);
    if (problem !== undefined) problems.push(`\`${where}.threshold\`: ${problem}`);
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
