import { readFileSync } from 'node:fs';

/** A bad command line: the benchmark prints the message alone, without a stack. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/**
 * Command-line flags of a benchmark: `--name value`, `--name=value`, boolean switches, and
 * `--help` (prints the script's header comment). Each value is taken once; `done()` refuses
 * flags nobody asked for.
 */
export class Flags {
  private readonly values = new Map<string, string>();
  private readonly switches = new Set<string>();

  constructor(argv: string[], switches: readonly string[], scriptUrl: string) {
    for (let i = 0; i < argv.length; i++) {
      const arg = argv[i]!;
      if (arg === '--help' || arg === '-h') {
        process.stderr.write(
          readFileSync(new URL(scriptUrl), 'utf8')
            .split('*/')[0]!
            .replace(/^\/\*\*|^ \* ?/gm, '') + '\n',
        );
        process.exit(0);
      }
      if (switches.includes(arg.slice(2)) && arg.startsWith('--')) {
        this.switches.add(arg.slice(2));
        continue;
      }
      const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
      if (!m) throw new UsageError(`Unknown argument ${JSON.stringify(arg)} (try --help)`);
      const value = m[2] ?? argv[++i];
      if (value === undefined) throw new UsageError(`--${m[1]} needs a value`);
      this.values.set(m[1]!, value);
    }
  }

  /** True when the switch (e.g. `no-warmup`) was given. */
  has(name: string): boolean {
    return this.switches.has(name);
  }

  string(name: string): string | undefined {
    const value = this.values.get(name);
    this.values.delete(name);
    return value;
  }

  int(name: string, fallback: number, min = 1): number {
    const raw = this.string(name);
    if (raw === undefined) return fallback;
    const n = Number(raw.replace(/_/g, ''));
    if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer ≥ ${min}, got ${JSON.stringify(raw)}`);
    return n;
  }

  /** Throws when a flag was given that no `string()`/`int()` call took. */
  done(): void {
    if (this.values.size > 0) throw new UsageError(`Unknown flag(s): ${[...this.values.keys()].map((k) => `--${k}`).join(', ')} (try --help)`);
  }
}
