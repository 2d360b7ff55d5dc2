/**
 * The `rsp` command line, driven as users run it: the real binary (bin/rsp.js loading the compiled
 * dist/) spawned as a child process against the test Redis (standalone, and the cluster project).
 *
 * beforeAll compiles src/ into a temp directory laid out like the installed package (bin/, dist/,
 * lua/, package.json, node_modules), so the checkout's own dist/ is neither needed nor touched and
 * the spawned code is the build a published package would run.
 */
import { execFile, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Cluster } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/redis-server.js';
import { eventually, readStream, redisTarget, Resources, uniqueNamespace } from '../support/helpers.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'rsp-cli-test-'));
let bin = '';

/** Compiles src/ into `<work>/pkg` with the installed package's layout; returns its bin/rsp.js. */
async function buildPackage(): Promise<string> {
  const pkg = join(work, 'pkg');
  mkdirSync(join(pkg, 'bin'), { recursive: true });
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const args = [tsc, '-p', 'tsconfig.build.json', '--outDir', join(pkg, 'dist'), '--declaration', 'false', '--sourceMap', 'false'];
  // tsc still emits when a file elsewhere in src/ has a type error; only a missing CLI build fails here.
  const diagnostics = await promisify(execFile)(process.execPath, args, { cwd: root, maxBuffer: 16 << 20 }).then(
    () => '',
    (err: { stdout?: string }) => err.stdout ?? String(err),
  );
  const cliErrors = diagnostics.split('\n').filter((line) => line.startsWith('src/cli/'));
  expect(cliErrors, 'type errors in src/cli').toEqual([]);
  expect(existsSync(join(pkg, 'dist', 'cli', 'main.js')), diagnostics).toBe(true);
  symlinkSync(join(root, 'lua'), join(pkg, 'lua'));
  symlinkSync(join(root, 'node_modules'), join(pkg, 'node_modules'));
  copyFileSync(join(root, 'package.json'), join(pkg, 'package.json'));
  copyFileSync(join(root, 'bin', 'rsp.js'), join(pkg, 'bin', 'rsp.js'));
  return join(pkg, 'bin', 'rsp.js');
}

/** The connection environment a user would set for this target; the other variable is removed. */
function targetEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.REDIS_URL;
  delete env.REDIS_CLUSTER_NODES;
  const target = redisTarget();
  if (target.kind === 'standalone') env.REDIS_URL = target.url;
  else env.REDIS_CLUSTER_NODES = target.nodes.map((n) => `${n.host}:${n.port}`).join(',');
  return env;
}

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface RunOptions {
  input?: string;
  env?: NodeJS.ProcessEnv;
  /** Called with the output so far; may send a signal. */
  onOutput?: (stdout: string, kill: (signal: NodeJS.Signals) => void) => void;
}

/** Spawns `rsp <args>` and collects its output and exit code. */
function rsp(args: string[], { input, env = targetEnv(), onOutput }: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      onOutput?.(stdout, (s) => child.kill(s));
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.on('error', () => undefined); // a run that stops early closes its stdin
    child.stdin.end(input ?? '');
  });
}

/** Every entry of every shard of a topic, as [shard, id, fields]. */
async function topicEntries(admin: ReturnType<Resources['admin']>, ns: string, topic: string, shards: number) {
  const all: { shard: number; id: string; fields: string[] }[] = [];
  for (let shard = 0; shard < shards; shard++) {
    for (const [id, fields] of await readStream(admin, `{${ns}:${topic}:${shard}}`)) all.push({ shard, id, fields });
  }
  return all;
}

const field = (fields: string[], name: string) => fields[fields.indexOf(name) + 1];
const lines = (text: string) => text.split('\n').filter((l) => l !== '');

