import { EXIT } from './exit-codes.js';

/** The command line itself is wrong (exit 2): the message names the flag and what it expects. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly exitCode = EXIT.usage;
}

/** The command could not do its job for a reason outside the command line (exit 1). */
export class CliFailure extends Error {
  override readonly name = 'CliFailure';
  readonly exitCode = EXIT.failure;
}
