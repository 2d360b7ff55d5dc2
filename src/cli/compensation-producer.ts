import { withDeadline } from '../connection.js';
import { compensationTopicsKey } from '../keys.js';
import { Producer } from '../producer.js';
import { stringFlag } from './args.js';
import type { CommandContext, OptionSpec } from './command.js';
import { storedShards } from './topic-meta.js';

/** `--journal-dir`, shared by the compensation commands that read or drain the local journal. */
export const JOURNAL_DIR_OPTION: OptionSpec = {
  type: 'string',
  value: '<dir>',
  description: "Local journal directory, as the producers' compensation.journalDir (default: the library's)",
};

/**
 * A producer on the command's connection for `producer.compensation.*`, with background replay off.
 * Replaying republishes records, so every topic with parked records is configured with the shard
 * count recorded in its metadata (otherwise the producer's default would be refused).
 */
export async function compensationProducer(ctx: CommandContext, topic: string): Promise<Producer> {
  const client = await ctx.redis();
  const parkedTopics = await withDeadline(client.smembers(compensationTopicsKey(ctx.namespace)), 5_000, 'SMEMBERS compensation topics');
  const topics: Record<string, { shards: number }> = {};
  for (const name of new Set([topic, ...parkedTopics])) {
    const shards = await storedShards(client, ctx.namespace, name);
    if (shards !== undefined) topics[name] = { shards };
  }
  const journalDir = stringFlag(ctx.args, 'journal-dir');
  return new Producer({
    redis: client,
    namespace: ctx.namespace,
    topics,
    compensation: { replay: { enabled: false }, ...(journalDir === undefined ? {} : { journalDir }) },
  });
}

/** Runs `work` with a compensation producer and closes it afterwards. */
export async function withCompensation<T>(ctx: CommandContext, topic: string, work: (producer: Producer) => Promise<T>): Promise<T> {
  const producer = await compensationProducer(ctx, topic);
  try {
    return await work(producer);
  } finally {
    await producer.close();
  }
}
