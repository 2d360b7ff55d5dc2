#!/usr/bin/env node
/** Entry point of the `rsp` command (bin/rsp.js loads the compiled copy of this file). */
import { processIo } from './io.js';
import { runCli } from './run.js';

// The reader went away (`rsp tail … | head -1`): what it wanted is printed, so stop quietly, as
// `cat` does, instead of dying with an EPIPE trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  process.stderr.write(`rsp: cannot write to stdout: ${err.message}\n`);
  process.exit(1);
});

const code = await runCli(process.argv.slice(2), processIo());
process.exitCode = code;
// Everything the command opened is closed by now; a stdin still open (a producer piping in more
// than a stopped run read) must not keep the process alive.
process.stdin.destroy();
