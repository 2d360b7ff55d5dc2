import type { CompensationEntry } from '../../compensation/entry.js';
import { booleanFlag, integerFlag, topicFlag } from '../args.js';
import type { Command } from '../command.js';
import { withCompensation } from '../compensation-producer.js';
import { recordText, viewEntry } from '../entry-view.js';
import { EXIT } from '../exit-codes.js';
import { println } from '../io.js';

export const compensationList: Command = {
  path: ['compensation', 'list'],
  summary: "List a topic's parked records (or dead letters) with their last error",
  usage: '--topic <name> [--dead] [--offset <n>] [--count <n>] [--json]',
  description: [
    'Parked records in the order they are due (producer.compensation.list). Text: two lines each,',
    '  <entry id> shard=<n> attempts=<a> persisted=<not|possibly> parked=<time>',
    '      last error: <code: message>  then the record as "rsp tail" prints it.',
    'With --json, one JSON object per line.',
  ].join('\n'),
  options: {
    topic: { type: 'string', value: '<name>', description: 'Topic (required)' },
    dead: { type: 'boolean', description: 'List dead letters instead of pending records' },
    offset: { type: 'string', value: '<n>', description: 'Entries to skip (default 0)' },
    count: { type: 'string', short: 'n', value: '<n>', description: 'Most entries to list (default 100)' },
  },
  examples: ['rsp compensation list --topic orders', 'rsp compensation list --topic orders --dead --json'],
  async run(ctx) {
    const topic = topicFlag(ctx.args);
    const dead = booleanFlag(ctx.args, 'dead');
    const offset = integerFlag(ctx.args, 'offset', { min: 0, max: Number.MAX_SAFE_INTEGER }) ?? 0;
    const count = integerFlag(ctx.args, 'count', { min: 1, max: 100_000 }) ?? 100;
    const entries = await withCompensation(ctx, topic, (p) => p.compensation.list(topic, { dead, offset, count }));
    for (const entry of entries) {
      const view = viewEntry({ shard: entry.shard, id: entry.id, fields: entry.fields }, '');
      if (ctx.json) {
        println(ctx.io.stdout, JSON.stringify({ ...summary(entry), key: view.key, headers: view.headers, value: view.value, encoding: view.encoding }));
      } else {
        const s = summary(entry);
        println(ctx.io.stdout, `${s.id} shard=${s.shard} attempts=${s.attempts} persisted=${s.persisted} parked=${s.parkedAt}`);
        println(ctx.io.stdout, `    last error: ${s.lastError}`);
        println(ctx.io.stdout, `    record:${recordText(view).startsWith(' ') ? '' : ' '}${recordText(view)}`);
      }
    }
    if (!ctx.json && entries.length === 0) println(ctx.io.stdout, `no ${dead ? 'dead letters' : 'parked records'} for topic "${topic}" in namespace "${ctx.namespace}"`);
    return EXIT.ok;
  },
};

function summary(entry: CompensationEntry) {
  return {
    id: entry.id,
    topic: entry.topic,
    shard: entry.shard,
    attempts: entry.attempts,
    persisted: entry.persisted,
    parkedAt: new Date(entry.parkedAt).toISOString(),
    lastError: entry.lastError,
    producerId: entry.producerId,
    seq: entry.seq,
  };
}
