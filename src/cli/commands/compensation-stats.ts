import { topicFlag } from '../args.js';
import type { Command } from '../command.js';
import { JOURNAL_DIR_OPTION, withCompensation } from '../compensation-producer.js';
import { EXIT } from '../exit-codes.js';
import { println } from '../io.js';
import { formatCount } from '../progress.js';

export const compensationStats: Command = {
  path: ['compensation', 'stats'],
  summary: "Count a topic's parked records: pending, due, dead letters (and the local journal)",
  usage: '--topic <name> [--json]',
  description: [
    'Parked records are those a producer could not deliver (producer.compensation.stats). "due" ones',
    'are ready for the next replay round; dead letters gave up after compensation.maxAttempts.',
    '"journal" counts records of the namespace waiting in the local journal directory of this machine.',
  ].join('\n'),
  options: {
    topic: { type: 'string', value: '<name>', description: 'Topic (required)' },
    'journal-dir': JOURNAL_DIR_OPTION,
  },
  examples: ['rsp compensation stats --topic orders'],
  async run(ctx) {
    const topic = topicFlag(ctx.args);
    const [stats, journaled] = await withCompensation(ctx, topic, (p) => Promise.all([p.compensation.stats(topic), p.compensation.journaled()]));
    const oldestParkedAt = stats.oldestParkedAt === undefined ? null : new Date(stats.oldestParkedAt).toISOString();
    if (ctx.json) {
      println(ctx.io.stdout, JSON.stringify({ topic, namespace: ctx.namespace, pending: stats.pending, due: stats.due, dead: stats.dead, oldestParkedAt, journaled }));
      return EXIT.ok;
    }
    println(
      ctx.io.stdout,
      `topic "${topic}" (namespace "${ctx.namespace}"): ${formatCount(stats.pending)} pending (${formatCount(stats.due)} due${oldestParkedAt ? `, oldest parked at ${oldestParkedAt}` : ''}) · ${formatCount(stats.dead)} dead`,
    );
    println(ctx.io.stdout, `local journal of the namespace: ${formatCount(journaled)} records`);
    return EXIT.ok;
  },
};
