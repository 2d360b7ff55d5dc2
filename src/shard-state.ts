import { ShardAccumulator } from './accumulator.js';
import type { SendAck } from './acks.js';
import type { ResolvedConfig } from './config.js';
import { heldKey, producerStateKey } from './keys.js';
import type { TopicState } from './topics.js';

/** One shard's accumulator plus its scheduling state. */
export class ShardState {
  readonly acc: ShardAccumulator<SendAck>;
  /** Pending linger timer (setTimeout) or end-of-tick send (setImmediate). */
  timer: NodeJS.Timeout | undefined;
  immediate: NodeJS.Immediate | undefined;
  /**
   * A batch that failed with its reply lost. The next batch waits until `check-batch` settles it
   * (landed, or fenced so it never will), which keeps the replay check exact.
   */
  unsettled: { seq: number; count: number } | undefined;
  /** The shard's last park: the next one starts after it, so parks keep the shard's order. */
  parking: Promise<unknown> = Promise.resolve();
  /** `{stream}:p:<sessionId>`: this producer session's idempotence state on the shard. */
  readonly stateKey: string;
  /** Parks of this shard's batches not yet finished (each holds the shard's parking order). */
  parksPending = 0;
  /** Since when (monotonic ms) the shard holds nothing and waits for nothing; undefined while in use. */
  idleSince: number | undefined;

  constructor(
    readonly topic: TopicState<ShardState>,
    readonly shard: number,
    readonly stream: string,
    sessionId: string,
    config: ResolvedConfig,
    now: () => number,
    nextSeq: () => number,
  ) {
    this.acc = new ShardAccumulator(config, now, nextSeq);
    this.stateKey = heldKey(producerStateKey(stream, sessionId));
  }

  /**
   * Nothing buffered, scheduled, in flight, unsettled or being parked: forgetting this state loses
   * nothing (the sequence numbers come from the session, not from the shard).
   */
  isQuiescent(): boolean {
    const acc = this.acc;
    return acc.isEmpty() && !acc.scheduled && acc.inFlight === undefined && this.unsettled === undefined && this.parksPending === 0 && this.timer === undefined && this.immediate === undefined;
  }

  cancelTimers(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
  }
}
