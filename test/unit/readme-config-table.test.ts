import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { producerConfigSchema, resolveConfig } from '../../src/config.js';

// The README's configuration table must list every option with the schema's default, so the
// default is written once (in the schema) and the docs cannot drift from it.
const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const section = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('\n## ', readme.indexOf('## Configuration') + 1));
const rows = new Map([...section.matchAll(/^\| `(\w+)` \| (.+?) \| .+ \|$/gm)].map((m) => [m[1]!, m[2]!.trim()]));

describe('README configuration table', () => {
  const defaults = resolveConfig({}) as Record<string, unknown>;
  const options = Object.keys(producerConfigSchema.shape);

  it.each(options)('documents `%s` with its default', (option) => {
    const value = defaults[option];
    expect(rows.get(option), `README row for ${option}`).toBe(value === undefined ? '—' : `\`${JSON.stringify(value)}\``);
  });

  it('lists exactly the options the schema has', () => {
    expect([...rows.keys()].sort()).toEqual([...options].sort());
  });
});
