import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Cluster, Redis } from 'ioredis';
import { resolveConfig } from '../config.js';
import { redactCredentials } from '../credentials.js';
import { openConnection, whenReady, withDeadline } from '../connection.js';
import { RequestTimeoutError } from '../errors.js';
import { checkName, stringFlag } from './args.js';
import type { Command, CommandContext, ParsedArgs } from './command.js';
import { COMMANDS } from './commands/index.js';
import { CliFailure, UsageError } from './errors.js';
import { EXIT } from './exit-codes.js';
import { commandHelp, commandName, GLOBAL_OPTIONS, overviewHelp } from './help.js';
import { println, type CliIo } from './io.js';
import { resolveTarget } from './target.js';

/** How long connecting (and closing) may take before the command fails. */
const CONNECT_TIMEOUT_MS = 5_000;

/**
 * Runs one `rsp` command line and resolves with its exit code; never throws. Errors are printed on
 * stderr as `rsp <command>: …`, with credentials masked.
 */
export async function runCli(argv: readonly string[], io: CliIo, commands: readonly Command[] = COMMANDS): Promise<number> {
  const first = argv[0];
  if (first === undefined) {
    io.stderr.write(overviewHelp(commands));
    return EXIT.usage;
  }
  if (first === '--help' || first === '-h') {
    io.stdout.write(overviewHelp(commands));
    return EXIT.ok;
  }
  if (first === '--version' || first === '-V') {
    println(io.stdout, version());
    return EXIT.ok;
  }
  const found = findCommand(argv[0] === 'help' ? argv.slice(1) : argv, commands);
  if (argv[0] === 'help') {
    io.stdout.write(found.command ? commandHelp(found.command) : overviewHelp(commands, found.group));
    return EXIT.ok;
  }
  if (!found.command) {
    const rest = argv.slice(found.words.length);
    if (found.group !== undefined && (rest.includes('--help') || rest.includes('-h'))) {
      io.stdout.write(overviewHelp(commands, found.group));
      return EXIT.ok;
    }
    const what =
      found.group === undefined
        ? `unknown command ${JSON.stringify(first)}`
        : `"rsp ${found.group}" needs a subcommand${rest[0] && !rest[0].startsWith('-') ? `; unknown: ${JSON.stringify(rest[0])}` : ''}`;
    io.stderr.write(`rsp: ${what}\n\n${overviewHelp(commands, found.group)}`);
    return EXIT.usage;
  }
  return runCommand(found.command, argv.slice(found.words.length), io);
}

async function runCommand(command: Command, argv: readonly string[], io: CliIo): Promise<number> {
  const name = commandName(command);
  let client: Redis | Cluster | undefined;
  try {
    const args = parse(command, argv);
    if (args.values.help === true) {
      io.stdout.write(commandHelp(command));
      return EXIT.ok;
    }
    const defaults = resolveConfig({});
    const namespaceFlag = stringFlag(args, 'namespace');
    const namespace = namespaceFlag === undefined ? defaults.namespace : checkName('`--namespace`', namespaceFlag);
    const target = resolveTarget({ redis: stringFlag(args, 'redis'), cluster: stringFlag(args, 'cluster') }, io.env, defaults.redis as string);
    let connecting: Promise<Redis | Cluster> | undefined;
    const ctx: CommandContext = {
      io,
      args,
      json: args.values.json === true,
      namespace,
      target,
      redis: () =>
        (connecting ??= (async () => {
          client = openConnection(target.redis).client;
          // Later connection errors surface through the command's own calls; without a listener
          // ioredis would print each one. The last one explains a failed connect.
          let lastError: unknown;
          client.on('error', (err: unknown) => (lastError = err));
          try {
            await whenReady(client, CONNECT_TIMEOUT_MS);
          } catch (err) {
            const why = err instanceof RequestTimeoutError ? `no answer within ${CONNECT_TIMEOUT_MS / 1000} s${lastError ? ` (${message(lastError)})` : ''}` : message(err);
            throw new CliFailure(`could not connect to Redis at ${target.display}: ${why}`);
          }
          return client;
        })()),
    };
    return await command.run(ctx);
  } catch (err) {
    const usage = err instanceof UsageError;
    const exitCode = usage ? EXIT.usage : EXIT.failure;
    const text = redactCredentials(message(err));
    if (argv.includes('--json')) {
      // A script reading --json output gets its error in the same form (one object on stderr).
      println(io.stderr, JSON.stringify({ error: { kind: usage ? 'usage' : 'failure', message: text, exitCode } }));
    } else if (usage) {
      io.stderr.write(`${name}: ${text}\nRun "${name} --help" for usage.\n`);
    } else {
      io.stderr.write(`${name}: error: ${text}\n`);
    }
    return exitCode;
  } finally {
    if (client) await closeQuietly(client);
  }
}

/** Parses the command's flags plus the global ones; a parse error becomes a `UsageError`. */
function parse(command: Command, argv: readonly string[]): ParsedArgs {
  let parsed: ParsedArgs;
  try {
    parsed = parseArgs({ args: [...argv], options: { ...GLOBAL_OPTIONS, ...command.options }, allowPositionals: true, strict: true }) as ParsedArgs;
  } catch (err) {
    // parseArgs' messages name the flag: "Unknown option '--foo'", "Option '--topic <value>' argument missing".
    throw new UsageError(message(err).split('. To specify a positional')[0]!);
  }
  if (parsed.values.help === true) return parsed;
  const expected = command.positionals ?? [];
  if (parsed.positionals.length !== expected.length) {
    const want = expected.length === 0 ? 'no positional arguments' : expected.map((p) => `<${p}>`).join(' ');
    throw new UsageError(`expects ${want}, got ${parsed.positionals.length === 0 ? 'none' : parsed.positionals.map((p) => JSON.stringify(p)).join(' ')}`);
  }
  return parsed;
}

interface Found {
  command: Command | undefined;
  /** The command words matched. */
  words: string[];
  /** The group named when no whole command matched (`rsp topic`). */
  group: string | undefined;
}

/** Matches the leading words of `argv` against the command paths. */
function findCommand(argv: readonly string[], commands: readonly Command[]): Found {
  const words: string[] = [];
  for (const word of argv) {
    if (word.startsWith('-')) break;
    const candidate = [...words, word];
    if (!commands.some((c) => candidate.every((w, i) => c.path[i] === w))) break;
    words.push(word);
    const exact = commands.find((c) => c.path.length === words.length && c.path.every((w, i) => w === words[i]));
    if (exact) return { command: exact, words, group: undefined };
  }
  return { command: undefined, words, group: words[0] };
}

async function closeQuietly(client: Redis | Cluster): Promise<void> {
  if (client.status === 'end') return;
  try {
    if (client.status === 'ready') await withDeadline(client.quit(), CONNECT_TIMEOUT_MS, 'QUIT');
    else client.disconnect();
  } catch {
    client.disconnect();
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { name: string; version: string };
  return `${pkg.name} ${pkg.version}`;
}
