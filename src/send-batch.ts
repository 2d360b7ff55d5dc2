import type { Waiter } from './accumulator.js';
import type { SendAck } from './acks.js';
import { ProducerError } from './errors.js';

/** A record of `sendBatch()` that was not delivered: refused before buffering, or failed in Redis. */
export interface FailedResult {
  /** Tells a failed result from a `SendAck` (`delivered` or `spilled`). */
  status: 'failed';
  /** The record's topic, or undefined when the record had no valid `topic` string. */
  topic: string | undefined;
  /** Why: `InvalidRecordError`, `BufferFullError`, `TopicConfigError`, `ProducerClosedError` or `DeliveryError`. */
  error: ProducerError;
}

/** One result of `sendBatch()`, in input order. */
export type SendResult = SendAck | FailedResult;

/** A record's `failed` result in `sendBatch()`. */
function failedResult(topic: string | undefined, error: unknown): FailedResult {
  return { status: 'failed', topic, error: error instanceof ProducerError ? error : new ProducerError(String(error), 'ERR_UNKNOWN') };
}

/** The results of one `sendBatch()` call, handed over when the last record has its outcome. */
export class SendBatchOutcome {
  private readonly results: SendResult[];
  private pending: number;

  constructor(
    count: number,
    private readonly done: (results: SendResult[]) => void,
  ) {
    this.results = new Array<SendResult>(count);
    this.pending = count;
  }

  settle(index: number, result: SendResult): void {
    if (this.results[index] !== undefined) return; // settled already: the first outcome stands, as with a promise
    this.results[index] = result;
    if (--this.pending === 0) this.done(this.results);
  }
}

/** Record `index` of a `sendBatch()` call, as the sender settles it. */
export class SendBatchSlot implements Waiter<SendAck> {
  constructor(
    private readonly outcome: SendBatchOutcome,
    private readonly index: number,
    private readonly topic: string | undefined,
  ) {}

  resolve(ack: SendAck): void {
    this.outcome.settle(this.index, ack);
  }

  reject(error: Error): void {
    this.outcome.settle(this.index, failedResult(this.topic, error));
  }
}
