/**
 * Runs rounds one after the other on servers started once (restarted when a round breaks them),
 * printing a line per round and the details of every failed check.
 */
import { execFileSync } from 'node:child_process';
import { makeSchedule, QUICK_SEED, QUICK_SET, type Schedule, type Target } from './schedule.js';
import { runRound, type RoundResult } from './round.js';
import { ClusterEnv, StandaloneEnv, type Env } from './servers.js';

export interface SuiteOptions {
  seed: number;
  /** First round number (to rerun one round of a longer run). */
  start: number;
  rounds: number;
  target: Target | 'both';
  /** The fixed CI set instead of seed/target: QUICK_SET[start .. start + rounds). */
  quick: boolean;
}

export interface SuiteResult {
  rounds: number;
  failed: { schedule: Schedule; result: RoundResult }[];
}

function schedules(o: SuiteOptions): Schedule[] {
  if (o.quick) {
    return QUICK_SET.slice(o.start, o.start + o.rounds).map((q, i) => makeSchedule(QUICK_SEED, o.start + i, q.target, { quick: true, kinds: q.kinds }));
  }
  return Array.from({ length: o.rounds }, (_, i) => {
    const round = o.start + i;
    const target: Target = o.target === 'both' ? (round % 2 === 0 ? 'standalone' : 'cluster') : o.target;
    return makeSchedule(o.seed, round, target);
  });
}

export function rerunCommand(s: Schedule, quick: boolean): string {
  return quick ? `npm run chaos -- --quick --start ${s.round} --rounds 1` : `npm run chaos -- --seed ${s.seed} --start ${s.round} --rounds 1 --target ${s.target}`;
}

/** Which code ran: src/ may change between runs, so every run says so. */
function codeVersion(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src', 'lua'], { encoding: 'utf8' }).trim();
    return `${head}${dirty ? ` + uncommitted changes in ${dirty.split('\n').length} file(s) of src/ or lua/` : ''}`;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

export async function runSuite(options: SuiteOptions, log: (line: string) => void = console.log): Promise<SuiteResult> {
  log(`chaos: ${options.quick ? 'quick set' : `seed ${options.seed}, rounds ${options.start}..${options.start + options.rounds - 1}, target ${options.target}`}; code at ${codeVersion()}`);
  const envs: Partial<Record<Target, Env>> = {};
  const failed: SuiteResult['failed'] = [];
  const list = schedules(options);
  const started = performance.now();
  try {
    for (const schedule of list) {
      let env = envs[schedule.target];
      if (!env) {
        env = schedule.target === 'standalone' ? await StandaloneEnv.start() : await ClusterEnv.start();
        envs[schedule.target] = env;
      }
      const result = await runRound(env, schedule);
      log(result.line);
      for (const d of result.details) log(d);
      if (!result.ok) {
        failed.push({ schedule, result });
        log(`  rerun: ${rerunCommand(schedule, options.quick)}`);
      }
      if (result.envBroken) {
        log(`  (${schedule.target} servers restarted after this round)`);
        await env.stop().catch(() => undefined);
        delete envs[schedule.target];
      }
    }
  } finally {
    await Promise.allSettled(Object.values(envs).map((e) => e.stop()));
  }
  const secs = Math.round((performance.now() - started) / 1000);
  log(
    `\n${list.length - failed.length}/${list.length} rounds OK in ${secs}s` +
      (failed.length ? `; failed: ${failed.map((f) => `${f.schedule.target} round ${f.schedule.round} (${f.result.violations.map((v) => v.check).join(', ')})`).join('; ')}` : ''),
  );
  return { rounds: list.length, failed };
}
