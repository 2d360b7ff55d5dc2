import { describe, expect, it } from 'vitest';
import { ShardAccumulator } from '../../src/accumulator.js';

const fields = (v: string) => ({ value: v, key: undefined, fields: undefined });

describe('ShardAccumulator', () => {
  it('closes a batch at batchMaxRecords', () => {
    const acc = new ShardAccumulator<string>({ batchMaxRecords: 3, batchMaxBytes: 1_000_000 }, () => 0);
    expect(acc.append(fields('a'), 1, undefined)).toBe(false);
    expect(acc.append(fields('b'), 1, undefined)).toBe(false);
    expect(acc.append(fields('c'), 1, undefined)).toBe(true);
    expect(acc.hasClosed()).toBe(true);
    acc.append(fields('d'), 1, undefined);
    const first = acc.takeNext()!;
    expect(first.count).toBe(3);
    expect([0, 1, 2].map((i) => first.fieldsAt(i))).toEqual([
      ['payload', 'a'],
      ['payload', 'b'],
      ['payload', 'c'],
    ]);
    expect(first.encoded()).toEqual(['r', 3, 1, 'payload', 'a', 'b', 'c']);
    expect(acc.takeNext()!.count).toBe(1); // the open batch, closed on demand
    expect(acc.takeNext()).toBeUndefined();
    expect(acc.isEmpty()).toBe(true);
  });

  it('closes a batch before a record that would overflow batchMaxBytes, and at the limit', () => {
    const acc = new ShardAccumulator<string>({ batchMaxRecords: 100, batchMaxBytes: 10 }, () => 0);
    expect(acc.append(fields('a'), 6, undefined)).toBe(false);
    expect(acc.append(fields('b'), 6, undefined)).toBe(true); // 12 > 10: 'a' closes alone
    expect(acc.append(fields('c'), 4, undefined)).toBe(true); // 6 + 4 = 10: closes at the limit
    expect([acc.takeNext()!.bytes, acc.takeNext()!.bytes]).toEqual([6, 10]);
  });

  it('a record larger than batchMaxBytes still travels, alone', () => {
    const acc = new ShardAccumulator<string>({ batchMaxRecords: 100, batchMaxBytes: 10 }, () => 0);
    acc.append(fields('a'), 2, undefined);
    expect(acc.append(fields('big'), 50, undefined)).toBe(true);
    expect(acc.takeNext()!.count).toBe(1);
    expect(acc.takeNext()!.bytes).toBe(50);
  });

  it('keeps waiters at their record index and reports pending batches in order', () => {
    let t = 5;
    const acc = new ShardAccumulator<string>({ batchMaxRecords: 2, batchMaxBytes: 1000 }, () => t);
    const w = { resolve: () => {}, reject: () => {} };
    acc.append(fields('a'), 1, undefined);
    acc.append(fields('b'), 1, w);
    t = 9;
    acc.append(fields('c'), 1, undefined);
    expect(acc.openSince()).toBe(9);
    const pending = acc.pending();
    expect(pending.map((b) => b.count)).toEqual([2, 1]);
    expect(pending[0]!.waiters).toEqual([undefined, w]);
    expect(pending[1]!.waiters).toBeUndefined();
  });

  it('settled() resolves once the batch is marked done, also when asked late', async () => {
    const acc = new ShardAccumulator<string>({ batchMaxRecords: 10, batchMaxBytes: 1000 }, () => 0);
    acc.append(fields('a'), 1, undefined);
    const batch = acc.takeNext()!;
    let done = false;
    const early = batch.settled().then(() => (done = true));
    await Promise.resolve();
    expect(done).toBe(false);
    batch.markDone();
    await early;
    await batch.settled();
    expect(done).toBe(true);
  });
});
