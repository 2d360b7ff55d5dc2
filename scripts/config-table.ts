/**
 * Writes the configuration table of docs/configuration.md from the zod schema in src/config.ts, so
 * each option's default, bounds and meaning are written once, in the schema (STYLE.md).
 *
 *   npm run docs:config             rewrite the table between the markers
 *   npm run docs:config -- --check  exit 1 when the table is out of date (what the unit test checks)
 *
 * The table sits between `<!-- config-table:start -->` and `<!-- config-table:end -->` in every
 * file of TABLE_FILES; everything outside the markers is left as it is.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { producerConfigSchema } from '../src/config.js';

export const START_MARKER = '<!-- config-table:start -->';
export const END_MARKER = '<!-- config-table:end -->';

/** Files that hold a generated table, relative to the repository root. */
export const TABLE_FILES = ['docs/configuration.md'] as const;

/** The command that regenerates the tables; error messages name it. */
export const REGENERATE = 'npm run docs:config';

/** One row of the table: a leaf option, with nested groups flattened into `a.b.c` paths. */
export interface OptionRow {
  option: string;
  /** The default as it would appear in code, or undefined when the option has none. */
  default: unknown;
  /** What values are accepted (type and bounds). */
  accepts: string;
  description: string;
}

/** The slice of JSON Schema that `z.toJSONSchema()` produces for our options. */
interface JsonSchema {
  type?: string;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  default?: unknown;
  description?: string;
  /** Our own metadata (`.meta({ accepts })`) for options whose type JSON Schema cannot name. */
  accepts?: string;
  properties?: Record<string, JsonSchema>;
}

/**
 * The rows of `schema` in declaration order. An object option that has a default (a group such as
 * `compensation`) is flattened into its own options; every other option is one row. Throws when an
 * option has no description, or a type the table cannot name without `.meta({ accepts })`.
 */
export function optionRows(schema: z.ZodType): OptionRow[] {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const rows: OptionRow[] = [];
  const walk = (properties: Record<string, JsonSchema>, prefix: string): void => {
    for (const [key, option] of Object.entries(properties)) {
      const path = prefix + key;
      if (option.properties && option.default !== undefined) {
        walk(option.properties, `${path}.`);
        continue;
      }
      if (!option.description) {
        throw new Error(`Option \`${path}\` has no description: add .describe('…') to it in src/config.ts`);
      }
      rows.push({ option: path, default: option.default, accepts: accepts(path, option), description: option.description });
    }
  };
  walk(json.properties ?? {}, '');
  return rows;
}

function accepts(path: string, option: JsonSchema): string {
  if (option.accepts) return option.accepts;
  if (option.enum) return option.enum.map((v) => `\`${JSON.stringify(v)}\``).join(' | ');
  if (option.type === 'boolean') return 'boolean';
  if (option.type === 'string') return 'string';
  if (option.type === 'integer' && option.minimum !== undefined && option.maximum !== undefined) {
    return `integer ${option.minimum}–${option.maximum}`;
  }
  throw new Error(`Option \`${path}\` has a type the table cannot name: add .meta({ accepts: '…' }) to it in src/config.ts`);
}

/** A default as a reader would write it; the temp dir, which differs per machine, as `<os.tmpdir()>`. */
export function showDefault(value: unknown, tempDir = tmpdir()): string {
  if (value === undefined) return '—';
  const json = JSON.stringify(value);
  return `\`${tempDir ? json.replaceAll(JSON.stringify(tempDir).slice(1, -1), '<os.tmpdir()>') : json}\``;
}

/** A table cell: one line, and a `|` that would end the cell escaped. */
const cell = (text: string): string => text.replace(/\s*\n\s*/g, ' ').replace(/\|/g, '\\|');

/** The Markdown table of `rows`. */
export function renderTable(rows: readonly OptionRow[], tempDir = tmpdir()): string {
  const lines = ['| option | default | accepts | meaning |', '|---|---|---|---|'];
  for (const row of rows) {
    lines.push(`| \`${row.option}\` | ${cell(showDefault(row.default, tempDir))} | ${cell(row.accepts)} | ${cell(row.description)} |`);
  }
  return lines.join('\n');
}

/** The table of the producer's own schema. */
export function configTable(): string {
  return renderTable(optionRows(producerConfigSchema));
}

/** `text` with the part between the markers replaced by `table`. Throws when the markers are missing. */
export function replaceTable(text: string, table: string, file = 'the file'): string {
  const start = text.indexOf(START_MARKER);
  const end = text.indexOf(END_MARKER);
  if (start < 0 || end < start) throw new Error(`${file} has no ${START_MARKER} … ${END_MARKER} markers`);
  return `${text.slice(0, start + START_MARKER.length)}\n${table}\n${text.slice(end)}`;
}

const root = new URL('..', import.meta.url);

/** Files whose table differs from the schema's, relative to the repository root. */
export function staleFiles(): string[] {
  const table = configTable();
  return TABLE_FILES.filter((file) => {
    const text = readFileSync(new URL(file, root), 'utf8');
    return replaceTable(text, table, file) !== text;
  });
}

function main(argv: string[]): void {
  if (argv.includes('--check')) {
    const stale = staleFiles();
    for (const file of stale) console.error(`${file}: the configuration table is out of date; run \`${REGENERATE}\``);
    process.exitCode = stale.length > 0 ? 1 : 0;
    return;
  }
  const table = configTable();
  for (const file of TABLE_FILES) {
    const url = new URL(file, root);
    const text = readFileSync(url, 'utf8');
    const updated = replaceTable(text, table, file);
    if (updated === text) {
      console.log(`${file}: up to date`);
    } else {
      writeFileSync(url, updated);
      console.log(`${file}: table written`);
    }
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main(process.argv.slice(2));
