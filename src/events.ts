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
  /** Connected to Redis and ready for commands. */
  connect: (event: ConnectEvent) => void;
  /** Lost the connection to Redis. */
  disconnect: (event: DisconnectEvent) => void;
}
