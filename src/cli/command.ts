import type { Cluster, Redis } from 'ioredis';
import type { CliIo } from './io.js';
import type { RedisTarget } from './target.js';

/** One flag of a command, as `node:util` `parseArgs` takes it, plus its help text. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  multiple?: boolean;
  short?: string;
  /** Placeholder shown in help, e.g. `<name>`. */
  value?: string;
  description: string;
}

/** What `parseArgs` returned for the command's flags and positionals. */
export interface ParsedArgs {
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  positionals: string[];
}

/** What a command gets to run: its arguments, the process's streams, and a Redis connection on demand. */
export interface CommandContext {
  io: CliIo;
  args: ParsedArgs;
  /** `--json`: one JSON object (or JSON lines) on stdout instead of text. */
  json: boolean;
  /** `--namespace`, or the library's default. */
  namespace: string;
  /** Where `redis()` connects. */
  target: RedisTarget;
  /** Connects (once) and resolves with a ready client; the runner closes it after the command. */
  redis(): Promise<Redis | Cluster>;
}

/**
 * One `rsp` command. Each lives in its own file under `commands/` and is listed once in
 * `commands/index.ts`.
 */
export interface Command {
  /** The words after `rsp`, e.g. `['topic', 'describe']`. */
  path: readonly string[];
  /** One line for the command list. */
  summary: string;
  /** What follows the command words in the usage line, e.g. `<topic> [options]`. */
  usage: string;
  /** Shown under the usage line in `--help`. */
  description?: string;
  /** The command's own flags (the connection flags are added to every command). */
  options: Record<string, OptionSpec>;
  /** Names of the positional arguments, in order; any other count is a usage error. */
  positionals?: readonly string[];
  /** Example command lines for `--help`. */
  examples?: readonly string[];
  /** Does the work; resolves with the exit code (see exit-codes.ts). */
  run(ctx: CommandContext): Promise<number>;
}
