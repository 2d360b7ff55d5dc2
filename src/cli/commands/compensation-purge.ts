import { booleanFlag, stringList, topicFlag } from '../args.js';
import type { Command } from '../command.js';
import { withCompensation } from '../compensation-producer.js';
import { UsageError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { println } from '../io.js';
import { formatCount } from '../progress.js';

export const compensationPurge: Command = {
  path: ['compensation', 'purge'],
  summary: "Delete a topic's parked records for good: all pending, all dead letters, or given ids",
  usage: '--topic <name> (--dead | --id <entry id> … | all pending) --yes',
  description: [
    'Deletes parked records without replaying them (producer.compensation.purge): every pending one, every',
    'dead letter with --dead, or exactly the --id entries (pending or dead). They are gone: --yes is required.',
  ].join('\n'),
  options: {
    topic: { type: 'string', value: '<name>', description: 'Topic (required)' },
    dead: { type: 'boolean', description: 'Purge the dead letters instead of the pending records' },
    id: { type: 'string', multiple: true, value: '<entry id>', description: 'Purge only these entries (repeatable; ids from "rsp compensation list")' },
    yes: { type: 'boolean', short: 'y', description: 'Confirm: the records are deleted, not replayed' },
  },
  examples: ['rsp compensation purge --topic orders --dead --yes', 'rsp compensation purge --topic orders --id 3f2a…:4:17:0 --yes'],
  async run(ctx) {
    const topic = topicFlag(ctx.args);
    const dead = booleanFlag(ctx.args, 'dead');
    const ids = stringList(ctx.args, 'id');
    if (dead && ids.length > 0) throw new UsageError('`--dead` and `--id` exclude each other: --id purges those entries wherever they are');
    if (!booleanFlag(ctx.args, 'yes')) {
      throw new UsageError(
        `\`--yes\` is required: purging deletes ${ids.length > 0 ? 'the given entries' : dead ? 'every dead letter' : 'every pending record'} of topic "${topic}" without replaying it`,
      );
    }
    const deleted = await withCompensation(ctx, topic, (p) => p.compensation.purge(topic, ids.length > 0 ? { ids } : { dead }));
    if (ctx.json) println(ctx.io.stdout, JSON.stringify({ topic, namespace: ctx.namespace, deleted }));
    else println(ctx.io.stdout, `deleted ${formatCount(deleted)} parked records of topic "${topic}"`);
    return EXIT.ok;
  },
};
