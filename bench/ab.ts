/**
 * Paired A/B of two revisions of the producer, for changes smaller than this machine's noise.
 * Builds each revision's `src/` into `.bench-build/ab/<name>/` (compiled JavaScript, as users run
 * it), then runs both in ONE Node process, alternating short rounds (A B, B A, A B, …) so a slow
 * phase of the machine hits both alike, and prints the median of the per-round ratios B ÷ A and
 * in how many rounds B came out ahead. Run with `npm run bench:ab -- <rev-A> [<rev-B>]` or
 * `npx tsx bench/ab.ts <rev-A> [<rev-B>] [flags]`.
 *
 *   <rev-A>, <rev-B>  git revisions (commit, branch, tag); rev-B defaults to the working tree
 *   --case C      c1000 (1000 callers awaiting send(), default), c100, c1 (the same with 100
 *                 callers and with one: use fewer --records), sb (10 callers awaiting sendBatch
 *                 of 100) or ff (produce() + flush())
 *   --rounds N    paired rounds (default 16)
 *   --records N   records per round and side (default 100000)
 *   --headers N   headers per record, 0–4 (default 0), as `npm run bench -- --headers`
 *   --value-bytes N  bytes per value (default 100)
 *
 * Uses `REDIS_URL` when set (each round writes to a namespace of its own, checks its stream
 * lengths and deletes it), else starts a throwaway redis-server. An A/A run (the same revision
 * twice) shows the noise floor; on the 2-core machines here the median ratio of an A/A run was
 * within ±4 %.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startRedisServer, type ServerProcess } from '../test/support/redis-server.js';
import type { AbCase, AbJob, AbResult } from './ab-child.js';
import { compiledRunCase } from './child.js';
import { Flags, UsageError } from './flags.js';
import { summarisePairs, type PairedSummary } from './report.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const run = promisify(execFile);
const CASES: readonly AbCase[] = ['c1000', 'c100', 'c1', 'sb', 'ff'];
/** What a revision needs to build and run: its sources, its scripts and its module settings. */
const BUILD_INPUTS = ['src', 'lua', 'tsconfig.json', 'package.json'];

/**
 * Compiles one revision's `src/` into `.bench-build/ab/<name>/dist` and returns its entry point.
 * The build lives inside the checkout, so it resolves the checkout's `node_modules`.
 */
