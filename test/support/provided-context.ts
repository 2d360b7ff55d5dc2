// What the global setup hands to test files through `inject()`.
import 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** URL of the standalone Redis the tests share. */
    redisUrl: string;
  }
}
