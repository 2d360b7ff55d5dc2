/** What is known after a failed attempt of a batch. */
export interface FailedAttempt {
  /** The failure may pass (a timeout, a connection error, OOM), as classified by `classifyRedisError`. */
  retriable: boolean;
  /** An attempt of this batch was sent without an answer: it may be in the stream. */
  possiblyPersisted: boolean;
  /** Batches carry a sequence the script recognises (`idempotent`). */
  idempotent: boolean;
  /** When the retry would start (now + backoff) and the batch's deadline, on one clock. */
  retryAt: number;
  deadline: number;
  /** `close()` ran out of time: nothing is retried any more. */
  aborted: boolean;
}

/**
 * Whether to try a failed batch again. A retry after a lost reply is safe only with idempotent
 * batches (the script recognises the sequence and answers with the original ids); without them
 * only failures that prove nothing was written are retried. A retry that could not start before
 * the deadline is not tried: the batch is given up now, not later.
 */
export function mayRetry(attempt: FailedAttempt): boolean {
  const safe = !attempt.possiblyPersisted || attempt.idempotent;
  return attempt.retriable && safe && attempt.retryAt < attempt.deadline && !attempt.aborted;
}
