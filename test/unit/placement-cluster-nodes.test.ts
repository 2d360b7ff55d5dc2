/**
 * The pure parts of src/admin around the plan: reading `CLUSTER NODES`, refusing an unstable
 * cluster, and the text report. No Redis.
 */
import { describe, expect, it } from 'vitest';
import type { BalanceResult } from '../../src/admin/balance.js';
import { parseClusterNodes, stableTopology } from '../../src/admin/cluster-nodes.js';
import { ClusterStateError } from '../../src/admin/errors.js';
import { planBalance } from '../../src/admin/placement.js';
import { describeBalance } from '../../src/admin/report.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);
const R = 'd'.repeat(40);
const E = 'e'.repeat(40);

/** A healthy 3-master cluster (redis-cli's split), one replica, and a master just added (no slots). */
const HEALTHY = [
  `${A} 127.0.0.1:7000@17000 myself,master - 0 1700000000000 1 connected 0-5460`,
  `${B} 127.0.0.1:7001@17001,node-b.example master - 0 1700000000000 2 connected 5461-10922`,
  `${C} [::1]:7002@17002 master - 0 1700000000000 3 connected 10923-16383`,
  `${R} 127.0.0.1:7003@17003 slave ${A} 0 1700000000000 1 connected`,
  `${E} 127.0.0.1:7004@17004 master - 0 1700000000000 0 connected`,
  '',
].join('\n');

describe('parseClusterNodes', () => {
  it('reads ids, addresses (IPv6, hostnames), roles, slot ranges and single slots', () => {
    const nodes = parseClusterNodes(`${HEALTHY}\n${A} 127.0.0.1:7000@17000 master - 0 0 1 connected 0-10 12 [11->-${B}] [20-<-${C}]`);
    expect(nodes.map((n) => [n.id[0], n.host, n.port, n.role, n.masterId?.[0]])).toEqual([
      ['a', '127.0.0.1', 7000, 'master', undefined],
      ['b', '127.0.0.1', 7001, 'master', undefined],
      ['c', '::1', 7002, 'master', undefined],
      ['d', '127.0.0.1', 7003, 'replica', 'a'],
      ['e', '127.0.0.1', 7004, 'master', undefined],
      ['a', '127.0.0.1', 7000, 'master', undefined],
    ]);
    expect(nodes[0]!.slots).toEqual([[0, 5460]]);
    expect(nodes[4]!.slots).toEqual([]);
    const last = nodes[5]!;
    expect(last.slots).toEqual([
      [0, 10],
      [12, 12],
    ]);
    expect([...last.migrating]).toEqual([[11, B]]);
    expect([...last.importing]).toEqual([[20, C]]);
  });
});

describe('stableTopology', () => {
  it('lists every master (one without slots too) and who owns each slot', () => {
    const { masters, ownerOf } = stableTopology(parseClusterNodes(HEALTHY));
    expect(masters.map((m) => m.id[0])).toEqual(['a', 'b', 'c', 'e']);
    expect([0, 5460, 5461, 10922, 10923, 16383].map((s) => ownerOf(s)[0])).toEqual(['a', 'a', 'b', 'b', 'c', 'c']);
  });

  it('refuses a half-migrated slot, a failing master, or a slot nobody serves', () => {
    const migrating = HEALTHY.replace('connected 0-5460', `connected 0-5460 [100->-${B}]`);
    expect(() => stableTopology(parseClusterNodes(migrating))).toThrow(ClusterStateError);
    expect(() => stableTopology(parseClusterNodes(migrating))).toThrow(/slot 100 migrating from 127\.0\.0\.1:7000 to b{40}.*redis-cli --cluster fix/);
    const failing = HEALTHY.replace('master - 0 1700000000000 2', 'master,fail - 0 1700000000000 2');
    expect(() => stableTopology(parseClusterNodes(failing))).toThrow(/Master\(s\) not healthy: 127\.0\.0\.1:7001 \(master,fail\)/);
    const uncovered = HEALTHY.replace('connected 10923-16383', 'connected 10923-16382');
    expect(() => stableTopology(parseClusterNodes(uncovered))).toThrow('Slot 16383 is not served by any master');
  });
});

describe('describeBalance', () => {
  const plan = planBalance([1, 2, 3, 4], () => 'x', ['x', 'y']);
  const result: BalanceResult = {
    namespace: 'app',
    topic: 'orders',
    shards: 4,
    addresses: { x: '10.0.0.1:7000', y: '10.0.0.2:7000' },
    before: plan.before,
    moves: plan.moves,
    planned: plan.after,
    executed: false,
    after: undefined,
    keysMoved: 0,
  };

  it('prints the spread before, each move by address, and the planned spread', () => {
    expect(describeBalance(result).split('\n')).toEqual([
      'topic "orders" of namespace "app", 4 shards',
      'before: 10.0.0.1:7000 4 (100.0 %), 10.0.0.2:7000 0 (0.0 %); max/min ∞ (a master holds no shard) (best possible 1.00×)',
      'plan: 2 slots',
      '  slot 1 (shard 0): 10.0.0.1:7000 → 10.0.0.2:7000',
      '  slot 2 (shard 1): 10.0.0.1:7000 → 10.0.0.2:7000',
      'planned: 10.0.0.1:7000 2 (50.0 %), 10.0.0.2:7000 2 (50.0 %); max/min 1.00× (best possible 1.00×)',
      'nothing moved: apply with `execute: true` (rsp: --execute); whole slots move, other keys in them too',
    ]);
  });

  it('prints the measured spread after an executed plan, and says when there is nothing to do', () => {
    const executed = describeBalance({ ...result, executed: true, after: plan.after, keysMoved: 4 });
    expect(executed).toContain('moved: 2 slots');
    expect(executed.split('\n').at(-1)).toBe('after: 10.0.0.1:7000 2 (50.0 %), 10.0.0.2:7000 2 (50.0 %); max/min 1.00× (best possible 1.00×) (4 keys moved)');
    expect(describeBalance({ ...result, before: plan.after, moves: [], planned: plan.after })).toContain('balanced already: nothing to move');
  });
});
