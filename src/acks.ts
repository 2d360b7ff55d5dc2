import type { DeliveryError, Persisted } from './errors.js';

/** What an awaited `send()` resolves with once its record is in Redis. */
export interface DeliveredAck {
  /** The record is in its stream. */
  status: 'delivered';
  /** The record's topic. */
  topic: string;
  /** The shard it went to (explicit, by key hash, or sticky for keyless records). */
  shard: number;
  /** Stream key, e.g. `{app:orders:3}`. */
  stream: string;
  /** The entry id Redis assigned, e.g. `1712345678901-0`. */
  id: string;
}

/** What `send()` resolves with when its record could not be delivered and was parked for replay. */
export interface SpilledAck {
  /** The record is parked for replay, not (surely) in its stream yet. */
  status: 'spilled';
  /** The record's topic. */
  topic: string;
  /** The shard it is meant for; the replay writes it there. */
  shard: number;
  /** The stream it is meant for. */
  stream: string;
  /** The record's id in the compensation store (`producer.compensation` inspects it). */
  compensationId: string;
  /** `not`: surely not in the stream yet; `possibly`: the reply was lost, replay checks first. */
  persisted: Persisted;
  /** Where it is parked: the Redis compensation store, or the local journal until Redis is back. */
  parkedIn: 'redis' | 'journal';
  /** Why it could not be delivered. */
  error: DeliveryError;
}

/** The outcome of an accepted record. */
export type SendAck = DeliveredAck | SpilledAck;