const resources = new Resources();
beforeAll(async () => {
  bin = await buildPackage();
}, 240_000);
afterEach(() => resources.closeAll());
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('rsp: help and usage errors', () => {
  it('prints --help for rsp and every command, exit 0', async () => {
    const commands = [
      ['produce'],
      ['tail'],
      ['topic', 'describe'],
      ['compensation', 'stats'],
      ['compensation', 'list'],
      ['compensation', 'replay'],
      ['compensation', 'purge'],
      ['compensation', 'requeue-dead'],
    ];
    const top = await rsp(['--help']);
    expect(top.code).toBe(0);
    for (const c of commands) expect(top.stdout).toContain(`  ${c.join(' ')}`);
    const runs = await Promise.all(commands.map((c) => rsp([...c, '--help'])));
    runs.forEach((run, i) => {
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toContain(`Usage: rsp ${commands[i]!.join(' ')}`);
      expect(run.stdout).toContain('--redis <url>');
      expect(run.stdout).toContain('Exit codes: 0 ok');
    });
  });

  it('names the flag and the expected value, exit 2, before touching Redis', async () => {
    const [unknown, format, keyField, missing, command, codec, minBytes] = await Promise.all([
      rsp(['produce', '--topic', 'a', '--bogus']),
      rsp(['produce', '--topic', 'a', '--format', 'csv']),
      rsp(['produce', '--topic', 'a', '--key-field', 'id']),
      rsp(['tail']),
      rsp(['nope']),
      rsp(['produce', '--topic', 'a', '--compression', 'lz4']),
      rsp(['produce', '--topic', 'a', '--compression-min-bytes', '10']),
    ]);
    expect(unknown).toMatchObject({ code: 2 });
    expect(unknown.stderr).toContain("Unknown option '--bogus'");
    expect(format).toMatchObject({ code: 2 });
    expect(format.stderr).toContain('`--format` expects one of "lines", "json", got "csv"');
    expect(keyField.stderr).toContain('`--key-field` expects `--format json`');
    expect(missing.stderr).toContain('`--topic` is required');
    expect(command.stderr).toContain('unknown command "nope"');
    expect(codec.stderr).toContain('`--compression` expects one of "none", "gzip", "deflate", "brotli", "zstd", got "lz4"');
    expect(minBytes.stderr).toContain('`--compression-min-bytes` expects `--compression` with a codec');
    for (const run of [keyField, missing, command, codec, minBytes]) expect(run.code).toBe(2);
  });

  it('fails with exit 1 when Redis does not answer, without printing the password', async () => {
    const port = await freePort();
    const run = await rsp(['tail', '--topic', 'a', '--redis', `redis://app:sekret-pw@127.0.0.1:${port}`]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`could not connect to Redis at redis://app:***@127.0.0.1:${port}`);
    expect(run.stderr + run.stdout).not.toContain('sekret-pw');
  });
});

