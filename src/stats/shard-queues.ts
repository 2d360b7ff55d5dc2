import type { SenderTopic } from '../sender.js';
import type { ShardQueue } from './collector.js';

/** Each used shard's queued and in-flight records, read from the sender's accumulators (snapshot time only). */
export function* shardQueues(topics: Iterable<SenderTopic>): Generator<ShardQueue> {
  for (const topic of topics) {
    for (const state of topic.shardStates) {
      if (state === undefined) continue;
      const inFlight = state.acc.inFlight;
      let queuedRecords = 0;
      let queuedBytes = 0;
      for (const batch of state.acc.pending()) {
        if (batch === inFlight) continue;
        queuedRecords += batch.count;
        queuedBytes += batch.bytes;
      }
      yield { topic: topic.name, shard: state.shard, stream: state.stream, queuedRecords, queuedBytes, inFlightRecords: inFlight?.count ?? 0 };
    }
  }
}
