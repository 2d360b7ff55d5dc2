/**
 * The invariant every fault test checks: each acknowledged record is in its stream
 * exactly once; each other record is in the stream, in the compensation store or in the journal;
 * nothing is lost, nothing is duplicated.
 */
import type { AdminClient } from './helpers.js';
import { expect } from 'vitest';
import type { Producer, SendAck } from '../../src/index.js';
import { eventually } from './helpers.js';

/** How many times each value occurs across all shards of a topic. */
export async function valuesInStreams(admin: AdminClient, namespace: string, topic: string, shards: number): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  for (let shard = 0; shard < shards; shard++) {
    for (const [, fields] of (await admin.xrange(`{${namespace}:${topic}:${shard}}`, '-', '+')) as [string, string[]][]) {
      const value = fields[fields.indexOf('payload') + 1]!;
      seen.set(value, (seen.get(value) ?? 0) + 1);
    }
  }
  return seen;
}

export interface InvariantInput {
  admin: AdminClient;
  producer: Producer;
  namespace: string;
  topic: string;
  shards: number;
  /** Every value sent (unique), and the ack each send resolved with (undefined if it rejected). */
  sent: { value: string; ack: SendAck | undefined }[];
}

/**
 * Replays until nothing is parked (or `timeoutMs`), then checks: every value is in the streams
 * exactly once, and every `delivered` ack's id is where it says.
 */
export async function expectNothingLostNothingDuplicated(input: InvariantInput, timeoutMs = 20_000): Promise<void> {
  const { admin, producer, namespace, topic, shards, sent } = input;
  await eventually(
    async () => {
      // A round does nothing until the producer is connected again: wait for that first.
      if (
        !(await producer.connect().then(
          () => true,
          () => false,
        ))
      )
        return false;
      await producer.compensation.replayNow().catch(() => undefined);
      const stats = await producer.compensation.stats(topic).catch(() => undefined);
      const journaled = await producer.compensation.journaled();
      return stats !== undefined && stats.pending === 0 && stats.dead === 0 && journaled === 0;
    },
    'every parked record replayed (Redis store and local journal empty)',
    timeoutMs,
  );
  const seen = await valuesInStreams(admin, namespace, topic, shards);
  const lost = sent.filter((s) => !seen.has(s.value)).map((s) => s.value);
  const duplicated = [...seen].filter(([, n]) => n > 1).map(([v, n]) => `${v}×${n}`);
  const unknown = [...seen.keys()].filter((v) => !sent.some((s) => s.value === v));
  expect({ lost, duplicated, unknown }).toEqual({ lost: [], duplicated: [], unknown: [] });
  for (const { value, ack } of sent) {
    if (ack?.status !== 'delivered') continue;
    const entries = (await admin.xrange(ack.stream, ack.id, ack.id)) as [string, string[]][];
    expect(entries[0]?.[1][entries[0][1].indexOf('payload') + 1], `delivered ack of ${value}`).toBe(value);
  }
}
