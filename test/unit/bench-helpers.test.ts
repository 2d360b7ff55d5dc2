import { describe, expect, it } from 'vitest';
import { redisBenchmarkRecordBounds } from '../../bench/cases.js';
import { LatencyRecorder } from '../../bench/latency.js';
import { fmtLatency, medianOf, summarisePairs } from '../../bench/report.js';
import type { CaseResult } from '../../bench/run-case.js';
import { counterDelta, parseInfoFields, scriptCalls, slowCallStats, sumCounters, type ServerCounters } from '../../bench/server-stats.js';
import { randomNames, ratioOf, shardsPerMaster, spreadTable } from '../../bench/spread.js';
import { pointsOn, sweepPoints } from '../../bench/sweep.js';
import { barChartSvg, lineChartsSvg, niceMax, shortNumber } from '../../bench/svg.js';
import { fieldsAt, makeWorkload, peerShardOf, recordAt } from '../../bench/workload.js';
import { keySlot } from '../../src/admin/key-slot.js';
import { crc32Partitioner } from '../../src/partitioner.js';
import { encodeRecord } from '../../src/record.js';

// The benchmark's pure helpers (bench/): what its numbers rest on.

describe('bench workload', () => {
  it('peers pick the shard the producer picks, so per-record delivery latency is attributed to the right record', () => {
    const w = makeWorkload(2000, 7);
    for (let i = 0; i < 2000; i++) expect(peerShardOf(w, i)).toBe(crc32Partitioner(w.keys[i]!, 16));
  });

  it('keyless records carry no key and stand in for stickiness with runs of 1000 per shard', () => {
    const w = makeWorkload(5000, 1, { keys: 'keyless', valueBytes: 1024 });
    expect(recordAt(w, 0)).not.toHaveProperty('key');
    expect(fieldsAt(w, 0)).toEqual(['payload', w.values[0]]);
    expect(w.values[0]).toHaveLength(1024);
    expect([0, 999, 1000, 4999].map((i) => peerShardOf(w, i))).toEqual([0, 0, 1, 4]);
  });

  it('peers write exactly the fields the producer writes, for every shape: 0–4 headers; keyed, keyless, explicit shards', () => {
    for (const keys of ['random', 'keyless', 'explicit'] as const) {
      for (const headers of [0, 1, 4]) {
        const w = makeWorkload(300, 3, { keys, headers });
        for (let i = 0; i < 300; i++) {
          const record = recordAt(w, i);
          const encoded = encodeRecord(record, { maxRecordBytes: 1 << 20, maxHeaders: 64 });
          // The producer's entry fields: its encoder's list when there are headers, else payload[, key].
          const producerFields = encoded.fields ?? (encoded.key === undefined ? ['payload', encoded.value] : ['payload', encoded.value, 'key', encoded.key]);
          expect(fieldsAt(w, i), `${keys} ${headers} #${i}`).toEqual(producerFields);
          expect(Object.keys(record.headers ?? {})).toHaveLength(headers);
          if (keys === 'explicit') expect([record.shard, peerShardOf(w, i)]).toEqual([i % 16, i % 16]);
        }
      }
    }
  });
});

