import { describe, expect, it } from 'vitest';
import { evictionPolicy } from '../../src/server-checks.js';

const info = (maxmemory: number, policy: string) => `# Memory\r\nused_memory:1000\r\nmaxmemory:${maxmemory}\r\nmaxmemory_human:x\r\nmaxmemory_policy:${policy}\r\n`;

describe('evictionPolicy', () => {
  it.each(['allkeys-lru', 'allkeys-lfu', 'allkeys-random', 'volatile-lru', 'volatile-lfu', 'volatile-random', 'volatile-ttl'])('%s with maxmemory set: the policy', (policy) => {
    expect(evictionPolicy(info(104857600, policy))).toBe(policy);
  });

  it('noeviction, or no maxmemory at all: nothing is ever evicted', () => {
    expect(evictionPolicy(info(104857600, 'noeviction'))).toBeUndefined();
    expect(evictionPolicy(info(0, 'allkeys-lru'))).toBeUndefined();
  });

  it('a reply without the fields (not INFO memory): no claim', () => {
    expect(evictionPolicy('# Server\r\nredis_version:7.0.15\r\n')).toBeUndefined();
  });
});
