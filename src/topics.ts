import { LEVELS, type CompressionSettings } from './compression.js';
import type { ResolvedConfig } from './config.js';
import { TopicConfigError } from './errors.js';
import { heldKey, streamKey, topicMetaKey } from './keys.js';
import { NO_TRIM, type TrimArgs } from './scripts.js';

/** What the producer knows about one topic: shard count, stream keys, trimming, metadata check. */
export class TopicState<S> {
  /** Stream key of each shard, built once. */
  readonly streams: readonly string[];
  readonly metaKey: string;
  /** Per-shard state owned by the sender, created on first use. */
  readonly shardStates: (S | undefined)[];
  /** Set once Redis's recorded shard count is known to disagree; every later record fails with it. */
  error: TopicConfigError | undefined;
  /** Since when (monotonic ms) the topic has no shard state; see `releaseIdle`. */
  idleSince: number | undefined;
  private checked = false;
  private checking: Promise<void> | undefined;

  constructor(
    readonly name: string,
    readonly shards: number,
    readonly trim: TrimArgs,
    namespace: string,
    /** How this topic's values are compressed; undefined: stored as they are. */
    readonly compression: CompressionSettings | undefined = undefined,
  ) {
    this.streams = Array.from({ length: shards }, (_, shard) => heldKey(streamKey(namespace, name, shard)));
    this.metaKey = heldKey(topicMetaKey(namespace, name));
    this.shardStates = new Array<S | undefined>(shards);
  }

  /** The shard-count check is running. */
  get checkPending(): boolean {
    return this.checking !== undefined;
  }

  /**
   * Makes sure Redis records this topic with our shard count (storing it on first use).
   * `read` runs the check; a failed call (Redis unreachable) is simply tried again next time.
   */
  ensureChecked(read: (metaKey: string, shards: number) => Promise<number>): Promise<void> | undefined {
    if (this.checked) return undefined;
    if (this.error) return Promise.reject(this.error);
    this.checking ??= read(this.metaKey, this.shards).then(
      (stored) => {
        this.checking = undefined;
        if (stored !== this.shards) {
          this.error = new TopicConfigError(this.name, this.shards, stored);
          throw this.error;
        }
        this.checked = true;
      },
      (err: unknown) => {
        this.checking = undefined;
        throw err;
      },
    );
    return this.checking;
  }
}

function trimArgs(trim: ResolvedConfig['trim'] | null): TrimArgs {
  if (!trim) return NO_TRIM;
  return [trim.strategy === 'maxlen' ? 'MAXLEN' : 'MINID', trim.exact ? '=' : '~', String(trim.threshold)];
}

/** The trim arguments of `topic`: its own override, else the producer-wide `trim`. */
export function trimFor(config: Pick<ResolvedConfig, 'topics' | 'trim'>, topic: string): TrimArgs {
  const override = config.topics[topic];
  return trimArgs(override?.trim === undefined ? config.trim : override.trim);
}

/** The compression of `topic`: its own setting, else the producer-wide one; undefined for `none`. */
export function compressionFor(config: Pick<ResolvedConfig, 'topics' | 'compression'>, topic: string): CompressionSettings | undefined {
  const { codec, minBytes, level } = config.topics[topic]?.compression ?? config.compression;
  return codec === 'none' ? undefined : { codec, minBytes, level: level ?? LEVELS[codec].default };
}

/** Creates topic states on first use, from the per-topic overrides or the defaults. */
export class TopicRegistry<S> {
  private readonly topics = new Map<string, TopicState<S>>();

  constructor(private readonly config: Pick<ResolvedConfig, 'namespace' | 'defaultShards' | 'topics' | 'trim' | 'compression'>) {}

  get(name: string): TopicState<S> {
    let topic = this.topics.get(name);
    if (topic === undefined) {
      const override = this.config.topics[name];
      topic = new TopicState<S>(name, override?.shards ?? this.config.defaultShards, trimFor(this.config, name), this.config.namespace, compressionFor(this.config, name));
      this.topics.set(name, topic);
    }
    return topic;
  }

  all(): IterableIterator<TopicState<S>> {
    return this.topics.values();
  }

  /** Forgets an idle topic; its next use creates it anew (and checks its shard count again). */
  release(topic: TopicState<S>): void {
    if (this.topics.get(topic.name) === topic) this.topics.delete(topic.name);
  }
}