describe('rsp produce → rsp tail', () => {
  it('the README path: lines from stdin, then the newest entries in order', async () => {
    const ns = uniqueNamespace();
    const produced = await rsp(['produce', '--namespace', ns, '--topic', 'demo'], { input: '1\n2\n3\n4\n5\n' });
    expect(produced.code, produced.stderr).toBe(0);
    expect(produced.stdout).toContain('5 records from stdin → topic "demo"');
    expect(produced.stdout).toMatch(/delivered 5 · parked 0 · failed 0/);

    const tailed = await rsp(['tail', '--namespace', ns, '--topic', 'demo']);
    expect(tailed.code, tailed.stderr).toBe(0);
    expect(lines(tailed.stdout).map((l) => l.split('  ').at(-1))).toEqual(['1', '2', '3', '4', '5']);
    expect(lines(tailed.stdout)[0]).toMatch(/^\d+-\d+ shard=\d+ {2}1$/);
  });

  it('tail decodes compressed values through readEntry, and marks an entry it cannot read instead of stopping', async () => {
    const producer = resources.producer({ topics: { zipped: { shards: 2, compression: { codec: 'brotli', minBytes: 100 } } } });
    const ns = (producer as unknown as { config: { namespace: string } }).config.namespace;
    const value = JSON.stringify({ items: Array.from({ length: 40 }, (_, i) => ({ i, name: `item ${i}` })) });
    const ack = await producer.send({ topic: 'zipped', key: 'k', value, shard: 0 });
    expect(ack.status).toBe('delivered');
    await resources.admin().xadd(`{${ns}:zipped:1}`, '*', 'payload', Buffer.from([0xff, 1]), 'encoding', 'gzip');

    const tailed = await rsp(['tail', '--namespace', ns, '--topic', 'zipped', '--json']);
    expect(tailed.code, tailed.stderr).toBe(0);
    const views = lines(tailed.stdout).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(views).toEqual([
      expect.objectContaining({ shard: 0, key: 'k', value, encoding: 'brotli' }),
      expect.objectContaining({ shard: 1, value: { base64: '/wE=' }, encoding: 'gzip', unreadable: 'ERR_ENTRY_CORRUPT' }),
    ]);
  });

  it('produce --compression stores long values compressed, says what it saved, and tail reads them back', async () => {
    const ns = uniqueNamespace();
    const long = (i: number) => JSON.stringify({ n: i, items: Array.from({ length: 20 }, (_, j) => ({ j, name: `item ${j}` })) });
    const values = [long(1), 'short', long(2)];
    const produced = await rsp(['produce', '--namespace', ns, '--topic', 'zipped', '--shards', '1', '--compression', 'gzip', '--compression-min-bytes', '100'], { input: `${values.join('\n')}\n` });
    expect(produced.code, produced.stderr).toBe(0);
    expect(produced.stdout).toMatch(/compressed with gzip: 2 values, [\d,]+ bytes saved/);

    const entries = await topicEntries(resources.admin(), ns, 'zipped', 1);
    expect(entries.map((e) => (e.fields.includes('encoding') ? field(e.fields, 'encoding') : 'none'))).toEqual(['gzip', 'none', 'gzip']);
    const tailed = await rsp(['tail', '--namespace', ns, '--topic', 'zipped', '--json']);
    expect(tailed.code, tailed.stderr).toBe(0);
    expect(lines(tailed.stdout).map((l) => (JSON.parse(l) as { value: string }).value)).toEqual(values);
  });

  it('tail into a reader that stops early (`| head -1`): no EPIPE trace, exit 0', async () => {
    const ns = uniqueNamespace();
    const produced = await rsp(['produce', '--namespace', ns, '--topic', 'pipe'], { input: `${Array.from({ length: 3000 }, (_, i) => `line ${i}`).join('\n')}\n` });
    expect(produced.code, produced.stderr).toBe(0);
    // The shell's `rsp tail … | head -1`: head exits after one line, closing the pipe.
    const run = await new Promise<{ code: number | null; stderr: string; first: string }>((resolve, reject) => {
      const shell = spawn(
        'bash',
        ['-c', `"${process.execPath}" "${bin}" tail --namespace ${ns} --topic pipe -n 3000 2>/tmp/${ns}.err | head -1; echo "rsp=\${PIPESTATUS[0]}"; cat /tmp/${ns}.err; rm -f /tmp/${ns}.err`],
        { env: targetEnv() },
      );
      let out = '';
      shell.stdout.on('data', (d: Buffer) => (out += d.toString()));
      shell.on('error', reject);
      shell.on('close', () => {
        const [first = '', status = '', ...rest] = out.split('\n');
        resolve({ first, code: Number(status.replace('rsp=', '')), stderr: rest.join('\n') });
      });
    });
    expect(run.first).toMatch(/line \d+$/);
    expect(run.stderr).not.toMatch(/EPIPE|Error/);
    expect(run.code).toBe(0);
  });

  it('tail --json keeps every byte of a value that is not UTF-8 (base64)', async () => {
    const ns = uniqueNamespace();
    const producer = resources.producer({ namespace: ns, topics: { bin: { shards: 1 } } });
    await producer.send({ topic: 'bin', value: Buffer.from([0xff, 0x00, 0x41]), headers: { text: 'é' } });
    const tailed = await rsp(['tail', '--namespace', ns, '--topic', 'bin', '--json']);
    expect(tailed.code, tailed.stderr).toBe(0);
    const [line] = lines(tailed.stdout).map((l) => JSON.parse(l) as { value: unknown; headers: Record<string, unknown> });
    expect(line).toMatchObject({ value: { base64: '/wBB' }, headers: { text: 'é' } });
    expect(Buffer.from((line!.value as { base64: string }).base64, 'base64')).toEqual(Buffer.from([0xff, 0x00, 0x41]));
  });

  it('JSON lines with --key-field and --header land as the library writes them; tail merges shards by id', async () => {
    const ns = uniqueNamespace();
    const admin = resources.admin();
    const input = Array.from({ length: 200 }, (_, i) => JSON.stringify({ user: { id: i % 37 }, n: i })).join('\n');
    const produced = await rsp(['produce', '--namespace', ns, '--topic', 'orders', '--shards', '8', '--format', 'json', '--key-field', 'user.id', '--header', 'source=cli', '--json'], { input });
    expect(produced.code, produced.stderr).toBe(0);
    expect(JSON.parse(produced.stdout)).toMatchObject({ topic: 'orders', shards: 8, newTopic: true, records: 200, delivered: 200, spilled: 0, failed: 0, badLines: 0, exitCode: 0 });

    const entries = await topicEntries(admin, ns, 'orders', 8);
    expect(entries).toHaveLength(200);
    expect(new Set(entries.map((e) => e.shard)).size).toBeGreaterThan(1);
    for (const e of entries) {
      const value = JSON.parse(field(e.fields, 'payload')!) as { user: { id: number }; n: number };
      expect(field(e.fields, 'key')).toBe(String(value.user.id));
      expect(field(e.fields, 'h:source')).toBe('cli');
    }
    // Same key → same shard, so each user's records keep their input order.
    const byKey = new Map<string, number[]>();
    for (const e of entries) {
      const value = JSON.parse(field(e.fields, 'payload')!) as { n: number };
      byKey.set(field(e.fields, 'key')!, [...(byKey.get(field(e.fields, 'key')!) ?? []), value.n]);
    }
    for (const order of byKey.values()) expect(order).toEqual([...order].sort((a, b) => a - b));

    const tailed = await rsp(['tail', '--namespace', ns, '--topic', 'orders', '--count', '50', '--json']);
    expect(tailed.code, tailed.stderr).toBe(0);
    const views = lines(tailed.stdout).map((l) => JSON.parse(l) as { id: string; shard: number; stream: string; key: string; headers: Record<string, string>; value: string });
    // The 50 newest across all shards, oldest first: exactly what merging every shard by id gives.
    const cmp = (a: { id: string; shard: number }, b: { id: string; shard: number }) => {
      const [am, as] = a.id.split('-').map(BigInt) as [bigint, bigint];
      const [bm, bs] = b.id.split('-').map(BigInt) as [bigint, bigint];
      return am !== bm ? (am < bm ? -1 : 1) : as !== bs ? (as < bs ? -1 : 1) : a.shard - b.shard;
    };
    const expected = [...entries].sort(cmp).slice(-50);
    expect(views.map((v) => [v.shard, v.id])).toEqual(expected.map((e) => [e.shard, e.id]));
    expect(views[0]).toMatchObject({ stream: `{${ns}:orders:${views[0]!.shard}}`, headers: { source: 'cli' } });
    expect(views[0]!.value).toBe(field(expected[0]!.fields, 'payload'));
  });

  it('a malformed JSON line stops the run (default) with its line number; every record before it is delivered', async () => {
    const ns = uniqueNamespace();
    const admin = resources.admin();
    const good = (i: number) => JSON.stringify({ id: `k${i}`, i });
    const input = [...Array.from({ length: 14_999 }, (_, i) => good(i)), '{"id": "broken"', ...Array.from({ length: 1000 }, (_, i) => good(20_000 + i))].join('\n');
    const run = await rsp(['produce', '--namespace', ns, '--topic', 'bulk', '--shards', '4', '--format', 'json', '--key-field', 'id', '--json'], { input });
    expect(run.code).toBe(4);
    expect(run.stderr).toMatch(/^line 15000: not valid JSON/m);
    expect(JSON.parse(run.stdout)).toMatchObject({ records: 14_999, delivered: 14_999, badLines: 1, stoppedAtLine: 15_000, exitCode: 4 });
    const entries = await topicEntries(admin, ns, 'bulk', 4);
    expect(entries).toHaveLength(14_999);
    const seen = new Set(entries.map((e) => (JSON.parse(field(e.fields, 'payload')!) as { i: number }).i));
    expect(seen.size).toBe(14_999);
    expect(Math.max(...seen)).toBe(14_998);
  });

  it('--on-error skip reports each bad line and produces the rest', async () => {
    const ns = uniqueNamespace();
    const input = ['{"id":"a"}', 'oops', '', '{"id":"b"}', '{"no_id":1}', '[1]', '{"id":"c"}'].join('\n');
    const run = await rsp(['produce', '--namespace', ns, '--topic', 'mixed', '--format', 'json', '--key-field', 'id', '--on-error', 'skip'], { input });
    expect(run.code).toBe(4);
    expect(lines(run.stderr)).toEqual([expect.stringMatching(/^line 2: not valid JSON/), 'line 5: --key-field "id" is missing', 'line 6: --key-field "id" needs a JSON object here, got an array']);
    expect(run.stdout).toMatch(/delivered 3 · parked 0 · failed 0 · bad lines 3/);
    const tailed = await rsp(['tail', '--namespace', ns, '--topic', 'mixed', '--json']);
    expect(
      lines(tailed.stdout)
        .map((l) => (JSON.parse(l) as { key: string }).key)
        .sort(),
    ).toEqual(['a', 'b', 'c']);
  });

  it('tail --follow prints entries produced after it started, until interrupted (exit 0)', async () => {
    const ns = uniqueNamespace();
    await rsp(['produce', '--namespace', ns, '--topic', 'live', '--shards', '4'], { input: 'before\n' });
    const producer = resources.producer({ namespace: ns, topics: { live: { shards: 4 } } });
    let sent = false;
    const run = await rsp(['tail', '--namespace', ns, '--topic', 'live', '--follow', '--interval-ms', '50'], {
      onOutput: (out, kill) => {
        if (!sent && out.includes('before')) {
          sent = true;
          void producer.sendBatch(['k1', 'k2', 'k3', 'k4'].map((key) => ({ topic: 'live', key, value: `after-${key}` })));
        }
        if (['k1', 'k2', 'k3', 'k4'].every((k) => out.includes(`after-${k}`))) kill('SIGINT');
      },
    });
    expect(run.code, run.stderr).toBe(0);
    const values = lines(run.stdout).map((l) => l.split('  ').at(-1));
    expect(values[0]).toBe('before');
    expect(values.slice(1).sort()).toEqual(['after-k1', 'after-k2', 'after-k3', 'after-k4']);
  });

  it('refuses --shards that disagree with the topic (exit 2) and an unknown topic for tail (exit 1)', async () => {
    const ns = uniqueNamespace();
    await rsp(['produce', '--namespace', ns, '--topic', 't', '--shards', '4'], { input: 'x\n' });
    const shards = await rsp(['produce', '--namespace', ns, '--topic', 't', '--shards', '8'], { input: 'y\n' });
    expect(shards.code).toBe(2);
    expect(shards.stderr).toContain('`--shards` 8 disagrees with topic "t", which has 4 shards');
    const unknown = await rsp(['tail', '--namespace', ns, '--topic', 'missing']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain(`topic "missing" does not exist in namespace "${ns}" (no {${ns}:missing}:meta)`);
  });
});

describe('rsp topic describe', () => {
  it('reports shards, lengths, ids and memory, and on a cluster the slot and master of each shard', async () => {
    const ns = uniqueNamespace();
    const admin = resources.admin();
    const input = Array.from({ length: 300 }, (_, i) => `{"k":"${i}"}`).join('\n');
    await rsp(['produce', '--namespace', ns, '--topic', 'd', '--shards', '6', '--format', 'json', '--key-field', 'k'], { input });
    const run = await rsp(['topic', 'describe', 'd', '--namespace', ns, '--json']);
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as {
      shards: number;
      totalEntries: number;
      cluster: boolean;
      parked: { pending: number };
      shardList: { shard: number; stream: string; entries: number; firstId: string | null; lastId: string | null; memoryBytes: number; slot?: number; master?: string }[];
      masters?: { master: string; shards: number; entries: number }[];
    };
    expect(report).toMatchObject({ shards: 6, totalEntries: 300, parked: { pending: 0 } });
    for (const row of report.shardList) {
      const stream = `{${ns}:d:${row.shard}}`;
      expect(row.stream).toBe(stream);
      expect(row.entries).toBe(await admin.xlen(stream));
      const entries = await readStream(admin, stream);
      expect(row.firstId).toBe(entries[0]?.[0] ?? null);
      expect(row.lastId).toBe(entries.at(-1)?.[0] ?? null);
      if (row.entries > 0) expect(row.memoryBytes).toBeGreaterThan(0);
    }
    if (admin instanceof Cluster) {
      expect(report.cluster).toBe(true);
      const slots = (await admin.cluster('SLOTS')) as unknown as [number, number, [string, number]][];
      for (const row of report.shardList) {
        const slot = Number(await admin.cluster('KEYSLOT', row.stream));
        const owner = slots.find(([from, to]) => slot >= from && slot <= to)![2];
        expect(row).toMatchObject({ slot, master: `${owner[0]}:${owner[1]}` });
      }
      expect(report.masters!.reduce((n, m) => n + m.shards, 0)).toBe(6);
    } else {
      expect(report.cluster).toBe(false);
      expect(report.shardList[0]!.master).toBeUndefined();
      // The documented `masters` key on one server too: that server holds every shard.
      expect(report.masters).toEqual([{ master: expect.stringMatching(/^[\w.-]+:\d+$/), shards: 6, entries: 300 }]);
    }
    const text = await rsp(['topic', 'describe', 'd', '--namespace', ns]);
    expect(text.stdout).toContain(`topic "d" · namespace "${ns}" · 6 shards · 300 entries`);
    expect(text.stdout).toMatch(/^shard\s+stream\s+entries\s+first id\s+last id\s+memory/m);
  });
});

describe('rsp compensation', () => {
  it('parked records: produce reports them (exit 3); stats, list, replay after the fix, then they are in the stream', async () => {
    const ns = uniqueNamespace();
    const admin = resources.admin();
    const journal = join(work, `journal-${ns}`);
    // Shard 0 of the new topic is a string key: every batch fails with WRONGTYPE and is parked.
    await admin.set(`{${ns}:broken:0}`, 'not a stream');
    const produced = await rsp(['produce', '--namespace', ns, '--topic', 'broken', '--shards', '1', '--journal-dir', journal, '--json'], { input: 'a\nb\nc\n' });
    expect(produced.code).toBe(3);
    expect(JSON.parse(produced.stdout)).toMatchObject({ records: 3, delivered: 0, spilled: 3, spilledToJournal: 0, exitCode: 3 });
    // Without --json: a hint that works as printed (same namespace and journal).
    const other = uniqueNamespace();
    await admin.set(`{${other}:told:0}`, 'not a stream');
    const told = await rsp(['produce', '--namespace', other, '--topic', 'told', '--shards', '1', '--journal-dir', journal], { input: 'd\n' });
    expect(told.stdout).toContain(`records were parked for replay: rsp compensation replay --namespace ${other} --topic told --journal-dir ${JSON.stringify(journal)}`);

    const stats = await rsp(['compensation', 'stats', '--namespace', ns, '--topic', 'broken', '--journal-dir', journal, '--json']);
    expect(JSON.parse(stats.stdout)).toMatchObject({ pending: 3, due: 3, dead: 0, journaled: 0 });
    const listed = await rsp(['compensation', 'list', '--namespace', ns, '--topic', 'broken', '--json']);
    const entries = lines(listed.stdout).map((l) => JSON.parse(l) as { value: string; lastError: string; shard: number; persisted: string });
    expect(entries.map((e) => e.value).sort()).toEqual(['a', 'b', 'c']);
    expect(entries[0]).toMatchObject({ shard: 0, persisted: 'not', lastError: expect.stringContaining('ERR_REDIS_WRONGTYPE') });

    await admin.del(`{${ns}:broken:0}`);
    const replayed = await rsp(['compensation', 'replay', '--namespace', ns, '--topic', 'broken', '--journal-dir', journal, '--json']);
    expect(replayed.code, replayed.stderr).toBe(0);
    expect(JSON.parse(replayed.stdout)).toMatchObject({ round: { replayed: 3, retryLater: 0 }, left: { pending: 0, dead: 0 } });
    expect((await readStream(admin, `{${ns}:broken:0}`)).map(([, f]) => field(f, 'payload')).sort()).toEqual(['a', 'b', 'c']);
  });

  it('dead letters: list --dead, requeue-dead, and purge (which insists on --yes)', async () => {
    const ns = uniqueNamespace();
    const admin = resources.admin();
    await admin.set(`{${ns}:dl:0}`, 'not a stream');
    // One delivery attempt allowed: the first failed replay dead-letters the records.
    const producer = resources.producer({ namespace: ns, topics: { dl: { shards: 1 } }, compensation: { maxAttempts: 1, replay: { enabled: false } } });
    const acks = await producer.sendBatch(['x', 'y'].map((value) => ({ topic: 'dl', value })));
    expect(acks.map((a) => a.status)).toEqual(['spilled', 'spilled']);
    await producer.compensation.replayNow();
    await eventually(async () => (await producer.compensation.stats('dl')).dead === 2, 'two dead letters');

    const dead = await rsp(['compensation', 'list', '--namespace', ns, '--topic', 'dl', '--dead']);
    expect(dead.code).toBe(0);
    expect(dead.stdout.match(/^\S+ shard=0 attempts=\d+ persisted=not parked=/gm)).toHaveLength(2);

    const requeued = await rsp(['compensation', 'requeue-dead', '--namespace', ns, '--topic', 'dl']);
    expect(requeued.stdout).toContain('moved 2 dead letters of topic "dl" back to be replayed');
    expect(await producer.compensation.stats('dl')).toMatchObject({ pending: 2, dead: 0 });

    const refused = await rsp(['compensation', 'purge', '--namespace', ns, '--topic', 'dl']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('`--yes` is required');
    expect((await producer.compensation.stats('dl')).pending).toBe(2);
    const purged = await rsp(['compensation', 'purge', '--namespace', ns, '--topic', 'dl', '--yes', '--json']);
    expect(JSON.parse(purged.stdout)).toEqual({ topic: 'dl', namespace: ns, deleted: 2 });
    expect(await producer.compensation.stats('dl')).toMatchObject({ pending: 0, dead: 0 });
  });
});

describe('rsp produce from a file', () => {
  it('reads --file and says which file in the summary; a missing file is a usage error', async () => {
    const ns = uniqueNamespace();
    const file = join(work, `${ns}.txt`);
    writeFileSync(file, 'one\r\ntwo\r\n');
    const run = await rsp(['produce', '--namespace', ns, '--topic', 'f', '--file', file]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`2 records from ${file}`);
    const tailed = await rsp(['tail', '--namespace', ns, '--topic', 'f']);
    expect(lines(tailed.stdout).map((l) => l.split('  ').at(-1))).toEqual(['one', 'two']);
    const missing = await rsp(['produce', '--namespace', ns, '--topic', 'f', '--file', join(work, 'nope.txt')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('`--file` expects a readable file');
  });
});
