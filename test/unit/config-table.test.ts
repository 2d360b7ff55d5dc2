import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { producerConfigSchema, resolveConfig } from '../../src/config.js';
import { configTable, optionRows, REGENERATE, renderTable, replaceTable, showDefault, TABLE_FILES } from '../../scripts/config-table.js';

// The configuration table in the docs is generated from the zod schema (scripts/config-table.ts),
// so each default, bound and meaning is written once, in src/config.ts.
describe('generated configuration table', () => {
  it.each(TABLE_FILES)('%s is up to date with src/config.ts', (file) => {
    const text = readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8');
    const table = configTable();
    expect(replaceTable(text, table, file) === text, `${file}: the configuration table is out of date; run \`${REGENERATE}\``).toBe(true);
  });

  it('has one row per leaf option, with the default resolveConfig() applies', () => {
    const resolved = resolveConfig({}) as Record<string, unknown>;
    const at = (path: string) => path.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], resolved);
    const rows = optionRows(producerConfigSchema);
    expect(rows.map((r) => r.option)).toContain('compensation.replay.leaseMs');
    expect(rows.map((r) => r.option)).not.toContain('compensation');
    for (const row of rows) expect(row.default, row.option).toEqual(at(row.option));
  });
});

describe('table generator', () => {
  const schema = z.strictObject({
    size: z.number().int().min(1).max(10).default(3).describe('How big.'),
    mode: z.enum(['a', 'b']).default('a').describe('Which mode | pipe.'),
    name: z.string().optional().describe('A name.'),
    group: z.strictObject({ on: z.boolean().default(true).describe('Switch.') }).prefault({}),
    custom: z
      .custom<() => void>((v) => typeof v === 'function')
      .optional()
      .meta({ description: 'A hook.', accepts: 'function' }),
  });

  it('flattens groups, names types and bounds, escapes pipes', () => {
    expect(renderTable(optionRows(schema), '/tmp')).toBe(
      [
        '| option | default | accepts | meaning |',
        '|---|---|---|---|',
        '| `size` | `3` | integer 1–10 | How big. |',
        '| `mode` | `"a"` | `"a"` \\| `"b"` | Which mode \\| pipe. |',
        '| `name` | — | string | A name. |',
        '| `group.on` | `true` | boolean | Switch. |',
        '| `custom` | — | function | A hook. |',
      ].join('\n'),
    );
  });

  it('refuses an option without a description, naming it', () => {
    expect(() => optionRows(z.strictObject({ quiet: z.boolean().default(false) }))).toThrow(/`quiet` has no description/);
  });

  it('refuses a type it cannot name without .meta({ accepts })', () => {
    const hook = z.strictObject({
      hook: z
        .custom<() => void>(() => true)
        .optional()
        .describe('A hook.'),
    });
    expect(() => optionRows(hook)).toThrow(/`hook` has a type the table cannot name/);
  });

  it('shows the machine-dependent temp dir as <os.tmpdir()>', () => {
    expect(showDefault('/var/tmp/x/journal', '/var/tmp/x')).toBe('`"<os.tmpdir()>/journal"`');
    expect(showDefault(undefined)).toBe('—');
  });

  it('replaces only what is between the markers, and needs them', () => {
    const doc = 'intro\n<!-- config-table:start -->\nold\n<!-- config-table:end -->\noutro\n';
    expect(replaceTable(doc, 'new')).toBe('intro\n<!-- config-table:start -->\nnew\n<!-- config-table:end -->\noutro\n');
    expect(() => replaceTable('no markers', 'new', 'README.md')).toThrow(/README.md has no/);
  });
});
