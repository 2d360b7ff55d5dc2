import { topicFlag } from '../args.js';
import type { Command } from '../command.js';
import { JOURNAL_DIR_OPTION, withCompensation } from '../compensation-producer.js';
import { EXIT } from '../exit-codes.js';
import { println } from '../io.js';
import { formatCount } from '../progress.js';

export const compensationReplay: Command = {
  path: ['compensation', 'replay'],
  summary: 'Run one replay round now: parked records that are due go back to their streams',
  usage: '--topic <name> [--json]',
  description: [
    "One round of the library's replayer (producer.compensation.replayNow): it first moves records of the",
    'namespace from the local journal into Redis, then replays every due record of every topic with',
    'parked records (a round is namespace-wide, like the background replayer), and shows what it did',
    'and what is left for --topic. Records that are not due yet (backing off after a failed attempt)',
    'wait for a later round. Exit 3 when some records failed again.',
  ].join('\n'),
  options: {
    topic: { type: 'string', value: '<name>', description: 'Topic whose remaining parked records to show (required)' },
    'journal-dir': JOURNAL_DIR_OPTION,
  },
  examples: ['rsp compensation replay --topic orders'],
  async run(ctx) {
    const topic = topicFlag(ctx.args);
    const [round, left] = await withCompensation(ctx, topic, async (p) => {
      const r = await p.compensation.replayNow();
      return [r, await p.compensation.stats(topic)] as const;
    });
    const code = round.retryLater + round.deadLettered > 0 ? EXIT.undelivered : EXIT.ok;
    if (ctx.json) {
      println(ctx.io.stdout, JSON.stringify({ namespace: ctx.namespace, round, topic, left: { pending: left.pending, due: left.due, dead: left.dead }, exitCode: code }));
      return code;
    }
    const f = formatCount;
    println(
      ctx.io.stdout,
      `replayed ${f(round.replayed)} · already delivered ${f(round.alreadyDelivered)} · failed again ${f(round.retryLater)} · dead-lettered ${f(round.deadLettered)} · moved from the local journal ${f(round.drained)}`,
    );
    println(ctx.io.stdout, `topic "${topic}" now: ${f(left.pending)} pending (${f(left.due)} due) · ${f(left.dead)} dead`);
    return code;
  },
};
