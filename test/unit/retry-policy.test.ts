import { describe, expect, it } from 'vitest';
import { mayRetry, type FailedAttempt } from '../../src/retry-policy.js';

const base: FailedAttempt = { retriable: true, possiblyPersisted: false, idempotent: true, retryAt: 100, deadline: 1_000, aborted: false };

describe('mayRetry', () => {
  it('retries a retriable failure that can start before the deadline', () => {
    expect(mayRetry(base)).toBe(true);
  });

  it('never retries a failure that cannot pass (WRONGTYPE, a bad reply)', () => {
    expect(mayRetry({ ...base, retriable: false })).toBe(false);
  });

  it('retries a batch that may have landed only when batches are idempotent', () => {
    expect(mayRetry({ ...base, possiblyPersisted: true })).toBe(true);
    expect(mayRetry({ ...base, possiblyPersisted: true, idempotent: false })).toBe(false);
    expect(mayRetry({ ...base, possiblyPersisted: false, idempotent: false })).toBe(true);
  });

  it('gives up now when the retry would start at or after the deadline', () => {
    expect(mayRetry({ ...base, retryAt: 999 })).toBe(true);
    expect(mayRetry({ ...base, retryAt: 1_000 })).toBe(false);
  });

  it('never retries once close() gave up', () => {
    expect(mayRetry({ ...base, aborted: true })).toBe(false);
  });
});
