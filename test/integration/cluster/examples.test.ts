import { afterAll, describe, expect, it } from 'vitest';
import { redisTarget, Resources } from '../../support/helpers.js';
import { runExample } from '../../support/run-example.js';

// examples/cluster.ts against the test cluster (REDIS_CLUSTER_NODES), checked in the cluster itself.
const res = new Resources();
afterAll(() => res.closeAll());

const SHARDS = 12;
const RECORDS = 5_000;

describe('cluster example', () => {
  it('spreads a topic over the masters and writes every record once', async () => {
    const target = redisTarget();
    if (target.kind !== 'cluster') throw new Error('the cluster example test needs the cluster project');
    const admin = res.admin();
    const lengths = () => Promise.all(Array.from({ length: SHARDS }, (_, s) => admin.xlen(`{cluster-demo:events:${s}}`)));
    const before = await lengths();

    const { code, out } = await runExample('cluster.ts', {
      args: [String(RECORDS)],
      env: { REDIS_URL: undefined, REDIS_CLUSTER_NODES: target.nodes.map((n) => `${n.host}:${n.port}`).join(',') },
      timeoutMs: 120_000,
    });

    expect(out).toMatch(/send → delivered \{cluster-demo:events:\d+\} \d+-\d+/);
    expect(out).toMatch(new RegExp(`${RECORDS + 1} of ${RECORDS + 1} records are in their streams, on [23] masters`));
    expect(code, out).toBe(0);
    const after = await lengths();
    expect(after.reduce((a, b) => a + b, 0) - before.reduce((a, b) => a + b, 0)).toBe(RECORDS + 1);
    // The shards the example says live on different masters really do.
    const masters = new Set([...out.matchAll(/ on (\S+:\d+) {2}\+\d+ entries/g)].map((m) => m[1]));
    expect(masters.size).toBeGreaterThan(1);
  });
});
