/**
 * `npm run chaos -- --seed N --rounds K [--start R] [--target standalone|cluster|both] [--quick]`
 * Exit code 1 when any round failed a check. See chaos/README.md.
 */
import { parseArgs } from 'node:util';
import { QUICK_SET } from './schedule.js';
import { runSuite } from './suite.js';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: '1' },
    rounds: { type: 'string' },
    start: { type: 'string', default: '0' },
    target: { type: 'string', default: 'both' },
    quick: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});

if (values.help) {
  console.log('usage: npm run chaos -- [--seed N] [--rounds K] [--start R] [--target standalone|cluster|both] [--quick]');
  process.exit(0);
}

const int = (name: string, text: string): number => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) {
    console.error(`--${name} expects a non-negative integer, got ${JSON.stringify(text)}`);
    process.exit(2);
  }
  return n;
};
const target = values.target;
if (target !== 'standalone' && target !== 'cluster' && target !== 'both') {
  console.error(`--target expects standalone, cluster or both, got ${JSON.stringify(target)}`);
  process.exit(2);
}

// A run that ends without its summary (the event loop ran dry, or process.exit elsewhere) says so.
let finished = false;
process.on('exit', (code) => {
  if (!finished) console.error(`chaos: the process exited (code ${code}) before the run finished`);
});

const result = await runSuite({
  seed: int('seed', values.seed),
  start: int('start', values.start),
  rounds: int('rounds', values.rounds ?? (values.quick ? String(QUICK_SET.length) : '10')),
  target,
  quick: values.quick,
});
finished = true;
process.exit(result.failed.length > 0 ? 1 : 0);
