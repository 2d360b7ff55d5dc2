import { integerFlag, booleanFlag, topicFlag } from '../args.js';
import type { Command, CommandContext } from '../command.js';
import { entryLine, viewEntry } from '../entry-view.js';
import { EXIT } from '../exit-codes.js';
import { println } from '../io.js';
import { ShardReader } from '../shard-reader.js';
import { newest, sortEntries, type ShardEntry } from '../stream-ids.js';
import { requireShards } from '../topic-meta.js';

/** Most entries one poll reads per shard while following; more simply wait for the next poll. */
const FOLLOW_PAGE = 1_000;

export const tail: Command = {
  path: ['tail'],
  summary: "Print a topic's newest entries across its shards, in id order",
  usage: '--topic <name> [--count <n>] [--follow]',
  description: [
    "Reads the newest entries of every shard of the topic (the shard count comes from the topic's",
    'metadata) and prints the newest --count of them, oldest first, one per line:',
    '  <id> shard=<n> [key=<key>] [h:<header>=<value>…] [encoding=<codec>]  <value>',
    'A compressed value is printed decompressed; one that cannot be read, as stored with unreadable=<code>.',
    'With --json, one JSON object per line: {"id","shard","stream","key","headers","value","encoding"?}.',
    'With --follow, keeps printing new entries as they arrive (polling every shard every --interval-ms;',
    "each poll's entries in id order) until interrupted (Ctrl-C, exit 0).",
  ].join('\n'),
  options: {
    topic: { type: 'string', value: '<name>', description: 'Topic to read (required)' },
    count: { type: 'string', short: 'n', value: '<n>', description: 'How many of the newest entries to print first (default 10; 0 with --follow: only new ones)' },
    follow: { type: 'boolean', short: 'f', description: 'Keep printing new entries until interrupted' },
    'interval-ms': { type: 'string', value: '<ms>', description: 'With --follow: how often to poll the shards (default 200)' },
  },
  examples: ['rsp tail --topic demo', 'rsp tail --topic orders -n 100 --json | jq .value', 'rsp tail --topic orders --follow'],
  run: runTail,
};

async function runTail(ctx: CommandContext): Promise<number> {
  const { args, io, namespace } = ctx;
  const topic = topicFlag(args);
  const count = integerFlag(args, 'count', { min: 0, max: 100_000 }) ?? 10;
  const follow = booleanFlag(args, 'follow');
  const intervalMs = integerFlag(args, 'interval-ms', { min: 10, max: 60_000 }) ?? 200;
  const client = await ctx.redis();
  const shards = await requireShards(client, namespace, topic);
  const reader = new ShardReader(client, namespace, topic, shards);
  const print = (entries: ShardEntry[]) => {
    for (const entry of entries) {
      const view = viewEntry(entry, reader.streams[entry.shard]!);
      println(io.stdout, ctx.json ? JSON.stringify(view) : entryLine(view));
    }
  };

  const perShard = await reader.newestPerShard(count);
  print(newest(perShard.flat(), count));
  if (!follow) return EXIT.ok;

  // Each shard's newest id, printed or not: following starts after it.
  const after = perShard.map((entries) => entries[0]?.id ?? '0-0');
  let stop: () => void = () => undefined;
  const interrupted = new Promise<void>((resolve) => (stop = resolve));
  const stopListening = io.onInterrupt(() => stop());
  try {
    for (;;) {
      const fresh = sortEntries(await reader.since(after, FOLLOW_PAGE));
      for (const entry of fresh) after[entry.shard] = entry.id;
      print(fresh);
      const next = await Promise.race([interrupted.then(() => 'stop' as const), sleep(intervalMs)]);
      if (next === 'stop') return EXIT.ok;
    }
  } finally {
    stopListening();
  }
}

function sleep(ms: number): Promise<'tick'> {
  return new Promise((resolve) => setTimeout(() => resolve('tick'), ms));
}
