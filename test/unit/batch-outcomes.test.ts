/**
 * What happens to a batch once its fate is known, against fakes of the park function and the
 * event sink: acks and events on delivery, parking in the shard's order, failing loudly.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Batch, counter } from '../../src/accumulator.js';
import type { SendAck } from '../../src/acks.js';
import { bufferedRecord } from '../../src/batch-codec.js';
import { BatchOutcomes } from '../../src/batch-outcomes.js';
import { entryId, type CompensationEntry } from '../../src/compensation/entry.js';
import { resolveConfig } from '../../src/config.js';
import { DeliveryError, TopicConfigError } from '../../src/errors.js';
import type { ProducerEvents } from '../../src/events.js';
import type { PublishReply } from '../../src/scripts.js';
import { ShardState } from '../../src/shard-state.js';
import { TopicRegistry } from '../../src/topics.js';

type Settled = { ok: SendAck } | { err: Error };

function shard(): ShardState {
  const config = resolveConfig({ defaultShards: 2 });
  const topic = new TopicRegistry<ShardState>(config).get('t');
  return new ShardState(topic, 1, topic.streams[1]!, 'sess', config, () => 0, counter());
}

/** A batch of `values`; with `awaited`, every record has a waiter whose outcome lands in the returned list. */
function batch(seq: number, values: string[], awaited = true) {
  const b = new Batch<SendAck>(0, seq);
  const settled: Settled[] = [];
  for (const value of values) {
    const waiter = awaited ? { resolve: (ok: SendAck) => void settled.push({ ok }), reject: (err: Error) => void settled.push({ err }) } : undefined;
    b.add(bufferedRecord(['payload', value]), 10, waiter);
  }
  return { b, settled };
}

function outcomes(options: { park?: (topic: string, entries: CompensationEntry[]) => Promise<'redis' | 'journal'>; listening?: boolean; idempotent?: boolean } = {}) {
  const events: { event: keyof ProducerEvents; payload: unknown }[] = [];
  const o = new BatchOutcomes({
    sessionId: 'sess',
    idempotent: options.idempotent ?? true,
    events: { listening: () => options.listening ?? true, emit: (event, ...args) => void events.push({ event, payload: args[0] }) },
    wallClock: () => 1_700_000_000_000,
    now: () => 5,
    park: options.park,
  });
  return { o, events };
}

const reply = (ids: string[]): PublishReply => ({ written: true, count: ids.length, idAt: (i) => ids[i]!, ids: () => ids });

afterEach(() => vi.restoreAllMocks());

