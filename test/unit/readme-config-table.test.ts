import { tmpdir } from 'node:os';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { producerConfigSchema, resolveConfig } from '../../src/config.js';

// The README's configuration table must list every option with the schema's default, so the
// default is written once (in the schema) and the docs cannot drift from it. Nested option groups
// (`compensation`, `compensation.replay`) are listed one row per leaf option.
const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const section = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('\n## ', readme.indexOf('## Configuration') + 1));
const rows = new Map([...section.matchAll(/^\| `([\w.]+)` \| (.+?) \| .+ \|$/gm)].map((m) => [m[1]!, m[2]!.trim()]));

const GROUPS = new Set(['compensation', 'compensation.replay']);

function leaves(value: Record<string, unknown>, shape: Record<string, unknown>, prefix = ''): [string, unknown][] {
  return Object.keys(shape).flatMap((key) => {
    const path = prefix + key;
    if (!GROUPS.has(path)) return [[path, value[key]] as [string, unknown]];
    const inner = (shape[key] as { unwrap?: () => unknown; def: { innerType?: { shape: Record<string, unknown> } } });
    const innerShape = inner.def.innerType?.shape ?? (inner as unknown as { shape: Record<string, unknown> }).shape;
    return leaves(value[key] as Record<string, unknown>, innerShape, `${path}.`);
  });
}

const shown = (value: unknown): string =>
  value === undefined ? '—' : `\`${JSON.stringify(value).replace(JSON.stringify(tmpdir()).slice(1, -1), '<os.tmpdir()>')}\``;

describe('README configuration table', () => {
  const options = leaves(resolveConfig({}) as Record<string, unknown>, producerConfigSchema.shape);

  it.each(options)('documents `%s` with its default', (option, value) => {
    expect(rows.get(option), `README row for ${option}`).toBe(shown(value));
  });

  it('lists exactly the options the schema has', () => {
    expect([...rows.keys()].sort()).toEqual(options.map(([o]) => o).sort());
  });
});
