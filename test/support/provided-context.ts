// What the global setups hand to test files through `inject()`.
import 'vitest';

/** The Redis a test project runs against: one standalone server, or a cluster. */
export type RedisTarget = { kind: 'standalone'; url: string } | { kind: 'cluster'; nodes: { host: string; port: number }[] };

declare module 'vitest' {
  export interface ProvidedContext {
    redisTarget: RedisTarget;
  }
}
