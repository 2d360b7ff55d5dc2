/**
 * Seeded schedules: everything random about a round (producer options, workload shape, which faults
 * at which times) comes from a PRNG seeded by (seed, round, target), so a failing round is rerun by
 * its numbers. Only the timing of the machine itself is left to chance.
 */

export type Target = 'standalone' | 'cluster';

export const STANDALONE_FAULTS = ['kill', 'stop', 'cut', 'blackhole', 'lose-reply', 'oom', 'no-replicas', 'script-flush', 'client-kill', 'half-open'] as const;
export const CLUSTER_FAULTS = ['kill-master', 'failover', 'migrate', 'client-kill', 'no-replicas'] as const;
export type FaultKind = (typeof STANDALONE_FAULTS)[number] | (typeof CLUSTER_FAULTS)[number];

/** Faults that take the server process or the cluster topology: never two at once. */
export const EXCLUSIVE: ReadonlySet<FaultKind> = new Set(['kill', 'stop', 'kill-master', 'failover', 'migrate']);

export interface Fault {
  kind: FaultKind;
  /** Start, in ms after the workload started (after the warm-up). */
  at: number;
  /**
   * kill: downtime before the restart; stop, blackhole, oom, no-replicas: how long it lasts; kill-master: restart
   * after this long (0: only when the round heals); migrate: how long the slot stays split.
   */
  ms: number;
  /** In [0, 1): which node / shard, resolved against the topology at run time. */
  pick: number;
}

export interface Schedule {
  seed: number;
  round: number;
  target: Target;
  shards: number;
  loops: number;
  /** Distinct record keys; `keylessRatio` of the records have none. */
  keys: number;
  keylessRatio: number;
  deliveryTimeoutMs: number;
  requestTimeoutMs: number;
  retryBackoffMs: number;
  retryBackoffMaxMs: number;
  lingerMs: number;
  batchMaxRecords: number;
  maxInFlight: number;
  /** Small on some rounds, so produce() meets BufferFullError and send() waits for room. */
  bufferMaxBytes: number;
  maxBlockMs: number;
  acks: 'leader' | 'all';
  /** Sending before the first fault can start, the window faults start in, sending after the heal. */
  warmupMs: number;
  windowMs: number;
  tailMs: number;
  faults: Fault[];
}

/** mulberry32: small, fast, good enough to spread choices. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** FNV-1a of a string: turns (seed, round, target, …) into a 32-bit PRNG seed. */
export function hashSeed(...parts: (string | number)[]): number {
  let h = 0x811c9dc5;
  for (const ch of parts.join('/')) {
    h ^= ch.charCodeAt(0);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

export class Rng {
  private readonly next: () => number;
  constructor(...parts: (string | number)[]) {
    this.next = mulberry32(hashSeed(...parts));
  }
  float(): number {
    return this.next();
  }
  /** Integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
}

export interface ScheduleOptions {
  /** A shorter round (CI). */
  quick?: boolean;
  /** Exactly these faults, in this order of kinds (times still seeded); default: a random mix. */
  kinds?: readonly FaultKind[];
}

export function makeSchedule(seed: number, round: number, target: Target, options: ScheduleOptions = {}): Schedule {
  const rng = new Rng(seed, round, target);
  const quick = options.quick ?? false;
  const deliveryTimeoutMs = rng.int(2_000, 4_000);
  const windowMs = quick ? 3_500 : rng.int(5_000, 9_000);
  const catalogue = target === 'standalone' ? STANDALONE_FAULTS : CLUSTER_FAULTS;
  const kinds = options.kinds ?? Array.from({ length: rng.int(2, 5) }, () => rng.pick(catalogue));
  const warmupMs = 500;
  const faults = kinds.map((kind): Fault => ({ kind, at: warmupMs + rng.int(0, windowMs), ms: faultMs(rng, kind, deliveryTimeoutMs), pick: rng.float() }));
  faults.sort((a, b) => a.at - b.at);
  // Exclusive faults go one after the other: each starts after the previous one has ended.
  let free = 0;
  for (const f of faults) {
    if (!EXCLUSIVE.has(f.kind)) continue;
    f.at = Math.max(f.at, free);
    free = f.at + (f.kind === 'kill-master' || f.kind === 'failover' ? 3_000 : f.ms) + 300;
  }
  faults.sort((a, b) => a.at - b.at);
  const small = rng.chance(0.3);
  return {
    seed,
    round,
    target,
    shards: rng.int(4, 16),
    loops: quick ? 50 : rng.int(50, 100),
    keys: rng.int(8, 64),
    keylessRatio: rng.pick([0, 0.2, 0.5]),
    deliveryTimeoutMs,
    requestTimeoutMs: rng.int(300, 800),
    retryBackoffMs: rng.int(10, 100),
    retryBackoffMaxMs: rng.int(200, 500),
    lingerMs: rng.int(0, 10),
    batchMaxRecords: rng.pick([20, 100, 500]),
    maxInFlight: rng.int(2, 16),
    bufferMaxBytes: small ? rng.int(16, 64) * 1024 : 32 * 1024 * 1024,
    maxBlockMs: 1_000,
    acks: target === 'cluster' && rng.chance(0.5) ? 'all' : 'leader',
    warmupMs,
    windowMs,
    tailMs: quick ? 500 : 1_000,
    faults,
  };
}

function faultMs(rng: Rng, kind: FaultKind, deliveryTimeoutMs: number): number {
  switch (kind) {
    case 'kill':
      return rng.int(100, 3_000);
    case 'stop':
      // Shorter than deliveryTimeoutMs (sends wait it out) or longer (they park).
      return Math.round(deliveryTimeoutMs * (rng.chance(0.5) ? 0.2 + rng.float() * 0.6 : 1.2 + rng.float() * 0.8));
    case 'blackhole':
      return rng.int(200, Math.round(deliveryTimeoutMs * 1.5));
    case 'oom':
    case 'no-replicas':
      return rng.int(300, 3_000);
    case 'kill-master':
      return rng.chance(0.5) ? rng.int(1_000, 4_000) : 0;
    case 'migrate':
      return rng.int(100, 1_500);
    default:
      return 0;
  }
}

/** `kill(800ms)@1200ms` */
export function faultLabel(f: Fault): string {
  return `${f.kind}${f.ms > 0 ? `(${f.ms}ms)` : ''}@${f.at}ms`;
}

/** The fixed CI set: every fault kind at least once, short rounds. */
export const QUICK_SEED = 1;
export const QUICK_SET: readonly { target: Target; kinds: readonly FaultKind[] }[] = [
  { target: 'standalone', kinds: ['kill', 'stop', 'lose-reply'] },
  { target: 'standalone', kinds: ['blackhole', 'oom', 'cut', 'half-open', 'no-replicas'] },
  { target: 'standalone', kinds: ['stop', 'script-flush', 'client-kill', 'lose-reply'] },
  { target: 'cluster', kinds: ['kill-master', 'client-kill', 'no-replicas'] },
  { target: 'cluster', kinds: ['failover', 'migrate'] },
];
