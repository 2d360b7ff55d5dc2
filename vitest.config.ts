import { defineConfig } from 'vitest/config';

// Unit tests need no server. The shared integration tests (test/integration/*.test.ts) run twice:
// against one standalone Redis and against a real 3-master cluster, so no feature is
// standalone-only by accident. Tests that start, kill or proxy their own servers live in
// standalone/ (and cluster/ for cluster faults) and run once.
const integration = { testTimeout: 30_000, hookTimeout: 60_000 };

export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      {
        test: {
          name: 'integration',
          include: ['test/integration/*.test.ts', 'test/integration/standalone/**/*.test.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          ...integration,
        },
      },
      // The fixed quick set of seeded fault schedules (chaos/README.md); it starts its own servers.
      { test: { name: 'chaos', include: ['chaos/**/*.test.ts'], testTimeout: 300_000 } },
      {
        test: {
          name: 'cluster',
          include: ['test/integration/*.test.ts', 'test/integration/cluster/**/*.test.ts'],
          globalSetup: ['test/support/global-setup-cluster.ts'],
          ...integration,
        },
      },
    ],
  },
});
