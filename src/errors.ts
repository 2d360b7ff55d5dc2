/**
 * One error hierarchy. Callers branch on `instanceof` or `code`, never on message text.
 * `retriable` defaults to false: only errors we know are safe to retry say otherwise.
 */
export class ProducerError extends Error {
  /** Stable machine-readable code. */
  readonly code: string;
  /** True when trying the same operation again later may succeed. */
  readonly retriable: boolean;

  constructor(message: string, code: string, options: { retriable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retriable = options.retriable ?? false;
    // Format the stack now: V8 formats it lazily and until then keeps the frames' closures alive,
    // and those hold the records of the send() or batch that failed. A caller keeping rejected
    // sends would otherwise keep every refused record in memory.
    void this.stack;
  }
}

/** The producer configuration is invalid; `issues` lists every problem found. */
export class ConfigError extends ProducerError {
  /** One line per problem: "`option`: what was expected, got what was given". */
  readonly issues: readonly string[];
  constructor(issues: readonly string[]) {
    super(`Invalid producer config:\n${issues.map((i) => `  - ${i}`).join('\n')}`, 'ERR_CONFIG');
    this.issues = issues;
  }
}

/** A record failed validation before it was buffered; `field` names the offending field. */
export class InvalidRecordError extends ProducerError {
  /** The record field at fault, e.g. `topic`, `value`, `headers.x-id`, `shard`. */
  readonly field: string;
  constructor(field: string, message: string) {
    super(message, 'ERR_INVALID_RECORD');
    this.field = field;
  }
}

/** The buffer stayed full (`bufferMaxBytes`) for longer than the caller may wait. */
export class BufferFullError extends ProducerError {
  constructor(message: string) {
    super(message, 'ERR_BUFFER_FULL', { retriable: true });
  }
}

/** The producer is closing or closed and accepts no more records. */
export class ProducerClosedError extends ProducerError {
  constructor() {
    super('The producer is closed: records can no longer be sent', 'ERR_PRODUCER_CLOSED');
  }
}

/** The shard count configured for a topic disagrees with the one stored in Redis. */
export class TopicConfigError extends ProducerError {
  /** The topic whose shard count disagrees. */
  readonly topic: string;
  /** Shards this producer is configured with (`topics[topic].shards` or `defaultShards`). */
  readonly configuredShards: number;
  /** Shards recorded in Redis (`{namespace:topic}:meta`) by the topic's first producer. */
  readonly storedShards: number;
  constructor(topic: string, configuredShards: number, storedShards: number) {
    super(
      `Topic "${topic}" is configured with ${configuredShards} shards but Redis records ${storedShards}; ` +
        `writing would put keys on the wrong shards. Configure topics.${topic}.shards = ${storedShards}.`,
      'ERR_TOPIC_CONFIG',
    );
    this.topic = topic;
    this.configuredShards = configuredShards;
    this.storedShards = storedShards;
  }
}

/** A Redis call did not answer within `requestTimeoutMs`; the batch may or may not have been written. */
export class RequestTimeoutError extends ProducerError {
  constructor(what: string, timeoutMs: number) {
    super(`${what} did not answer within requestTimeoutMs (${timeoutMs} ms)`, 'ERR_REQUEST_TIMEOUT', {
      retriable: true,
    });
  }
}

/**
 * Whether records that failed may be in Redis anyway (librdkafka's distinction): `not` when the
 * call surely did not run, `possibly` when the reply was lost (time-out, connection cut in flight).
 */
export type Persisted = 'not' | 'possibly';

/** The batch a `DeliveryError` is about. */
export interface FailedBatch {
  /** Topic of the batch. */
  topic: string;
  /** Shard of the batch. */
  shard: number;
  /** Stream key of the shard, e.g. `{app:orders:3}`. */
  stream: string;
  /** How many records the batch held. */
  records: number;
  /** Script calls made for the batch (1 = first try). */
  attempts: number;
  /** The batch's sequence number on its shard (what `check-batch` asks about). */
  seq: number;
}

/** Records could not be written to Redis. `cause` holds the underlying error. */
export class DeliveryError extends ProducerError {
  /** Whether the records may be in their stream anyway: `possibly` when the reply was lost. */
  readonly persisted: Persisted;
  /** The batch that failed, when the error is about one. */
  readonly batch: FailedBatch | undefined;
  constructor(message: string, code: string, options: { retriable: boolean; cause: unknown; persisted: Persisted; batch?: FailedBatch }) {
    super(message, code, options);
    this.persisted = options.persisted;
    this.batch = options.batch;
  }
}

/** An event listener threw; the producer carried on. `cause` holds what it threw. */
export class ListenerError extends ProducerError {
  /** The event whose listener threw. */
  readonly event: string;
  constructor(event: string, cause: unknown) {
    super(`A listener of the "${event}" event threw: ${cause instanceof Error ? cause.message : String(cause)}`, 'ERR_LISTENER', { cause });
    this.event = event;
  }
}

/** Why a stream entry could not be read back (`readEntry`). */
export type EntryReadErrorCode = 'ERR_ENTRY_NO_PAYLOAD' | 'ERR_ENTRY_UNKNOWN_ENCODING' | 'ERR_ENTRY_CORRUPT';

/**
 * A stream entry `readEntry` cannot turn back into a record: no `payload` field, an `encoding` it
 * does not know (or one this Node cannot decode: zstd before Node 22.15), or a compressed body that
 * does not decompress. `field` names the field at fault.
 */
export class EntryReadError extends ProducerError {
  /** What is wrong with the entry. */
  declare readonly code: EntryReadErrorCode;
  /** The entry field at fault: `payload` or `encoding`. */
  readonly field: string;
  constructor(code: EntryReadErrorCode, field: string, message: string, cause?: unknown) {
    super(message, code, { cause });
    this.field = field;
  }
}
