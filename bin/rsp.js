#!/usr/bin/env node
// The `rsp` command.
// - Installed package: runs the compiled CLI in dist/ (the package ships dist/, not src/).
// - A checkout of the repository (src/ present): runs the sources through tsx, a dev dependency,
//   so `npx rsp …` works right after `npm ci` and never runs a stale build.
import { existsSync } from 'node:fs';

const source = new URL('../src/cli/main.ts', import.meta.url);
const compiled = new URL('../dist/cli/main.js', import.meta.url);

if (existsSync(source)) {
  let register;
  try {
    ({ register } = await import('tsx/esm/api'));
  } catch {
    process.stderr.write('rsp: running from a checkout needs its dev dependencies: run `npm ci` first.\n');
    process.exit(1);
  }
  register();
  await import(source.href);
} else if (existsSync(compiled)) {
  await import(compiled.href);
} else {
  process.stderr.write('rsp: dist/cli/main.js is missing: this copy of redis-stream-producer was not built (`npm run build`).\n');
  process.exit(1);
}
