/**
 * The quick chaos set (chaos/schedule.ts QUICK_SET: 3 standalone + 2 cluster rounds, every fault
 * kind at least once) as a test. It starts its own servers, like `npm run chaos -- --quick`.
 */
import { expect, it } from 'vitest';
import { QUICK_SEED, QUICK_SET } from './schedule.js';
import { runSuite } from './suite.js';

it('quick chaos set: nothing lost, duplicated or reordered; every send settles in time', async () => {
  const result = await runSuite({ seed: QUICK_SEED, start: 0, rounds: QUICK_SET.length, target: 'both', quick: true });
  expect(result.failed.map((f) => [f.result.line, ...f.result.details].join('\n'))).toEqual([]);
}, 300_000);
