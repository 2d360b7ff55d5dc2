/**
 * The TypeScript examples in README.md and docs/ type-check against the package's own API, as a user
 * would paste them (imports from 'redis-stream-producer' resolve to src/). An example that goes on
 * from an earlier one gets its `producer` declared. No Redis: nothing runs.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const DOCS = [
  'README.md',
  ...readdirSync(`${root}docs`)
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

/** The ```ts blocks of a Markdown file. */
function snippets(file: string): string[] {
  return [...readFileSync(`${root}${file}`, 'utf8').matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
}

function typeErrors(files: Map<string, string>): string[] {
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: ['node'],
    baseUrl: root,
    paths: {
      'redis-stream-producer': ['src/index.ts'],
      'redis-stream-producer/otel': ['src/otel.ts'],
      'redis-stream-producer/admin': ['src/admin/index.ts'],
      'redis-stream-producer/entry': ['src/entry.ts'],
    },
  };
  const host = ts.createCompilerHost(options);
  const read = host.readFile.bind(host);
  host.readFile = (name) => files.get(name) ?? read(name);
  const exists = host.fileExists.bind(host);
  host.fileExists = (name) => files.has(name) || exists(name);
  const program = ts.createProgram([...files.keys()], options, host);
  return ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file !== undefined && files.has(d.file.fileName))
    .map((d) => `${d.file!.fileName.slice(root.length)}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
}

describe('documentation examples', () => {
  it('every TypeScript example in the README and the docs type-checks', () => {
    const files = new Map<string, string>();
    for (const doc of DOCS) {
      // A .mts beside the package.json ("type": "module"), so top-level await is allowed.
      for (const [i, code] of snippets(doc).entries())
        files.set(
          `${root}test/unit/__snippet-${doc.replace(/\W/g, '-')}-${i}.mts`,
          `${/\bconst producer\b/.test(code) ? '' : "declare const producer: import('redis-stream-producer').Producer;\n"}${code}\nexport {};\n`,
        );
    }
    expect(files.size).toBeGreaterThan(0);
    expect(typeErrors(files)).toEqual([]);
  }, 60_000);
});
