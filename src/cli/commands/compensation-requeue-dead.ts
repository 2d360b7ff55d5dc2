import { stringList, topicFlag } from '../args.js';
import type { Command } from '../command.js';
import { withCompensation } from '../compensation-producer.js';
import { EXIT } from '../exit-codes.js';
import { println } from '../io.js';
import { formatCount } from '../progress.js';

export const compensationRequeueDead: Command = {
  path: ['compensation', 'requeue-dead'],
  summary: 'Move dead letters back to be replayed (after fixing what made them fail)',
  usage: '--topic <name> [--id <entry id> …] [--json]',
  description: [
    'Moves every dead letter of the topic (or only the --id entries) back to the pending records, due now',
    'and with their attempts reset (producer.compensation.requeueDead). The next replay round, a running',
    'producer\'s or "rsp compensation replay", publishes them.',
  ].join('\n'),
  options: {
    topic: { type: 'string', value: '<name>', description: 'Topic (required)' },
    id: { type: 'string', multiple: true, value: '<entry id>', description: 'Requeue only these dead letters (repeatable)' },
  },
  examples: ['rsp compensation requeue-dead --topic orders && rsp compensation replay --topic orders'],
  async run(ctx) {
    const topic = topicFlag(ctx.args);
    const ids = stringList(ctx.args, 'id');
    const moved = await withCompensation(ctx, topic, (p) => p.compensation.requeueDead(topic, ids.length > 0 ? ids : undefined));
    if (ctx.json) println(ctx.io.stdout, JSON.stringify({ topic, namespace: ctx.namespace, requeued: moved }));
    else println(ctx.io.stdout, `moved ${formatCount(moved)} dead letters of topic "${topic}" back to be replayed`);
    return EXIT.ok;
  },
};
