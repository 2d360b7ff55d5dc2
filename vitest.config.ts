import { defineConfig } from 'vitest/config';

// Two projects: unit tests need no server; integration tests share one real Redis started by the
// global setup (REDIS_URL → redis-server on PATH → Testcontainers → a failing run saying how).
export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
    ],
  },
});
