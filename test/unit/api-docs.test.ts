import { describe, expect, it } from 'vitest';
import { undocumentedApi } from '../../scripts/api-docs.js';

describe('public API documentation', () => {
  // Builds a TypeScript program of src/: slow on a busy machine, hence the long timeout.
  it('has TSDoc on every export of src/index.ts and on each public member', { timeout: 120_000 }, () => {
    const missing = undocumentedApi();
    expect(missing, 'exports or members without TSDoc (run `npx tsx scripts/api-docs.ts`)').toEqual([]);
  });
});
