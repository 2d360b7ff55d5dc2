/**
 * Exit codes of `rsp`, documented in docs/cli.md. When several apply, the lowest non-zero one wins
 * (a runtime failure outranks undelivered records, which outrank bad input lines).
 */
export const EXIT = {
  /** Everything the command set out to do was done. */
  ok: 0,
  /** A runtime failure: Redis unreachable or refusing, a topic that does not exist, an I/O error. */
  failure: 1,
  /** A usage error: unknown command or flag, a missing or malformed value. Nothing was done. */
  usage: 2,
  /** Some records were not delivered: parked in the compensation store / journal, or failed. */
  undelivered: 3,
  /** Some input lines were bad: skipped (`--on-error skip`) or the run stopped there (`--on-error stop`). */
  badInput: 4,
  /** Interrupted (SIGINT) after finishing what was accepted: 128 + 2, as shells report it. */
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
