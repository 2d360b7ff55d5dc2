/**
 * Supply chain: what the published package contains, and a lockfile that matches
 * package.json. No network: `npm pack --dry-run` only lists files.
 *
 * `dist/` is built output (git-ignored), so a fresh checkout has none. The test does not build it:
 * a build inside a unit test is slow, writes into a directory other runs may be using, and would
 * fail this test for a type error anywhere in src/. Instead it checks the parts that decide what
 * ships, whatever exists on disk: the `files` allowlist, that every packed path is inside it, that
 * the package entry points live in `dist/`, and, when `dist/` has been built, that it is packed.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);

interface PackageJson {
  name: string;
  version: string;
  files?: string[];
  main?: string;
  types?: string;
  exports?: Record<string, Record<string, string>>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as PackageJson;

/** The paths `npm pack` would put in the tarball. `--ignore-scripts`: no prepack build, JSON only. */
async function packList(): Promise<string[]> {
  const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: root,
    timeout: 60_000,
    maxBuffer: 16 * 1024 * 1024,
    shell: process.platform === 'win32',
  });
  const [result] = JSON.parse(stdout) as { files: { path: string }[] }[];
  return result!.files.map((f) => f.path.replaceAll('\\', '/')).sort();
}

describe('published package (npm pack --dry-run)', () => {
  it('ships only bin/, dist/, docs/, lua/, the benchmark results the docs show, README.md, LICENSE and package.json', async () => {
    expect([...(pkg.files ?? [])].sort()).toEqual(['LICENSE', 'README.md', 'bench/README.md', 'bench/results/*.md', 'bench/results/*.svg', 'bin', 'dist', 'docs', 'lua']);

    const paths = await packList();
    const stray = paths.filter((p) => !/^(dist|docs|lua)\/|^bench\/results\/[^/]+\.(md|svg)$/.test(p) && !['bin/rsp.js', 'bench/README.md', 'README.md', 'LICENSE', 'package.json'].includes(p));
    expect(stray).toEqual([]);
    for (const required of ['package.json', 'README.md', 'LICENSE', 'bin/rsp.js']) expect(paths).toContain(required);

    // Every script is shipped: the library loads lua/*.lua at start-up.
    const scripts = [...readdirSync(join(root, 'lua')).filter((f) => f.endsWith('.lua')), ...readdirSync(join(root, 'lua', 'include')).map((f) => `include/${f}`)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const script of scripts) expect(paths).toContain(`lua/${script}`);

    // The docs the README and the CLI's help point at travel with the package.
    for (const doc of readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md'))) expect(paths).toContain(`docs/${doc}`);

    if (existsSync(join(root, 'dist', 'index.js'))) {
      expect(paths).toContain('dist/index.js');
      expect(paths).toContain('dist/index.d.ts');
      // No source maps: they would point at src/, which is not shipped.
      expect(paths.filter((p) => p.endsWith('.map'))).toEqual([]);
    }
  }, 60_000);

  it('every relative link in the shipped README and docs, and the CLI help, points at a shipped file', async () => {
    const paths = new Set(await packList());
    const dead: string[] = [];
    for (const doc of ['README.md', ...readdirSync(join(root, 'docs')).map((f) => `docs/${f}`)].filter((f) => f.endsWith('.md'))) {
      for (const [, link] of readFileSync(join(root, doc), 'utf8').matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^(https?:|mailto:|#)/.test(link!)) continue;
        const target = posix.normalize(posix.join(posix.dirname(doc), link!.split('#')[0]!));
        if (!paths.has(target)) dead.push(`${doc} → ${link}`);
      }
    }
    expect(dead).toEqual([]);
    const help = readFileSync(join(root, 'src/cli/help.ts'), 'utf8');
    for (const [, doc] of help.matchAll(/More: (docs\/[\w.-]+\.md)/g)) expect(paths).toContain(doc);
  }, 60_000);

  it('builds dist/ when installed from git (prepare) and leaves out source maps', () => {
    expect((pkg as { scripts?: Record<string, string> }).scripts?.prepare).toBe('npm run build');
    const build = JSON.parse(readFileSync(join(root, 'tsconfig.build.json'), 'utf8')) as { compilerOptions: Record<string, unknown> };
    expect(build.compilerOptions).toMatchObject({ sourceMap: false, declarationMap: false });
  });

  it('installed from its packed tarball, loads in a scratch ESM project and a scratch CommonJS one (require of an ES module, Node ≥ 20.19)', async () => {
    // Needs dist/ (built by `npm ci` through prepare); without it the conditions are checked only.
    if (!existsSync(join(root, 'dist', 'index.js'))) return expect(pkg.exports?.['.']).toHaveProperty('default');
    const scratch = mkdtempSync(join(tmpdir(), 'rsp-pack-'));
    try {
      const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', scratch], { cwd: root, timeout: 60_000, maxBuffer: 16 << 20 });
      const tarball = join(scratch, (JSON.parse(stdout) as { filename: string }[])[0]!.filename);
      const check = "m.Producer.name + ' ' + typeof a.balanceTopic + ' ' + typeof e.readEntry";
      for (const [kind, file, code] of [
        [
          'module',
          'check.mjs',
          `import * as m from 'redis-stream-producer'; import * as a from 'redis-stream-producer/admin'; import * as e from 'redis-stream-producer/entry'; process.stdout.write(${check});`,
        ],
        [
          'commonjs',
          'check.cjs',
          `const m = require('redis-stream-producer'); const a = require('redis-stream-producer/admin'); const e = require('redis-stream-producer/entry'); process.stdout.write(${check});`,
        ],
      ] as const) {
        const project = join(scratch, kind);
        mkdirSync(project);
        writeFileSync(join(project, 'package.json'), JSON.stringify({ name: `scratch-${kind}`, private: true, type: kind }));
        await run('npm', ['install', tarball, '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts'], { cwd: project, timeout: 120_000, maxBuffer: 16 << 20 });
        writeFileSync(join(project, file), code);
        const loaded = await run(process.execPath, ['--no-warnings', file], { cwd: project, timeout: 30_000 });
        expect(loaded.stdout, kind).toBe('Producer function function');
      }
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }, 240_000);

  it('points every entry point into dist/', () => {
    const entries = [pkg.main, pkg.types, ...Object.values(pkg.exports ?? {}).flatMap((e) => Object.values(e))];
    expect(entries.length).toBeGreaterThan(0);
    for (const entry of entries) expect(entry).toMatch(/^\.\/dist\//);
  });

  it('carries the MIT license its package.json declares', () => {
    const license = readFileSync(join(root, 'LICENSE'), 'utf8');
    expect(license).toMatch(/^MIT License/);
    expect(license).toContain('redis-stream-producer contributors');
    expect((pkg as { license?: string }).license).toBe('MIT');
  });
});

describe('lockfile', () => {
  it('package-lock.json records exactly the dependencies package.json asks for', () => {
    const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
      lockfileVersion: number;
      packages: Record<string, { version?: string; dependencies?: Record<string, string>; devDependencies?: Record<string, string> }>;
    };
    expect(lock.lockfileVersion).toBeGreaterThanOrEqual(2);
    const rootEntry = lock.packages['']!;
    // `npm install` rewrites these when package.json changes: a difference means a stale lockfile.
    expect(rootEntry.dependencies ?? {}).toEqual(pkg.dependencies ?? {});
    expect(rootEntry.devDependencies ?? {}).toEqual(pkg.devDependencies ?? {});
    for (const name of Object.keys({ ...pkg.dependencies, ...pkg.devDependencies })) {
      expect(lock.packages[`node_modules/${name}`]?.version, `${name} is not locked`).toBeDefined();
    }
  });
});
