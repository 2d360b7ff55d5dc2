import { afterEach, describe, expect, it } from 'vitest';
import { producerStateKey } from '../../src/keys.js';
import { decodeReply, encodeBatch } from '../../src/batch-codec.js';
import { loadLua, loadScripts, NO_TRIM } from '../../src/scripts.js';
import { Resources, uniqueNamespace } from '../support/helpers.js';

const res = new Resources();
afterEach(() => res.closeAll());

const records = (...values: string[]) => encodeBatch(values.map((v) => ['payload', v]));

describe('publish-batch idempotence (real Redis)', () => {
  it('writes a (producer, sequence) once; a retry gets the original ids back', async () => {
    const admin = res.admin();
    const scripts = loadScripts(admin);
    const stream = `{${uniqueNamespace()}:t:0}`;
    const idem = { stateKey: producerStateKey(stream, 'p1'), seq: 1, stateTtlMs: 60_000 };
    const first = await scripts.publishBatch(stream, NO_TRIM, idem, 3, records('a', 'b', 'c'));
    expect(first.written).toBe(true);
    const again = await scripts.publishBatch(stream, NO_TRIM, idem, 3, records('a', 'b', 'c'));
    expect(again.written).toBe(false);
    expect(again.ids()).toEqual(first.ids());
    // The one-id reply stands for consecutive ids: they are the entries' real ids.
    expect(first.ids()).toEqual((await admin.xrange(stream, '-', '+')).map(([id]) => id));
    expect(await admin.xlen(stream)).toBe(3);
    // The next sequence writes; another producer's sequence 1 is its own.
    expect((await scripts.publishBatch(stream, NO_TRIM, { ...idem, seq: 2 }, 1, records('d'))).written).toBe(true);
    const other = { ...idem, stateKey: producerStateKey(stream, 'p2') };
    expect((await scripts.publishBatch(stream, NO_TRIM, other, 1, records('e'))).written).toBe(true);
    expect(await admin.xlen(stream)).toBe(5);
    // An older sequence arriving late is refused, not written.
    await expect(scripts.publishBatch(stream, NO_TRIM, idem, 1, records('late'))).rejects.toThrow(/ERR_RSP_STALE 2/);
    expect(await admin.pttl(idem.stateKey)).toBeGreaterThan(50_000);
  });

  it('check-batch tells a landed batch from a lost one, and fences the lost one', async () => {
    const admin = res.admin();
    const scripts = loadScripts(admin);
    const stream = `{${uniqueNamespace()}:t:1}`;
    const stateKey = producerStateKey(stream, 'p');
    const idem = { stateKey, seq: 1, stateTtlMs: 60_000 };
    await scripts.publishBatch(stream, NO_TRIM, idem, 1, records('landed'));
    expect(await scripts.checkBatch(stateKey, 1, 60_000)).toBe(true);
    // Sequence 2 never arrived: the check says so and fences it, so a late copy cannot land.
    expect(await scripts.checkBatch(stateKey, 2, 60_000)).toBe(false);
    await expect(scripts.publishBatch(stream, NO_TRIM, { ...idem, seq: 2 }, 1, records('late copy'))).rejects.toThrow(/ERR_RSP_FENCED 2/);
    expect(await scripts.checkBatch(stateKey, 2, 60_000)).toBe(false);
    expect((await scripts.publishBatch(stream, NO_TRIM, { ...idem, seq: 3 }, 1, records('next'))).written).toBe(true);
    expect((await admin.xrange(stream, '-', '+')).map(([, f]) => f[1])).toEqual(['landed', 'next']);
  });

  it('without idempotence the same call writes again', async () => {
    const admin = res.admin();
    const scripts = loadScripts(admin);
    const stream = `{${uniqueNamespace()}:t:2}`;
    await scripts.publishBatch(stream, NO_TRIM, undefined, 1, records('x'));
    await scripts.publishBatch(stream, NO_TRIM, undefined, 1, records('x'));
    expect(await admin.xlen(stream)).toBe(2);
    expect(await admin.exists(`${stream}:p:-`)).toBe(0); // the placeholder state key is never written
  });
});

