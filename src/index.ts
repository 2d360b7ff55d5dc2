export { Producer } from './producer.js';
export type { CompensationApi } from './compensation/api.js';
export type { FailedResult, SendResult } from './send-batch.js';
export type { DeliveredAck, SendAck, SpilledAck } from './acks.js';
export type { CompensationEntry } from './compensation/entry.js';
export type { CompensationStats, ListOptions, PurgeOptions } from './compensation/store.js';
export type { ReplayRound } from './compensation/replayer.js';
export type { CompressionOptions, ProducerConfig, TrimOptions } from './config.js';
export type { ProducerRecord } from './record.js';
export type { PartitionerFn } from './partitioner.js';
export type {
  ConnectEvent,
  DeadLetterEvent,
  DeliveryEvent,
  DisconnectEvent,
  ProducerEvents,
  ReplayEvent,
  RetryEvent,
  ShardStats,
  SpillEvent,
  StatsCounters,
  StatsEvent,
  StatsSummary,
} from './events.js';
export {
  BufferFullError,
  ConfigError,
  DeliveryError,
  EntryReadError,
  InvalidRecordError,
  ListenerError,
  ProducerClosedError,
  ProducerError,
  RequestTimeoutError,
  TopicConfigError,
  type EntryReadErrorCode,
  type FailedBatch,
  type Persisted,
} from './errors.js';
export { extractShardId } from './keys.js';