describe('BatchOutcomes', () => {
  it('delivered: each waiter gets its own id, and one delivery event lists them in record order', () => {
    const { o, events } = outcomes();
    const { b, settled } = batch(1, ['a', 'b', 'c']);
    b.attempts = 2;
    o.delivered(shard(), b, reply(['1-0', '1-1', '1-2']), 0);
    expect(settled.map((s) => ('ok' in s && s.ok.status === 'delivered' ? s.ok.id : s))).toEqual(['1-0', '1-1', '1-2']);
    expect(events).toEqual([{ event: 'delivery', payload: expect.objectContaining({ ids: ['1-0', '1-1', '1-2'], attempts: 2, shard: 1 }) }]);
  });

  it('delivered: a duplicate whose entries were trimmed answers fewer ids; the first stands for the rest', () => {
    const { o } = outcomes({ listening: false });
    const { b, settled } = batch(1, ['a', 'b']);
    o.delivered(shard(), b, reply(['7-0']), 0);
    expect(settled.map((s) => ('ok' in s && s.ok.status === 'delivered' ? s.ok.id : s))).toEqual(['7-0', '7-0']);
  });

  it('giveUp: parks one entry per record and resolves each send "spilled" with its entry id', async () => {
    const parked: CompensationEntry[][] = [];
    const park = async (_topic: string, entries: CompensationEntry[]) => {
      parked.push(entries);
      return 'journal' as const;
    };
    const { o, events } = outcomes({ park });
    const state = shard();
    const { b, settled } = batch(4, ['a', 'b']);
    await o.giveUp(state, b, new Error('OOM command not allowed'), 'ERR_REDIS_OOM', true);
    expect(parked[0]!.map((e) => [e.id, e.seq, e.persisted, e.attempts, e.lastError])).toEqual([
      [entryId('sess', 1, 4, 0), 4, 'not', 0, 'ERR_REDIS_OOM: OOM command not allowed'],
      [entryId('sess', 1, 4, 1), 4, 'not', 0, 'ERR_REDIS_OOM: OOM command not allowed'],
    ]);
    expect(settled).toEqual([
      { ok: expect.objectContaining({ status: 'spilled', compensationId: entryId('sess', 1, 4, 0), parkedIn: 'journal', persisted: 'not' }) },
      { ok: expect.objectContaining({ status: 'spilled', compensationId: entryId('sess', 1, 4, 1), parkedIn: 'journal', persisted: 'not' }) },
    ]);
    expect(events.map((e) => e.event)).toEqual(['spill']);
    expect(state.unsettled).toBeUndefined();
  });

  it('giveUp: a batch whose reply was lost is parked "possibly" and, with idempotence, left for check-batch before the next', async () => {
    for (const idempotent of [true, false]) {
      const { o } = outcomes({ idempotent, park: async () => 'redis' });
      const state = shard();
      const { b, settled } = batch(9, ['a']);
      b.possiblyPersisted = true;
      await o.giveUp(state, b, new Error('timeout'), 'ERR_REQUEST_TIMEOUT', true);
      expect(settled).toEqual([{ ok: expect.objectContaining({ status: 'spilled', persisted: 'possibly' }) }]);
      expect(state.unsettled).toEqual(idempotent ? { seq: 9, count: 1 } : undefined);
    }
  });

  it("giveUp: a shard's parks run one after another, in the order the batches gave up", async () => {
    const started: number[] = [];
    const finish: (() => void)[] = [];
    const park = (_t: string, entries: CompensationEntry[]) =>
      new Promise<'redis'>((resolve) => {
        started.push(entries[0]!.seq);
        finish.push(() => resolve('redis'));
      });
    const { o } = outcomes({ park });
    const state = shard();
    const first = o.giveUp(state, batch(1, ['a']).b, new Error('x'), 'ERR_X', true);
    const second = o.giveUp(state, batch(2, ['b']).b, new Error('x'), 'ERR_X', true);
    await vi.waitFor(() => expect(started).toEqual([1]));
    await Promise.resolve();
    expect(started).toEqual([1]); // the second waits for the first
    finish[0]!();
    await first;
    await vi.waitFor(() => expect(started).toEqual([1, 2]));
    finish[1]!();
    await second;
  });

  it('giveUp: when parking fails everywhere, the sends reject with ERR_PARK_FAILED and the next park still runs', async () => {
    let calls = 0;
    const { o } = outcomes({ park: async () => (calls++ === 0 ? Promise.reject(new Error('disk full')) : 'redis') });
    const state = shard();
    const failed = batch(1, ['a']);
    await o.giveUp(state, failed.b, new Error('x'), 'ERR_X', true);
    expect(failed.settled).toEqual([{ err: expect.objectContaining({ code: 'ERR_PARK_FAILED' }) }]);
    const next = batch(2, ['b']);
    await o.giveUp(state, next.b, new Error('x'), 'ERR_X', true);
    expect(next.settled).toEqual([{ ok: expect.objectContaining({ status: 'spilled' }) }]);
  });

  it('giveUp without compensation: sends reject with the DeliveryError, one error event', async () => {
    const { o, events } = outcomes();
    const { b, settled } = batch(1, ['a', 'b']);
    await o.giveUp(shard(), b, new Error('WRONGTYPE'), 'ERR_REDIS_WRONGTYPE', false);
    expect(settled).toHaveLength(2);
    for (const s of settled) expect('err' in s && s.err instanceof DeliveryError && s.err.code).toBe('ERR_REDIS_WRONGTYPE');
    expect(events.map((e) => e.event)).toEqual(['error']);
  });

  it('a record refused for its shard count fails with that error itself and is never parked', async () => {
    const park = vi.fn(async () => 'redis' as const);
    const { o } = outcomes({ park });
    const refused = new TopicConfigError('t', 2, 4);
    const { b, settled } = batch(1, ['a']);
    await o.giveUp(shard(), b, refused, refused.code, false);
    expect(settled).toEqual([{ err: refused }]);
    expect(park).not.toHaveBeenCalled();
  });

  it('fire-and-forget records that fail unheard raise a process warning and are reported once by takeUnheard()', async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const { o } = outcomes({ listening: false });
    await o.giveUp(shard(), batch(1, ['a', 'b'], false).b, new Error('WRONGTYPE'), 'ERR_REDIS_WRONGTYPE', false);
    await o.giveUp(shard(), batch(2, ['c'], false).b, new Error('WRONGTYPE'), 'ERR_REDIS_WRONGTYPE', false);
    expect(warn).toHaveBeenCalledTimes(2);
    const unheard = o.takeUnheard();
    expect(unheard).toBeInstanceOf(DeliveryError);
    expect(unheard?.message).toMatch(/^3 produced record\(s\) failed/);
    expect(o.takeUnheard()).toBeUndefined();
  });

  it('a stats hook that throws becomes an error event, never a thrown error', () => {
    const { o, events } = outcomes();
    expect(() =>
      o.hook(() => {
        throw new Error('boom');
      }),
    ).not.toThrow();
    expect(events).toEqual([{ event: 'error', payload: expect.objectContaining({ code: 'ERR_LISTENER' }) }]);
  });
});