describe('check-batch after the producer moved on', () => {
  it('still says "landed" for a batch it settled as landed, and "not" for one it fenced', async () => {
    const admin = res.admin();
    const scripts = loadScripts(admin);
    const stream = `{${uniqueNamespace()}:t:3}`;
    const stateKey = producerStateKey(stream, 'p');
    const idem = (seq: number) => ({ stateKey, seq, stateTtlMs: 60_000 });
    await scripts.publishBatch(stream, NO_TRIM, idem(1), 1, records('landed, reply lost'));
    expect(await scripts.checkBatch(stateKey, 1, 60_000)).toBe(true); // the producer settles it…
    await scripts.publishBatch(stream, NO_TRIM, idem(2), 1, records('next')); // …and moves on
    expect(await scripts.checkBatch(stateKey, 2, 60_000)).toBe(true);
    expect(await scripts.checkBatch(stateKey, 3, 60_000)).toBe(false); // never sent: fenced
    await scripts.publishBatch(stream, NO_TRIM, idem(4), 1, records('after the fence'));
    // A parked copy of batch 1 (say, drained late from a journal) must not be replayed; 3 must.
    expect(await scripts.checkBatch(stateKey, 1, 60_000)).toBe(true);
    expect(await scripts.checkBatch(stateKey, 3, 60_000)).toBe(false);
    expect(await admin.xlen(stream)).toBe(3);
  });
});

describe('publish-batch reply forms (real Redis)', () => {
  const source = loadLua('publish-batch');
  const call = async (lua: string, stream: string, encoded: (string | number | Buffer)[], count: number) =>
    decodeReply(await res.admin().eval(lua, 2, stream, `${stream}:p:x`, '', '', '', '1', 1, 60_000, count, ...encoded), count);

  it.each([
    [
      'value only',
      [
        ['payload', 'a'],
        ['payload', 'b'],
        ['payload', 'c'],
      ],
    ],
    [
      'value and key',
      [
        ['payload', 'a', 'key', 'k1'],
        ['payload', 'b', 'key', 'k2'],
      ],
    ],
    [
      'mixed shapes',
      [
        ['payload', 'a', 'h:x', '1'],
        ['payload', 'b'],
        ['payload', 'c', 'key', 'k'],
      ],
    ],
    [
      'one header, then four, then seven fields',
      [
        ['payload', 'a', 'key', 'k', 'h:x', '1'],
        ['payload', 'b', 'key', 'k', 'h:x', '2'],
        ['payload', 'c', 'key', 'k', 'h:a', '1', 'h:b', '2', 'h:c', '3', 'h:d', '4'],
        ['payload', 'd', 'key', 'k', 'h:a', '1', 'h:b', '2', 'h:c', '3', 'h:d', '4', 'h:e', '5', 'h:f', '6', 'h:g', '7'],
        ['payload', 'e', 'key', 'k', 'h:a', '1', 'h:b', '2', 'h:c', '3', 'h:d', '4', 'h:e', '5', 'h:f', '6', 'h:g', '7'],
      ],
    ],
  ])('%s: the one-id reply names the entries as written the one-id reply names the entries as written', async (_layout, batch) => {
    const stream = `{${uniqueNamespace()}:t:0}`;
    const reply = await call(source, stream, encodeBatch(batch), batch.length);
    const entries = await res.admin().xrange(stream, '-', '+');
    expect(reply.ids()).toEqual(entries.map(([id]) => id));
    expect(entries.map(([, fields]) => fields)).toEqual(batch);
  });

  it('without <ms>-* ids (Redis < 7.0: the version check forced off) every id comes back', async () => {
    const before7 = source.replace('(redis.REDIS_VERSION_NUM or 0) >= 0x070000', 'false');
    expect(before7).not.toBe(source); // the check this test switches off is still in the script
    const stream = `{${uniqueNamespace()}:t:0}`;
    const batch = [
      ['payload', 'a', 'h:x', '1'],
      ['payload', 'b'],
    ];
    const raw = await res.admin().eval(before7, 2, stream, `${stream}:p:x`, '', '', '', '1', 1, 60_000, 2, ...encodeBatch(batch));
    expect((raw as unknown[])[0]).toBe(2);
    expect(decodeReply(raw, 2).ids()).toEqual((await res.admin().xrange(stream, '-', '+')).map(([id]) => id));
  });
});
