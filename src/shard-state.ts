import { ShardAccumulator } from './accumulator.js';
import type { SendAck } from './acks.js';
import type { ResolvedConfig } from './config.js';
import { producerStateKey } from './keys.js';
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

  constructor(
    readonly topic: TopicState<ShardState>,
    readonly shard: number,
    readonly stream: string,
    sessionId: string,
    config: ResolvedConfig,
    now: () => number,
  ) {
    this.acc = new ShardAccumulator(config, now);
    this.stateKey = producerStateKey(stream, sessionId);
  }

  cancelTimers(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
  }
}
