import { spawn, type ChildProcess } from 'node:child_process';

/** What an example printed (stdout and stderr interleaved) and how it exited. */
export interface ExampleRun {
  code: number | null;
  out: string;
}

export interface ExampleOptions {
  args?: string[];
  /** Variables on top of this process's environment, e.g. `REDIS_URL` of the test Redis. */
  env?: Record<string, string | undefined>;
  /** Called with everything printed so far, each time the example prints. */
  onOutput?: (out: string, child: ChildProcess) => void;
  /** Killed (SIGKILL) after this long, so a hanging example fails its test instead of the run. */
  timeoutMs?: number;
}

/** Runs `examples/<file>` as a user would (node with tsx) and resolves when it exits. */
export function runExample(file: string, options: ExampleOptions = {}): Promise<ExampleRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', `examples/${file}`, ...(options.args ?? [])], {
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    const collect = (d: Buffer) => {
      out += d.toString();
      options.onOutput?.(out, child);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}
