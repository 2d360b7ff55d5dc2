#!/usr/bin/env node
/** Entry point of the `rsp` command (bin/rsp.js loads the compiled copy of this file). */
import { processIo } from './io.js';
import { runCli } from './run.js';

const code = await runCli(process.argv.slice(2), processIo());
process.exitCode = code;
// Everything the command opened is closed by now; a stdin still open (a producer piping in more
// than a stopped run read) must not keep the process alive.
process.stdin.destroy();
