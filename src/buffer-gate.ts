import { BufferFullError } from './errors.js';

/**
 * What each accepted record takes from `bufferMaxBytes` on top of its own bytes: its share of the
 * batch's columns, its waiter and strings, about 120 bytes of heap measured after a GC
 * (`npm run bench:memory`). Without it, small values would fill memory well past the buffer's bound.
 */
export const RECORD_OVERHEAD_BYTES = 128;

interface RoomWaiter {
  bytes: number;
  /** false: only waits for room (`whenRoomFor`), takes none. */
  take: boolean;
  /** Runs the moment the room is taken, before anyone else can take room (see `reserve`). */
  granted: (() => void) | undefined;
  resolve(): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout | undefined;
}

/**
 * Counts the bytes of records accepted but not yet settled against `bufferMaxBytes`.
 * Waiters are served first come, first served: a record that is waiting for room is never
 * overtaken by one arriving later.
 */
export class BufferGate {
  private used = 0;
  private readonly waiting: RoomWaiter[] = [];

  constructor(private readonly maxBytes: number) {}

  get usedBytes(): number {
    return this.used;
  }

  /** Takes room for `bytes` if there is some and nobody is queued ahead. */
  tryReserve(bytes: number): boolean {
    if (this.waiting.length > 0 || this.used + bytes > this.maxBytes) return false;
    this.used += bytes;
    return true;
  }

  /**
   * Waits up to `maxWaitMs` for room, then takes it; rejects with `BufferFullError` on time-out.
   * `granted` runs synchronously when the room is taken: a promise callback would run a tick later,
   * after a record arriving in between could already have taken room and gone ahead of this one.
   */
  reserve(bytes: number, maxWaitMs: number, granted?: () => void): Promise<void> {
    if (this.tryReserve(bytes)) {
      granted?.();
      return Promise.resolve();
    }
    if (maxWaitMs === 0) return Promise.reject(this.fullError(bytes, 0));
    return new Promise<void>((resolve, reject) => {
      const waiter: RoomWaiter = { bytes, take: true, granted, resolve, reject, timer: undefined };
      waiter.timer = setTimeout(() => {
        const at = this.waiting.indexOf(waiter);
        if (at >= 0) this.waiting.splice(at, 1);
        reject(this.fullError(bytes, maxWaitMs));
        this.wakeWaiters(); // the head may have changed
      }, maxWaitMs);
      this.waiting.push(waiter);
    });
  }

  /** Resolves when a record of `bytes` would be accepted now; never takes room itself. */
  whenRoomFor(bytes: number): Promise<void> {
    if (this.waiting.length === 0 && this.used + bytes <= this.maxBytes) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ bytes, take: false, granted: undefined, resolve, reject, timer: undefined });
    });
  }

  release(bytes: number): void {
    this.used -= bytes;
    this.wakeWaiters();
  }

  /** Rejects every waiter (the producer is closing). */
  rejectAll(error: Error): void {
    for (const w of this.waiting.splice(0)) {
      clearTimeout(w.timer);
      w.reject(error);
    }
  }

  private wakeWaiters(): void {
    while (this.waiting.length > 0) {
      const head = this.waiting[0]!;
      if (this.used + head.bytes > this.maxBytes) return;
      this.waiting.shift();
      clearTimeout(head.timer);
      if (head.take) this.used += head.bytes;
      head.granted?.();
      head.resolve();
    }
  }

  private fullError(bytes: number, waitedMs: number): BufferFullError {
    return new BufferFullError(
      `The producer buffer is full: ${this.used} of bufferMaxBytes (${this.maxBytes}) bytes are in use and a ` + `${bytes}-byte record did not fit within maxBlockMs (${waitedMs} ms)`,
    );
  }
}
