/**
 * Per-shard record buffers. Pure bookkeeping: records go into the shard's open batch, which closes
 * when it reaches `batchMaxRecords` or `batchMaxBytes`. Timers and sending live in `sender.ts`, a shard's other state in `shard-state.ts`.
 */
import { addToColumns, emptyColumns, encodeColumns, fieldsAt, setFieldsAt, type BufferedRecord, type RecordColumns, type RecordFields } from './batch-codec.js';

/** Settles one awaited record. */
export interface Waiter<T> {
  resolve(value: T): void;
  reject(error: Error): void;
}

export interface BatchLimits {
  batchMaxRecords: number;
  batchMaxBytes: number;
}

export class Batch<T> {
  /** The records, as columns (see `RecordColumns`): no small array per buffered record. */
  readonly columns: RecordColumns = emptyColumns();
  count = 0;
  bytes = 0;
  attempts = 0;
  /**
   * Some attempt sent the script and got no answer: the batch may be in the stream. Sticky: a
   * later attempt that fails before sending proves nothing about the earlier one.
   */
  possiblyPersisted = false;
  /** `waiters[i]` settles record i; absent for fire-and-forget records. Created on first need. */
  waiters: (Waiter<T> | undefined)[] | undefined;
  private settledPromise: Promise<void> | undefined;
  private markSettled: (() => void) | undefined;
  private isSettled = false;
  private encodedArgs: (string | Buffer | number)[] | undefined;

  constructor(
    readonly createdAt: number,
    /** Sequence number on its shard (idempotence), in creation order, so also in sending order. */
    readonly seq: number,
  ) {}

  add(record: BufferedRecord, size: number, waiter: Waiter<T> | undefined): void {
    if (waiter !== undefined) (this.waiters ??= [])[this.count] = waiter;
    addToColumns(this.columns, record);
    this.count++;
    this.bytes += size;
  }

  /** Record i's XADD field list (for parking it). */
  fieldsAt(i: number): (string | Buffer)[] {
    return fieldsAt(this.columns, i);
  }

  /** Replaces record i's fields (its value compressed); `bytes` keeps what was reserved for it. */
  setFieldsAt(i: number, fields: RecordFields): void {
    setFieldsAt(this.columns, i, fields);
    this.encodedArgs = undefined;
  }

  /** The records as `publish-batch.lua` arguments, encoded once (a retry sends the same). */
  encoded(): (string | Buffer | number)[] {
    return (this.encodedArgs ??= encodeColumns(this.columns));
  }

  /** Resolves once the batch has an outcome (delivered or failed). Built only when asked for. */
  settled(): Promise<void> {
    if (this.isSettled) return Promise.resolve();
    this.settledPromise ??= new Promise<void>((resolve) => (this.markSettled = resolve));
    return this.settledPromise;
  }

  markDone(): void {
    this.isSettled = true;
    this.markSettled?.();
  }
}

/** The batches of one shard: closed ones waiting to be sent, in order, then the open one. */
export class ShardAccumulator<T> {
  private open: Batch<T> | undefined;
  private readonly closed: Batch<T>[] = [];
  /** A send task for this shard is queued or running (at most one: per-shard order). */
  scheduled = false;
  /** The batch being sent, if any. */
  inFlight: Batch<T> | undefined;
  constructor(
    private readonly limits: BatchLimits,
    private readonly now: () => number,
    /** The next batch's sequence number: increasing over the producer session, shared by its shards. */
    private readonly nextSeq: () => number = counter(),
  ) {}

  /**
   * Appends a record; closes the open batch first if the record would overflow it, and after it if
   * the batch is then full. Returns true when a batch closed (it is ready to send).
   */
  append(record: BufferedRecord, size: number, waiter: Waiter<T> | undefined): boolean {
    let closed = false;
    let batch = this.open;
    if (batch !== undefined && batch.bytes + size > this.limits.batchMaxBytes) {
      this.closed.push(batch);
      batch = undefined;
      closed = true;
    }
    if (batch === undefined) batch = this.open = new Batch<T>(this.now(), this.nextSeq());
    batch.add(record, size, waiter);
    if (batch.count >= this.limits.batchMaxRecords || batch.bytes >= this.limits.batchMaxBytes) {
      this.closed.push(batch);
      this.open = undefined;
      closed = true;
    }
    return closed;
  }

  /** Closes the open batch, if it holds records (linger expired, or a flush). */
  closeOpen(): boolean {
    if (this.open === undefined) return false;
    this.closed.push(this.open);
    this.open = undefined;
    return true;
  }

  /** The next batch to send: the oldest closed one, else the open one (closed now). */
  takeNext(): Batch<T> | undefined {
    if (this.closed.length === 0) this.closeOpen();
    return this.closed.shift();
  }

  /**
   * Takes the waiting batches (closed, then open) created at or before `createdBy`: they ran out of
   * time before they could be sent. Batches are in creation order, so these are a prefix.
   */
  takeExpired(createdBy: number): Batch<T>[] {
    const expired: Batch<T>[] = [];
    while (this.closed.length > 0 && this.closed[0]!.createdAt <= createdBy) expired.push(this.closed.shift()!);
    if (this.closed.length === 0 && this.open !== undefined && this.open.createdAt <= createdBy) {
      expired.push(this.open);
      this.open = undefined;
    }
    return expired;
  }

  hasClosed(): boolean {
    return this.closed.length > 0;
  }

  /** When the open batch started, or undefined when there is none. */
  openSince(): number | undefined {
    return this.open?.createdAt;
  }

  isEmpty(): boolean {
    return this.open === undefined && this.closed.length === 0;
  }

  /** Every batch not yet settled: in flight, closed, open. */
  pending(): Batch<T>[] {
    const all = this.inFlight ? [this.inFlight, ...this.closed] : [...this.closed];
    if (this.open) all.push(this.open);
    return all;
  }
}

/** A sequence 1, 2, 3…: what one producer session draws its batches' sequence numbers from. */
export function counter(): () => number {
  let last = 0;
  return () => ++last;
}
