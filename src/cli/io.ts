import type { Readable, Writable } from 'node:stream';

/** The process's streams and environment, passed in so the CLI can run inside a test. */
export interface CliIo {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  /** True when stdin is a terminal (nobody piped records in). */
  stdinIsTTY: boolean;
  /** True when stderr is a terminal: only then is a progress bar drawn. */
  stderrIsTTY: boolean;
  env: NodeJS.ProcessEnv;
  /** Registers a handler for SIGINT/SIGTERM; returns a function that removes it. */
  onInterrupt(handler: () => void): () => void;
}

/** The real process. */
export function processIo(): CliIo {
  return {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    stdinIsTTY: process.stdin.isTTY === true,
    stderrIsTTY: process.stderr.isTTY === true,
    env: process.env,
    onInterrupt(handler) {
      process.on('SIGINT', handler);
      process.on('SIGTERM', handler);
      return () => {
        process.off('SIGINT', handler);
        process.off('SIGTERM', handler);
      };
    },
  };
}

/** Writes one line. */
export function println(stream: Writable, text = ''): void {
  stream.write(`${text}\n`);
}
