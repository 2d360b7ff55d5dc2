import type { ShardState } from './shard-state.js';
import type { TopicState } from './topics.js';

/** Told what was forgotten, so the parts that keep something per topic or shard forget it too. */
export interface IdleReleaseHooks {
  shardReleased(topic: TopicState<ShardState>, shard: number): void;
  topicReleased(topic: TopicState<ShardState>): void;
}

/**
 * Forgets the state of shards that held nothing and waited for nothing for `idleMs`, then of
 * topics left without shards for `idleMs` more (Kafka's `metadata.max.idle.ms`), so a producer
 * that touches many topics over a day stays bounded. A shard's state is forgotten only when that
 * loses nothing (`ShardState.isQuiescent`); its next record starts a fresh one. Runs from the
 * sender's periodic sweep; `now` is monotonic ms.
 */
export function releaseIdle(topics: Iterable<TopicState<ShardState>>, now: number, idleMs: number, hooks: IdleReleaseHooks): void {
  const idleTopics: TopicState<ShardState>[] = [];
  for (const topic of topics) {
    let inUse = topic.checkPending;
    const states = topic.shardStates;
    for (let shard = 0; shard < states.length; shard++) {
      const state = states[shard];
      if (state === undefined) continue;
      if (!state.isQuiescent()) {
        state.idleSince = undefined;
        inUse = true;
        continue;
      }
      state.idleSince ??= now;
      if (now - state.idleSince < idleMs) {
        inUse = true;
        continue;
      }
      states[shard] = undefined;
      hooks.shardReleased(topic, shard);
    }
    if (inUse) {
      topic.idleSince = undefined;
      continue;
    }
    topic.idleSince ??= now;
    if (now - topic.idleSince >= idleMs) idleTopics.push(topic);
  }
  for (const topic of idleTopics) hooks.topicReleased(topic);
}
