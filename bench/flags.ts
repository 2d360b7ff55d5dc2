import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

/** A bad command line: the benchmark prints the message alone, without a stack. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/**
 * Command-line flags of a benchmark, parsed by `util.parseArgs` (strict: an undeclared flag is a
 * `UsageError`): `--name value`, `--name=value`, switches, positionals where allowed, and `--help`
 * (prints the script's header comment).
 */
export class Flags {
  private readonly values: Record<string, string | boolean | undefined>;
  readonly positionals: string[];

  /** `options` names each flag (without `--`) and whether it takes a value (`string`) or not (`boolean`). */
  constructor(argv: string[], options: Record<string, 'string' | 'boolean'>, scriptUrl: string, allowPositionals = false) {
    if (argv.includes('--help') || argv.includes('-h')) {
      process.stderr.write(
        `${readFileSync(new URL(scriptUrl), 'utf8')
          .split('*/')[0]!
          .replace(/^\/\*\*|^ \* ?/gm, '')}\n`,
      );
      process.exit(0);
    }
    try {
      const parsed = parseArgs({ args: argv, options: Object.fromEntries(Object.entries(options).map(([name, type]) => [name, { type }])), strict: true, allowPositionals });
      this.values = parsed.values;
      this.positionals = parsed.positionals;
    } catch (err) {
      throw new UsageError(`${(err as Error).message} (try --help)`);
    }
  }

  /** True when the switch (e.g. `no-warmup`) was given. */
  has(name: string): boolean {
    return this.values[name] === true;
  }

  string(name: string): string | undefined {
    const value = this.values[name];
    return typeof value === 'string' ? value : undefined;
  }

  int(name: string, fallback: number, min = 1): number {
    const raw = this.string(name);
    if (raw === undefined) return fallback;
    const n = Number(raw.replace(/_/g, ''));
    if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer ≥ ${min}, got ${JSON.stringify(raw)}`);
    return n;
  }
}
