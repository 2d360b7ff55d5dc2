import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { MemoryJob, MemoryResult } from './memory.js';
import type { CaseJob, CaseResult, ChildMessage } from './run-case.js';

/**
 * Runs a job of `run-case.ts` in a fresh Node process (through tsx, with `--expose-gc`) and
 * resolves with its result; `onProgress` hears the records done so far, a few times a second.
 */
export function runChild(job: CaseJob, onProgress?: (done: number) => void): Promise<CaseResult>;
export function runChild(job: MemoryJob, onProgress?: (done: number) => void): Promise<MemoryResult>;
export function runChild(job: CaseJob | MemoryJob, onProgress?: (done: number) => void): Promise<CaseResult | MemoryResult> {
  const script = fileURLToPath(new URL('./run-case.ts', import.meta.url));
  const root = fileURLToPath(new URL('..', import.meta.url));
  return new Promise((resolve, reject) => {
    // cwd = the repository, so `--import tsx` resolves from its node_modules wherever the parent was started.
    const child = fork(script, [JSON.stringify(job)], { cwd: root, execArgv: ['--import', 'tsx', '--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
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