async function buildRevision(rev: string | undefined, name: string): Promise<string> {
  const dir = resolve(root, '.bench-build/ab', name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  if (rev === undefined) {
    for (const input of BUILD_INPUTS) cpSync(resolve(root, input), resolve(dir, input), { recursive: true });
  } else {
    // git archive | tar: the revision's files, without touching the working tree.
    const archive = spawn('git', ['archive', '--format=tar', rev, ...BUILD_INPUTS], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    const tar = spawn('tar', ['-x', '-C', dir], { stdio: ['pipe', 'ignore', 'pipe'] });
    let errors = '';
    archive.stderr.on('data', (d: Buffer) => (errors += d.toString()));
    tar.stderr.on('data', (d: Buffer) => (errors += d.toString()));
    archive.stdout.pipe(tar.stdin);
    const exited = (p: ChildProcess) => new Promise<number | null>((done) => p.on('close', done));
    const codes = await Promise.all([exited(archive), exited(tar)]);
    if (codes.some((c) => c !== 0)) throw new UsageError(`cannot read revision ${JSON.stringify(rev)} from git: ${errors.trim() || `exit codes ${codes.join(', ')}`}`);
  }
  const tsc = resolve(root, 'node_modules/typescript/bin/tsc');
  const options = ['--outDir', 'dist', '--rootDir', 'src', '--declaration', 'false', '--sourceMap', 'false', '--noEmit', 'false'];
  await run(process.execPath, [tsc, '--project', 'tsconfig.json', ...options], { cwd: dir }).catch((err: Error & { stdout?: string }) => {
    throw new Error(`compiling ${rev ?? 'the working tree'} failed:\n${err.stdout ?? err.message}`);
  });
  return resolve(dir, 'dist/index.js');
}

function line(label: string, s: PairedSummary, digits: number, lowerIsBetter: boolean): string {
  const better = lowerIsBetter ? s.rounds - s.bAbove : s.bAbove;
  return `${label.padEnd(18)} A ${s.medianA.toFixed(digits).padStart(10)}   B ${s.medianB.toFixed(digits).padStart(10)}   B ÷ A ${s.medianRatio.toFixed(3)}   B better in ${better} of ${s.rounds} rounds`;
}

async function main(): Promise<void> {
  // Positional revisions first, then the flags (`--name value` or `--name=value`).
  const flags = new Flags(process.argv.slice(2), { case: 'string', rounds: 'string', records: 'string', headers: 'string', 'value-bytes': 'string' }, import.meta.url, true);
  const positional = flags.positionals;
  const caseId = (flags.string('case') ?? 'c1000') as AbCase;
  if (!CASES.includes(caseId)) throw new UsageError(`--case must be one of ${CASES.join(', ')}, got ${JSON.stringify(caseId)}`);
  const rounds = flags.int('rounds', 16);
  const records = flags.int('records', 100_000);
  const headers = flags.int('headers', 0, 0);
  if (headers > 4) throw new UsageError(`--headers must be 0–4, got ${headers}`);
  const valueBytes = flags.int('value-bytes', 100);
  if (positional.length < 1 || positional.length > 2)
    throw new UsageError('usage: npx tsx bench/ab.ts <rev-A> [<rev-B>] [--case c1000|c100|c1|sb|ff] [--rounds N] [--records N] [--headers N] [--value-bytes N]');
  const [revA, revB] = positional as [string, string | undefined];
  const labelB = revB ?? 'working tree';

  process.stderr.write(`building A = ${revA} and B = ${labelB} …\n`);
  const [entryA, entryB, child] = await Promise.all([buildRevision(revA, 'a'), buildRevision(revB, 'b'), compiledRunCase().then((p) => resolve(p, '../ab-child.js'))]);

  let server: ServerProcess | undefined;
  let url = process.env.REDIS_URL;
  try {
    if (!url) {
      server = await startRedisServer();
      url = `redis://127.0.0.1:${server.port}`;
    }
    const job: AbJob = { entryA, entryB, url, caseId, rounds, records, headers, valueBytes };
    const { stdout } = await new Promise<{ stdout: string }>((done, fail) => {
      const proc = spawn(process.execPath, ['--expose-gc', child, JSON.stringify(job)], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
      proc.on('close', (code) => (code === 0 ? done({ stdout: out }) : fail(new Error(`the A/B child exited with code ${code}`))));
    });
    const result = JSON.parse(stdout) as AbResult;
    const rps = summarisePairs(
      result.a.map((s) => s.recordsPerSec),
      result.b.map((s) => s.recordsPerSec),
    );
    const cpu = summarisePairs(
      result.a.map((s) => s.cpuUsPerRecord),
      result.b.map((s) => s.cpuUsPerRecord),
    );
    const serverCpu = summarisePairs(
      result.a.map((s) => s.serverCpuUsPerRecord),
      result.b.map((s) => s.serverCpuUsPerRecord),
    );
    process.stdout.write(
      [
        `case ${caseId}: A = ${revA}, B = ${labelB}; ${rounds} paired rounds of ${records.toLocaleString('en-US')} records (${valueBytes} B values, ${headers} headers), redis at ${url}`,
        line('records/s', rps, 0, false),
        line('client CPU µs/rec', cpu, 2, true),
        line('server CPU µs/rec', serverCpu, 2, true),
        '',
      ].join('\n'),
    );
  } finally {
    await server?.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(err instanceof UsageError ? `${err.message}\n` : `${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(err instanceof UsageError ? 2 : 1);
});
