export { Producer, type FailedResult, type SendResult } from './producer.js';
export type { DeliveredAck } from './sender.js';
export type { ProducerConfig, TrimOptions } from './config.js';
export type { ProducerRecord } from './record.js';
export type { PartitionerFn } from './partitioner.js';
export type { ConnectEvent, DeliveryEvent, DisconnectEvent, ProducerEvents, RetryEvent } from './events.js';
export {
  BufferFullError,
  ConfigError,
  DeliveryError,
  InvalidRecordError,
  ListenerError,
  ProducerClosedError,
  ProducerError,
  RequestTimeoutError,
  TopicConfigError,
  type FailedBatch,
  type Persisted,
} from './errors.js';
export { extractShardId } from './keys.js';
