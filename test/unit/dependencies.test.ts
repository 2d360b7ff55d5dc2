import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

/**
 * Supply chain: what a user's `npm install redis-stream-producer` pulls in at run time. A new
 * runtime package (direct or transitive) fails this test on purpose: adding one is a decision,
 * made here in review, not a side effect of an update.
 */
const RUNTIME_PACKAGES = ['@ioredis/commands', 'cluster-key-slot', 'debug', 'denque', 'eventemitter3', 'ioredis', 'ms', 'p-queue', 'p-timeout', 'redis-errors', 'standard-as-callback', 'zod'];

// Versions published by attackers and later pulled from npm; a lockfile must never name them.
const KNOWN_MALICIOUS: Record<string, string[]> = {
  debug: ['4.4.2'], // GHSA-8mgj-vmr8-frr6 (2025-09-08)
};

interface Tree {
  version?: string;
  dependencies?: Record<string, Tree>;
}

function flatten(tree: Tree, out = new Map<string, Set<string>>()): Map<string, Set<string>> {
  for (const [name, dep] of Object.entries(tree.dependencies ?? {})) {
    (out.get(name) ?? out.set(name, new Set()).get(name)!).add(dep.version ?? '?');
    flatten(dep, out);
  }
  return out;
}

describe('runtime dependencies (npm ls --omit=dev)', () => {
  const tree = JSON.parse(execFileSync('npm', ['ls', '--omit=dev', '--all', '--json'], { encoding: 'utf8' })) as Tree;
  const packages = flatten(tree);

  it('are exactly the reviewed set', () => {
    expect([...packages.keys()].sort()).toEqual(RUNTIME_PACKAGES);
  });

  it('name no version known to be malicious', () => {
    for (const [name, bad] of Object.entries(KNOWN_MALICIOUS)) {
      for (const version of packages.get(name) ?? []) expect(bad, `${name}@${version}`).not.toContain(version);
    }
  });
});
