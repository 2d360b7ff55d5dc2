import { execFile, fork } from 'node:child_process';
import { cpSync } from 'node:fs';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import type { MemoryJob, MemoryResult } from './memory.js';
import type { LatencyJob, LoneLatency } from './lone-latency.js';
import type { CaseJob, CaseResult, ChildMessage } from './run-case.js';

const root = fileURLToPath(new URL('..', import.meta.url));
let compiled: Promise<string> | undefined;

/**
 * Compiles `src/` and `bench/` once per benchmark run into `.bench-build/` and returns the path
 * of the compiled `run-case.js`. Cases run as plain JavaScript, as users run the package: under
 * the tsx loader the same code measured up to 1.7× slower in the promise-heavy cases (awaited
 * sends) and less in the others, which skewed the ratios (docs/decisions.md).
 */
export function compiledRunCase(): Promise<string> {
  compiled ??= (async () => {
    const tsc = fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url));
    await promisify(execFile)(process.execPath, [tsc, '-p', 'tsconfig.bench.json'], { cwd: root }).catch((err: Error & { stdout?: string }) => {
      throw new Error(`compiling the benchmark (tsc -p tsconfig.bench.json) failed:\n${err.stdout ?? err.message}`);
    });
    // src/scripts.ts reads its Lua files from ../lua relative to itself.
    cpSync(`${root}/lua`, `${root}/.bench-build/lua`, { recursive: true });
    cpSync(`${root}/bench/lua`, `${root}/.bench-build/bench/lua`, { recursive: true });
    return `${root}/.bench-build/bench/run-case.js`;
  })();
  return compiled;
}

/**
 * Runs a job of the compiled `run-case.ts` in a fresh Node process (with `--expose-gc`) and
 * resolves with its result; `onProgress` hears the records done so far, a few times a second.
 */
export function runChild(job: CaseJob, onProgress?: (done: number) => void): Promise<CaseResult>;
export function runChild(job: MemoryJob, onProgress?: (done: number) => void): Promise<MemoryResult>;
export function runChild(job: LatencyJob, onProgress?: (done: number) => void): Promise<LoneLatency[]>;
export function runChild(job: CaseJob | MemoryJob | LatencyJob, onProgress?: (done: number) => void): Promise<CaseResult | MemoryResult | LoneLatency[]> {
  return compiledRunCase().then((script) => forkCase(script, job, onProgress));
}

function forkCase(script: string, job: CaseJob | MemoryJob | LatencyJob, onProgress?: (done: number) => void): Promise<CaseResult | MemoryResult | LoneLatency[]> {
  return new Promise((resolve, reject) => {
    const child = fork(script, [JSON.stringify(job)], { cwd: root, execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let settled = false;
    child.on('message', (m: ChildMessage) => {
      if (m.type === 'progress') onProgress?.(m.done);
      else if (m.type === 'result') {
        settled = true;
        resolve(m.result);
      } else {
        settled = true;
        reject(new Error(m.message));
      }
    });
    child.on('error', (err) => {
      if (!settled) reject(err);
      settled = true;
    });
    child.on('exit', (code, signal) => {
      if (!settled) reject(new Error(`benchmark child for ${job.kind === 'case' ? `case ${job.caseId}` : 'the memory run'} exited (${signal ?? code}) without a result`));
      settled = true;
    });
  });
}