describe('bench measurements', () => {
  it('redis-benchmark may write up to one pipeline of 512 more per client than -n', () => {
    expect(redisBenchmarkRecordBounds(500_000)).toEqual([500_000, 500_000 + 50 * 512]);
  });

  it('reads INFO counters and subtracts them per command', () => {
    const info = parseInfoFields('# Stats\r\ntotal_net_input_bytes:100\r\ncmdstat_evalsha:calls=10,usec=5000,usec_per_call=500.00\r\n');
    expect(info.get('cmdstat_evalsha')).toBe('calls=10,usec=5000,usec_per_call=500.00');
    const at = (calls: number, usec: number): ServerCounters => ({ cpuSec: 1, inBytes: 0, outBytes: 0, commands: { evalsha: { calls, usec }, ping: { calls: 1, usec: 1 } } });
    const delta = counterDelta(at(10, 5000), at(14, 9000));
    expect(delta.commands).toEqual({ evalsha: { calls: 4, usec: 4000 } });
    expect(scriptCalls(delta)).toEqual({ calls: 4, usecPerCall: 1000 });
  });

  it('takes the p99 script call from SLOWLOG only when the log holds 1 % of the calls', () => {
    expect(slowCallStats([3000, 900, 2500], 200)).toEqual({ slowestScriptCallUs: 3000, scriptCallP99Us: 2500, scriptCallsOver2ms: 2 });
    expect(slowCallStats([700], 300)).toEqual({ slowestScriptCallUs: 700, scriptCallP99Us: undefined, scriptCallsOver2ms: 0 });
    expect(slowCallStats([], 50).slowestScriptCallUs).toBeUndefined();
  });

  it('reports HdrHistogram percentiles in µs, weighted samples included', () => {
    const rec = new LatencyRecorder();
    for (let us = 1; us <= 1000; us++) rec.record(us);
    rec.record(50_000, 2);
    const s = rec.summary()!;
    expect(s.samples).toBe(1002);
    expect(s.p50Us).toBeGreaterThanOrEqual(500);
    expect(s.p50Us).toBeLessThanOrEqual(502);
    expect(s.p999Us).toBeGreaterThanOrEqual(49_950);
    expect(new LatencyRecorder().summary()).toBeUndefined();
  });

  it('takes medians over repetitions, leaving out missing values', () => {
    const reps = [{ scriptUsecPerCall: 3 }, { scriptUsecPerCall: NaN }, { scriptUsecPerCall: 1 }] as CaseResult[];
    expect(medianOf(reps, (r) => r.scriptUsecPerCall)).toBe(2);
    expect(fmtLatency(850)).toBe('850 µs');
    expect(fmtLatency(1234)).toBe('1.23 ms');
    expect(fmtLatency(undefined)).toBe('n/a');
  });
});

describe('bench sweep and charts', () => {
  it('varies one setting at a time and runs the defaults once', () => {
    const points = sweepPoints({ batchMaxRecords: 1000, lingerMs: 5, adaptiveLinger: true, maxInFlight: 8 });
    expect(points).toHaveLength(15);
    expect(points.filter((p) => p.axes.length === 3).map((p) => p.knobs)).toEqual([{ batchMaxRecords: 1000, lingerMs: 5, adaptiveLinger: true, maxInFlight: 8 }]);
    expect(pointsOn(points, 'maxInFlight').map((p) => p.knobs.maxInFlight)).toEqual([1, 2, 4, 8, 16]);
    expect(pointsOn(points, 'linger').map((p) => `${p.knobs.lingerMs}${p.knobs.adaptiveLinger ? 'a' : 'p'}`)).toEqual(['0a', '1a', '5a', '0p', '1p', '5p']);
  });

  it('draws one bar per value and escapes labels', () => {
    const svg = barChartSvg({
      title: 'a <b> & c',
      series: ['x'],
      rows: [
        { label: 'p<1>', values: [1500] },
        { label: 'q', values: [NaN] },
      ],
    });
    expect(svg).toContain('a &lt;b&gt; &amp; c');
    expect(svg).toContain('p&lt;1&gt;');
    expect(svg.match(/<rect x="160" y="\d+" width="[\d.]+" height="12"/g)).toHaveLength(1);
    expect(svg).not.toContain('NaN');
  });

  it('circles flagged points of a line chart', () => {
    const svg = lineChartsSvg({ title: 't', panels: [{ title: 'p', xTitle: 'x', xLabels: ['1', '2'], series: [{ name: 's', values: [1, 2], flagged: [false, true] }] }] });
    expect(svg.match(/r="6"/g)).toHaveLength(1);
    expect(niceMax(130_000)).toBe(200_000);
    expect(shortNumber(123_456)).toBe('123k');
  });
});

