import type { Command, OptionSpec } from './command.js';

/** Flags every command takes: where to connect, which namespace, and the output format. */
export const GLOBAL_OPTIONS = {
  redis: { type: 'string', value: '<url>', description: 'Redis URL (redis:// or rediss://). Default: $REDIS_URL, else redis://127.0.0.1:6379' },
  cluster: { type: 'string', value: '<host:port,…>', description: 'Redis Cluster seed nodes instead of --redis. Default: $REDIS_CLUSTER_NODES' },
  namespace: { type: 'string', value: '<name>', description: 'Key namespace, the first part of every key {ns:topic:shard}. Default: "rsp", as the library' },
  json: { type: 'boolean', description: 'Machine-readable output on stdout: one JSON object (JSON lines for tail and list)' },
  help: { type: 'boolean', short: 'h', description: 'Show this help' },
} as const satisfies Record<string, OptionSpec>;

const EXIT_LINE = 'Exit codes: 0 ok · 1 runtime failure · 2 usage error · 3 records not delivered (parked or failed) · 4 bad input lines · 130 interrupted';

function optionLines(options: Record<string, OptionSpec>): string[] {
  const rows = Object.entries(options).map(([name, spec]) => {
    const flag = `${spec.short ? `-${spec.short}, ` : ''}--${name}${spec.value ? ` ${spec.value}` : ''}${spec.multiple ? ' …' : ''}`;
    return [flag, spec.description] as const;
  });
  const width = Math.min(30, Math.max(...rows.map(([flag]) => flag.length)));
  return rows.map(([flag, description]) => `  ${flag.padEnd(width)}  ${description}`);
}

export function commandName(command: Command): string {
  return `rsp ${command.path.join(' ')}`;
}

/** `rsp <command> --help`. */
export function commandHelp(command: Command): string {
  const lines = [`${commandName(command)}: ${command.summary}`, '', `Usage: ${commandName(command)} ${command.usage}`];
  if (command.description) lines.push('', command.description);
  if (Object.keys(command.options).length > 0) lines.push('', 'Options:', ...optionLines(command.options));
  lines.push('', 'Connection and output (every command):', ...optionLines(GLOBAL_OPTIONS));
  if (command.examples?.length) lines.push('', 'Examples:', ...command.examples.map((e) => `  ${e}`));
  lines.push('', EXIT_LINE);
  return `${lines.join('\n')}\n`;
}

/** `rsp --help`, or the commands of one group (`rsp topic --help`). */
export function overviewHelp(commands: readonly Command[], group?: string): string {
  const shown = group === undefined ? commands : commands.filter((c) => c.path[0] === group);
  const names = shown.map((c) => `${c.path.join(' ')}${c.positionals?.length ? ` ${c.positionals.map((p) => `<${p}>`).join(' ')}` : ''}`);
  const width = Math.max(...names.map((n) => n.length));
  const lines = [
    group === undefined ? 'rsp: the command-line tool of redis-stream-producer (a Kafka-style producer for Redis Streams)' : `rsp ${group}: subcommands`,
    '',
    `Usage: rsp ${group ?? '<command>'} ${group === undefined ? '' : '<subcommand> '}[options]`,
    '',
    'Commands:',
    ...shown.map((c, i) => `  ${names[i]!.padEnd(width)}  ${c.summary}`),
    '',
    'Run "rsp <command> --help" for its options. Connection: --redis <url> or $REDIS_URL (default',
    'redis://127.0.0.1:6379); a cluster: --cluster host:port,… or $REDIS_CLUSTER_NODES. More: docs/cli.md',
    '',
    EXIT_LINE,
  ];
  return `${lines.join('\n')}\n`;
}
