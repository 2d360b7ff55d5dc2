/**
 * The stats collector: what the batch-level hooks add up to in a snapshot, windows vs totals, taps.
 * The clock is passed in; no Redis.
 */
import { describe, expect, it } from 'vitest';
import { StatsCollector, type ShardQueue } from '../../src/stats/collector.js';
import { collectorOf } from '../../src/stats/registry.js';
import { resolveConfig } from '../../src/config.js';
import { configError } from '../support/config-error.js';

function collector(queues: ShardQueue[] = [], bufferedBytes = 0) {
  const clock = { t: 1000 };
  const c = new StatsCollector({
    producerId: 'p1',
    bufferMaxBytes: 4096,
    now: () => clock.t,
    wallClock: () => 1_700_000_000_000 + clock.t,
    gauges: () => ({ bufferedBytes, shards: queues }),
  });
  return { c, clock };
}

describe('StatsCollector', () => {
  it('turns batch hooks into rates, summaries, window and total counters', () => {
    const { c, clock } = collector();
    c.batchDelivered('orders', 0, '{a:orders:0}', 100, 10_000, 2, 0.5);
    c.batchDelivered('orders', 1, '{a:orders:1}', 300, 30_000, 4, 1.5);
    c.retried('orders', 1, '{a:orders:1}');
    clock.t += 2000; // a 2 s window
    const s = c.snapshot();
    expect(s.producerId).toBe('p1');
    expect(s.timestamp).toBe(1_700_000_003_000);
    expect(s.windowMs).toBe(2000);
    expect(s.uptimeMs).toBe(2000);
    expect(s.recordsPerSec).toBe(200);
    expect(s.bytesPerSec).toBe(20_000);
    expect(s.batchesPerSec).toBe(1);
    expect(s.batchRecords).toMatchObject({ count: 2, avg: 200, max: 300 });
    expect(s.queueTimeMs).toMatchObject({ count: 2, avg: 3, max: 4 });
    expect(s.requestLatencyMs).toMatchObject({ count: 2, avg: 1, max: 1.5 });
    expect(s.requestLatencyMs.p50).toBe(0.5); // rank 1 of 2: the exact min
    expect(s.requestLatencyMs.p99).toBe(1.5); // rank 2 of 2: the exact max
    expect(s.window).toMatchObject({ deliveredRecords: 400, deliveredBytes: 40_000, deliveredBatches: 2, retries: 1, spilledRecords: 0 });
    expect(s.totals).toEqual(s.window);
  });

  it('starts a new window after each snapshot while totals keep counting', () => {
    const { c, clock } = collector();
    c.batchDelivered('t', 0, '{a:t:0}', 10, 100, 1, 1);
    clock.t += 1000;
    c.snapshot();
    c.batchDelivered('t', 0, '{a:t:0}', 5, 50, 1, 1);
    clock.t += 500;
    const s = c.snapshot();
    expect(s.windowMs).toBe(500);
    expect(s.window.deliveredRecords).toBe(5);
    expect(s.totals.deliveredRecords).toBe(15);
    expect(s.recordsPerSec).toBe(10);
    expect(s.batchRecords).toMatchObject({ count: 1, max: 5 });
  });

  it('an empty window reports zeros, not NaN', () => {
    const { c, clock } = collector();
    clock.t += 1000;
    const s = c.snapshot();
    expect(s.recordsPerSec).toBe(0);
    expect(s.queueTimeMs).toEqual({ count: 0, avg: 0, p50: 0, p99: 0, max: 0 });
    expect(s.shards).toEqual([]);
  });

  it('endWindow() drops the window without building a payload', () => {
    const { c, clock } = collector();
    c.batchDelivered('t', 0, '{a:t:0}', 10, 100, 1, 1);
    clock.t += 1000;
    c.endWindow();
    expect(c.windowsEnded).toBe(1);
    clock.t += 1000;
    const s = c.snapshot();
    expect(s.windowMs).toBe(1000);
    expect(s.window.deliveredRecords).toBe(0);
    expect(s.totals.deliveredRecords).toBe(10);
  });

  it('counts compressed records and the bytes saved, per window and in total', () => {
    const { c } = collector();
    c.compressed(3, 1000);
    const first = c.snapshot();
    c.compressed(2, 500);
    const second = c.snapshot();
    expect([first.window.compressedRecords, first.window.compressionSavedBytes]).toEqual([3, 1000]);
    expect([second.window.compressedRecords, second.window.compressionSavedBytes]).toEqual([2, 500]);
    expect([second.totals.compressedRecords, second.totals.compressionSavedBytes]).toEqual([5, 1500]);
  });

  it('counts spills (journal apart), failures and replay outcomes', () => {
    const { c } = collector();
    c.spilled('t', 0, '{a:t:0}', 3, 'redis');
    c.spilled('t', 1, '{a:t:1}', 2, 'journal');
    c.failed('t', 0, '{a:t:0}', 4);
    c.replayOutcomes('t', ['replayed', 'alreadyDelivered', 'retryLater', 'deadLettered', 'deadLettered']);
    c.replayOutcomes('u', []);
    const s = c.snapshot();
    expect(s.totals).toMatchObject({ spilledRecords: 5, journaledRecords: 2, failedRecords: 4, replayedRecords: 2, replayFailures: 1, deadLetters: 2 });
    expect([...c.replayTotals()]).toEqual([['t', { replayedRecords: 2, replayFailures: 1, deadLetters: 2 }]]);
    expect(s.shards.map((x) => [x.shard, x.spilledRecords, x.failedRecords])).toEqual([
      [0, 3, 4],
      [1, 2, 0],
    ]);
  });

  it('joins per-shard counters with the queues read at snapshot time, sorted by topic and shard', () => {
    const queues: ShardQueue[] = [
      { topic: 'b', shard: 0, stream: '{a:b:0}', queuedRecords: 7, queuedBytes: 70, inFlightRecords: 0 },
      { topic: 'a', shard: 2, stream: '{a:a:2}', queuedRecords: 1, queuedBytes: 10, inFlightRecords: 50 },
      { topic: 'a', shard: 1, stream: '{a:a:1}', queuedRecords: 0, queuedBytes: 0, inFlightRecords: 20 },
    ];
    const { c } = collector(queues, 1234);
    c.batchDelivered('a', 2, '{a:a:2}', 9, 90, 1, 1);
    const s = c.snapshot();
    expect(s.shards.map((x) => `${x.topic}:${x.shard}`)).toEqual(['a:1', 'a:2', 'b:0']);
    expect(s.shards[1]).toEqual({
      topic: 'a',
      shard: 2,
      stream: '{a:a:2}',
      deliveredRecords: 9,
      deliveredBytes: 90,
      deliveredBatches: 1,
      retries: 0,
      spilledRecords: 0,
      failedRecords: 0,
      queuedRecords: 1,
      queuedBytes: 10,
      inFlightRecords: 50,
    });
    expect(s.inFlightBatches).toBe(2);
    expect(s.inFlightRecords).toBe(70);
    expect(s.queuedRecords).toBe(8);
    expect(s.queuedBytes).toBe(80);
    expect(s.bufferedBytes).toBe(1234);
    expect(s.bufferMaxBytes).toBe(4096);
  });

  it('taps see each delivered batch until untapped', () => {
    const { c } = collector();
    const seen: number[] = [];
    const untap = c.tap((b) => seen.push(b.records));
    c.batchDelivered('t', 0, '{a:t:0}', 3, 30, 1, 1);
    untap();
    c.batchDelivered('t', 0, '{a:t:0}', 4, 40, 1, 1);
    expect(seen).toEqual([3]);
  });

  it('collectorOf() knows nothing that is not a registered producer', () => {
    expect(collectorOf({})).toBeUndefined();
    expect(collectorOf(null)).toBeUndefined();
    expect(collectorOf('producer')).toBeUndefined();
  });
});

describe('statsIntervalMs', () => {
  it('defaults to 5000 and accepts 0 (off)', () => {
    expect(resolveConfig({}).statsIntervalMs).toBe(5000);
    expect(resolveConfig({ statsIntervalMs: 0 }).statsIntervalMs).toBe(0);
  });

  it.each([
    [5, 'expected 0 (off) or at least 10'],
    [-1, 'Too small: expected number to be >=0'],
    [1.5, 'Invalid input: expected int, received number'],
    [86_400_001, 'Too big: expected number to be <=86400000'],
    ['fast', 'Invalid input: expected number, received string'],
  ])('rejects %s with one ConfigError issue naming the option', (value, expected) => {
    const err = configError({ statsIntervalMs: value });
    expect(err.issues).toHaveLength(1);
    expect(err.issues[0]).toMatch(/^`statsIntervalMs`: /);
    expect(err.issues[0]).toContain(expected);
  });
});
