import type { ProducerError } from './errors.js';

/** One batch written to its stream. */
export interface DeliveryEvent {
  topic: string;
  shard: number;
  /** Stream key, e.g. `{app:orders:3}`. */
  stream: string;
  /** New entry ids, in the batch's record order. */
  ids: string[];
  /** Script calls it took (1 = first try). */
  attempts: number;
  /** From the batch's first record being accepted to the reply. */
  latencyMs: number;
}

/** A batch is being tried again after a retriable failure. */
export interface RetryEvent {
  topic: string;
  shard: number;
  stream: string;
  records: number;
  /** The attempt that failed (1 = first try). */
  attempt: number;
  /** Wait before the next attempt. */
  delayMs: number;
  error: ProducerError;
}

/** The connection to Redis is up (first time or after a reconnect). */
export interface ConnectEvent {
  /** 1 for the first connection, then one more per reconnect. */
  count: number;
}

/** The connection to Redis went down; ioredis reconnects on its own. */
export interface DisconnectEvent {
  reason: string;
}

/** Every event the producer emits, with its listener signature. */
export interface ProducerEvents {
  /** A batch is in its stream: one event per batch, ids in record order. */
  delivery: (event: DeliveryEvent) => void;
  /** A retriable failure; the batch will be tried again after `delayMs`. */
  retry: (event: RetryEvent) => void;
  /**
   * Something failed that no awaiting caller hears about otherwise: a batch that could not be
   * delivered (its `DeliveryError` says topic, shard and record count), a connection error, or an
   * event listener that threw.
   */
  error: (error: ProducerError) => void;
  /** Undeliverable records were parked in the compensation store or the local journal. */
  spill: (event: SpillEvent) => void;
  /** A parked record reached its stream. */
  replay: (event: ReplayEvent) => void;
  /** A parked record gave up after `compensation.maxAttempts` attempts. */
  'dead-letter': (event: DeadLetterEvent) => void;
  /** Connected to Redis and ready for commands. */
  connect: (event: ConnectEvent) => void;
  /** Lost the connection to Redis. */
  disconnect: (event: DisconnectEvent) => void;
}

/** Records that could not be delivered were parked, to be replayed later. */
export interface SpillEvent {
  topic: string;
  shard: number;
  stream: string;
  /** Compensation entry ids of the parked records, in batch order. */
  ids: string[];
  /** `not`: surely not in the stream; `possibly`: the reply was lost, replay checks before writing. */
  persisted: 'not' | 'possibly';
  /** Where they went: the Redis compensation store, or the local journal (Redis unreachable). */
  to: 'redis' | 'journal';
  /** Why the batch could not be delivered. */
  error: ProducerError;
}

/** A parked record is in its stream now (replayed, or found to have landed after all). */
export interface ReplayEvent {
  topic: string;
  shard: number;
  /** The compensation entry id. */
  entryId: string;
  /** `replayed`: written now; `already-delivered`: the original batch had landed, nothing written. */
  outcome: 'replayed' | 'already-delivered';
  /** The entry id in the stream, when replayed. */
  streamId: string | undefined;
}

/** A parked record failed `compensation.maxAttempts` times and was moved to the dead-letter set. */
export interface DeadLetterEvent {
  topic: string;
  shard: number;
  entryId: string;
  attempts: number;
  lastError: string;
}