describe('bench A/B (bench/ab.ts)', () => {
  it('summarises paired rounds by the median of the per-round ratios, not the ratio of medians', () => {
    // A slow phase in rounds 3 and 4 hits both sides; B is 10 % ahead in every round.
    const a = [100, 100, 50, 50, 100];
    const b = [110, 110, 55, 55, 110];
    expect(summarisePairs(a, b)).toEqual({ rounds: 5, medianA: 100, medianB: 110, medianRatio: 1.1, bAbove: 5 });
    // Paired ratios 0.90, 1.10, 0.95, 0.95: B lost 3 of 4 rounds (the ratio of medians, 78 ÷ 80, says less).
    const s = summarisePairs([100, 60, 100, 60], [90, 66, 95, 57]);
    expect(s.medianA).toBe(80);
    expect(s.medianB).toBe(78);
    expect(s.bAbove).toBe(1);
    expect(s.medianRatio).toBeCloseTo(0.95, 6);
  });

  it('refuses unpaired or empty samples', () => {
    expect(() => summarisePairs([1, 2], [1])).toThrow(/equal, non-zero lengths/);
    expect(() => summarisePairs([], [])).toThrow(/equal, non-zero lengths/);
  });
});

describe('bench on a cluster', () => {
  // redis-cli's even split of the slots over 3 masters.
  const owner = Array.from({ length: 16_384 }, (_, slot) => (slot <= 5460 ? 'a' : slot <= 10_922 ? 'b' : 'c'));

  it("counts a namespace's shards per master by the slot of each stream key", () => {
    const expected = [0, 0, 0];
    for (let shard = 0; shard < 16; shard++) expected[['a', 'b', 'c'].indexOf(owner[keySlot(`{bench-0:t:${shard}}`)]!)]!++;
    expect(shardsPerMaster('bench-0', 16, ['a', 'b', 'c'], owner)).toEqual(expected);
    expect(expected).toEqual([8, 4, 4]);
  });

  it('says how uneven a spread is: max ÷ min, infinite when a master has none', () => {
    expect(ratioOf([6, 5, 5])).toBeCloseTo(1.2);
    expect(ratioOf([8, 8, 0])).toBe(Infinity);
  });

  it('summarises the spread of many names per shard count, against the best possible', () => {
    const names = randomNames(50, 2);
    expect(new Set(names).size).toBe(50);
    expect(randomNames(50, 2)).toEqual(names);
    const rows = spreadTable(names, ['a', 'b', 'c'], owner);
    expect(rows.map((r) => r.shards)).toEqual([16, 32, 64, 128]);
    expect(rows[0]!.bestRatio).toBeCloseTo(6 / 5);
    for (const r of rows) {
      expect(r.medianRatio).toBeGreaterThanOrEqual(r.bestRatio);
      expect(r.p90Ratio).toBeGreaterThanOrEqual(r.medianRatio);
      expect(r.medianBusiestShare).toBeGreaterThanOrEqual(1 / 3);
    }
    // One master holding every slot leaves the others empty for every name.
    expect(
      spreadTable(
        names,
        ['a', 'b'],
        owner.map(() => 'a'),
      )[0]!.namesWithEmptyMaster,
    ).toBe(50);
  });

  it("adds the counters of a cluster's processes, command by command", () => {
    const node = (cpuSec: number, calls: number): ServerCounters => ({ cpuSec, inBytes: 10, outBytes: 1, commands: { evalsha: { calls, usec: calls * 100 } } });
    expect(sumCounters([node(1, 2), node(2, 3), { cpuSec: 0, inBytes: 0, outBytes: 0, commands: {} }])).toEqual({
      cpuSec: 3,
      inBytes: 20,
      outBytes: 2,
      commands: { evalsha: { calls: 5, usec: 500 } },
    });
  });
});
