import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { redisUrl } from '../../support/helpers.js';

interface Run {
  code: number | null;
  out: string;
}

/** Runs an example as a user would (through tsx) against the test Redis. */
function runExample(file: string, args: string[] = [], onOutput?: (out: string, kill: (s: NodeJS.Signals) => void) => void): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', `examples/${file}`, ...args], {
      env: { ...process.env, REDIS_URL: redisUrl() },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const collect = (d: Buffer) => {
      out += d.toString();
      onOutput?.(out, (s) => child.kill(s));
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

describe('examples run with one command', () => {
  it('quickstart', async () => {
    const { code, out } = await runExample('quickstart.ts');
    expect(out).toMatch(/send {7}→ delivered to \{demo:orders:\d\} as \d+-\d+/);
    expect(out).toMatch(/produce {4}→ 10000 records delivered/);
    expect(code, out).toBe(0);
  });

  it('awaited sends', async () => {
    const { code, out } = await runExample('awaited-sends.ts');
    expect(out).toMatch(/200 callers awaited 10000 sends/);
    expect(code, out).toBe(0);
  });

  it('firehose', async () => {
    const { code, out } = await runExample('firehose.ts', ['50000']);
    expect(out).toMatch(/delivered 50000, failed batches 0/);
    expect(code, out).toBe(0);
  });

  it('keyed ordering', async () => {
    const { code, out } = await runExample('keyed-ordering.ts');
    expect(out.match(/in order/g)).toHaveLength(3);
    expect(code, out).toBe(0);
  });

  it('graceful shutdown on SIGTERM loses nothing', async () => {
    let signalled = false;
    const { code, out } = await runExample('graceful-shutdown.ts', [], (text, kill) => {
      if (!signalled && text.includes('send SIGTERM')) {
        signalled = true;
        setTimeout(() => kill('SIGTERM'), 300);
      }
    });
    expect(out).toMatch(/SIGTERM: closing/);
    expect(out).toMatch(/closed cleanly: produced (\d+), delivered \1\b/);
    expect(code, out).toBe(0);
  });
});
