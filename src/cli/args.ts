import { HEADER_NAME, HEADER_NAME_RULE, nameProblem, RESERVED_TOPICS } from '../names.js';
import type { ParsedArgs } from './command.js';
import { UsageError } from './errors.js';

/**
 * Typed readers of parsed flags. Each throws a `UsageError` that names the flag, what it expects,
 * and what it got.
 */

export function stringFlag(args: ParsedArgs, flag: string): string | undefined {
  const v = args.values[flag];
  return typeof v === 'string' ? v : undefined;
}

export function requiredString(args: ParsedArgs, flag: string, expected: string): string {
  const v = stringFlag(args, flag);
  if (v === undefined || v === '') throw new UsageError(`\`--${flag}\` is required: expected ${expected}`);
  return v;
}

export function booleanFlag(args: ParsedArgs, flag: string): boolean {
  return args.values[flag] === true;
}

export function stringList(args: ParsedArgs, flag: string): string[] {
  const v = args.values[flag];
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).filter((x): x is string => typeof x === 'string');
}

/** An integer flag within [min, max], or `fallback` when absent. */
export function integerFlag(args: ParsedArgs, flag: string, bounds: { min: number; max: number }): number | undefined {
  const raw = stringFlag(args, flag);
  if (raw === undefined) return undefined;
  const n = /^-?\d+$/.test(raw.trim()) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < bounds.min || n > bounds.max) {
    throw new UsageError(`\`--${flag}\` expects an integer from ${bounds.min} to ${bounds.max}, got ${JSON.stringify(raw)}`);
  }
  return n;
}

export function enumFlag<T extends string>(args: ParsedArgs, flag: string, choices: readonly T[], fallback: T): T {
  const raw = stringFlag(args, flag);
  if (raw === undefined) return fallback;
  if (!(choices as readonly string[]).includes(raw)) {
    throw new UsageError(`\`--${flag}\` expects one of ${choices.map((c) => `"${c}"`).join(', ')}, got ${JSON.stringify(raw)}`);
  }
  return raw as T;
}

/** Checks a namespace or topic name with the library's own rules. */
export function checkName(what: string, name: string, { topic = false } = {}): string {
  const problem = nameProblem(name);
  if (problem !== undefined) throw new UsageError(`${what} expects a valid name: it ${problem}, got ${JSON.stringify(name)}`);
  if (topic && RESERVED_TOPICS.has(name)) throw new UsageError(`${what}: the topic name "${name}" is reserved`);
  return name;
}

/** `--topic <name>`, required and valid. */
export function topicFlag(args: ParsedArgs): string {
  return checkName('`--topic`', requiredString(args, 'topic', 'a topic name'), { topic: true });
}

/** `--header k=v`, repeatable: the first `=` splits name from value; the value may be empty. */
export function headerFlags(args: ParsedArgs): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const raw of stringList(args, 'header')) {
    const eq = raw.indexOf('=');
    const name = eq < 0 ? '' : raw.slice(0, eq);
    if (eq < 0 || !HEADER_NAME.test(name)) {
      throw new UsageError(`\`--header\` expects name=value with a name of ${HEADER_NAME_RULE}, got ${JSON.stringify(raw)}`);
    }
    headers[name] = raw.slice(eq + 1);
  }
  return headers;
}
