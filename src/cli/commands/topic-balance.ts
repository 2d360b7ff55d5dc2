import { Cluster } from 'ioredis';
import { balanceTopic } from '../../admin/balance.js';
import { describeBalance, describeMove } from '../../admin/report.js';
import { checkName, booleanFlag, integerFlag } from '../args.js';
import type { Command, CommandContext } from '../command.js';
import { CliFailure } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { println } from '../io.js';

export const topicBalance: Command = {
  path: ['topic', 'balance'],
  summary: "Spread a topic's shards evenly over a cluster's masters by moving their slots (plan; apply with --execute)",
  usage: '<topic> [--execute] [--shards <n>] [--json]',
  positionals: ['topic'],
  description: [
    "Redis Cluster only. Prints how the topic's shards (hence its records) spread over the masters and",
    'the fewest slot moves that make shards per master differ by at most one (6/5/5 for 16 shards on 3',
    'masters). With --execute, moves those slots online (producers keep writing) and prints the spread',
    'read back from the cluster. Whole slots move: other keys in them move too. See docs/cluster-balance.md.',
  ].join('\n'),
  options: {
    execute: { type: 'boolean', description: 'Run the plan (default: only print it)' },
    shards: { type: 'string', value: '<n>', description: "The topic's shard count when no producer recorded it yet" },
  },
  examples: ['rsp topic balance orders --cluster 10.0.0.1:7000', 'rsp topic balance orders --cluster 10.0.0.1:7000 --execute'],
  run: runBalance,
};

async function runBalance(ctx: CommandContext): Promise<number> {
  const { io, namespace } = ctx;
  const topic = checkName('<topic>', ctx.args.positionals[0]!, { topic: true });
  const execute = booleanFlag(ctx.args, 'execute');
  const shards = integerFlag(ctx.args, 'shards', { min: 1, max: 16_384 });
  const client = await ctx.redis();
  if (!(client instanceof Cluster)) throw new CliFailure('topic balance needs Redis Cluster (pass `--cluster host:port,…` or set REDIS_CLUSTER_NODES): one server has no slots to move');
  const result = await balanceTopic(client, {
    namespace,
    topic,
    execute,
    ...(shards === undefined ? {} : { shards }),
    onProgress: (p) => {
      if (p.phase === 'done') println(io.stderr, `moved ${p.index + 1}/${p.total}: ${describeMove(p.move, p.addresses)} (${p.keys} keys)`);
    },
  });
  if (ctx.json)
    println(
      io.stdout,
      JSON.stringify(result, (_k, v: unknown) => (v === Infinity ? 'Infinity' : v)),
    );
  else println(io.stdout, describeBalance(result));
  return EXIT.ok;
}
