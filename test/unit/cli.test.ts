import { gzipSync } from 'node:zlib';
/** The pure parts of the `rsp` CLI, and its argument handling, without Redis or a child process. */
import { PassThrough } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { slotOwners } from '../../src/cli/cluster-map.js';
import { COMMANDS } from '../../src/cli/commands/index.js';
import { entryLine, viewEntry } from '../../src/cli/entry-view.js';
import { keyPath, parseLine } from '../../src/cli/input.js';
import type { CliIo } from '../../src/cli/io.js';
import { progressLine } from '../../src/cli/progress.js';
import { runCli } from '../../src/cli/run.js';
import { compareIds, newest } from '../../src/cli/stream-ids.js';
import { formatBytes, table } from '../../src/cli/table.js';
import { resolveTarget } from '../../src/cli/target.js';

describe('parseLine', () => {
  it('plain lines are values as they are; blank lines are skipped', () => {
    expect(parseLine('  hello world ', 'lines')).toEqual({ kind: 'record', value: '  hello world ' });
    expect(parseLine('   ', 'lines')).toEqual({ kind: 'blank' });
    expect(parseLine('', 'json')).toEqual({ kind: 'blank' });
  });

  it('JSON lines keep their text; --key-field reads a (nested) string or number', () => {
    expect(parseLine(' {"a": 1.50} ', 'json')).toEqual({ kind: 'record', value: '{"a": 1.50}' });
    expect(parseLine('{"user":{"id":42}}', 'json', keyPath('user.id'))).toEqual({ kind: 'record', value: '{"user":{"id":42}}', key: '42' });
    expect(parseLine('{"id":"k-1"}', 'json', keyPath('id'))).toMatchObject({ key: 'k-1' });
  });

  it('says why a line is bad', () => {
    expect(parseLine('{"a":', 'json')).toMatchObject({ kind: 'bad', reason: expect.stringMatching(/^not valid JSON \(/) });
    expect(parseLine('{"b":1}', 'json', ['id'])).toEqual({ kind: 'bad', reason: '--key-field "id" is missing' });
    expect(parseLine('[1]', 'json', ['id'])).toEqual({ kind: 'bad', reason: '--key-field "id" needs a JSON object here, got an array' });
    expect(parseLine('{"u":"x"}', 'json', ['u', 'id'])).toEqual({ kind: 'bad', reason: '--key-field "u.id" needs a JSON object here, got string "x"' });
    expect(parseLine('{"id":null}', 'json', ['id'])).toEqual({ kind: 'bad', reason: '--key-field "id" must be a string or a number, got null' });
    expect(parseLine('{"id":{}}', 'json', ['id'])).toMatchObject({ reason: '--key-field "id" must be a string or a number, got an object' });
  });
});

describe('resolveTarget', () => {
  const fallback = 'redis://127.0.0.1:6379';

  it('flags win over the environment, which wins over the default', () => {
    expect(resolveTarget({}, {}, fallback)).toEqual({ redis: fallback, display: fallback, cluster: false });
    expect(resolveTarget({}, { REDIS_URL: 'redis://a:1' }, fallback).redis).toBe('redis://a:1');
    expect(resolveTarget({ redis: 'redis://b:2' }, { REDIS_URL: 'redis://a:1' }, fallback).redis).toBe('redis://b:2');
    expect(resolveTarget({}, { REDIS_CLUSTER_NODES: '10.0.0.1:7000, 10.0.0.2:7001' }, fallback)).toEqual({
      redis: {
        cluster: [
          { host: '10.0.0.1', port: 7000 },
          { host: '10.0.0.2', port: 7001 },
        ],
      },
      display: 'cluster 10.0.0.1:7000,10.0.0.2:7001',
      cluster: true,
    });
  });

  it('carries credentials and TLS of a node URL into every node, and never displays the password', () => {
    const t = resolveTarget({ cluster: 'rediss://app:pw%40x@h1:7000,[::1]:7001' }, {}, fallback);
    expect(t.redis).toEqual({
      cluster: [
        { host: 'h1', port: 7000 },
        { host: '::1', port: 7001 },
      ],
      options: { redisOptions: { username: 'app', password: 'pw@x', tls: {} } },
    });
    expect(t.display).toBe('cluster h1:7000,[::1]:7001');
    expect(resolveTarget({ redis: 'redis://u:secret@h:1' }, {}, fallback).display).toBe('redis://u:***@h:1');
  });

  it('refuses ambiguous or malformed targets, naming the source', () => {
    expect(() => resolveTarget({ redis: 'redis://a', cluster: 'a:1' }, {}, fallback)).toThrow('`--redis` and `--cluster` exclude each other');
    expect(() => resolveTarget({}, { REDIS_URL: 'redis://a', REDIS_CLUSTER_NODES: 'a:1' }, fallback)).toThrow('REDIS_URL and REDIS_CLUSTER_NODES are both set');
    expect(() => resolveTarget({ redis: 'localhost:6379' }, {}, fallback)).toThrow('`--redis` expects a redis:// or rediss:// URL');
    expect(() => resolveTarget({ cluster: 'a:1,b' }, {}, fallback)).toThrow('`--cluster` expects host:port[,host:port…] (port 1–65535), got "b"');
    expect(() => resolveTarget({}, { REDIS_CLUSTER_NODES: 'a:70000' }, fallback)).toThrow(/^REDIS_CLUSTER_NODES expects host:port/);
    expect(() => resolveTarget({ redis: 'http://u:secret@h' }, {}, fallback)).toThrow('got "http://u:***@h"');
    // A URL that does not parse (port out of range) is a usage error too, its password masked.
    expect(() => resolveTarget({ redis: 'redis://u:secret@host:99999' }, {}, fallback)).toThrow(
      '`--redis` expects a redis:// or rediss:// URL such as redis://127.0.0.1:6379, got "redis://u:***@host:99999"',
    );
  });
});

describe('stream ids across shards', () => {
  it('compares ids numerically, not as text', () => {
    expect(compareIds('9-0', '10-0')).toBeLessThan(0);
    expect(compareIds('5-10', '5-9')).toBeGreaterThan(0);
    expect(compareIds('1712345678901-3', '1712345678901-3')).toBe(0);
  });

  it('newest(n) is the n largest (id, shard) pairs of all shards, oldest first', () => {
    const entry = fc.record({ shard: fc.nat(15), ms: fc.nat(1000), seq: fc.nat(3) });
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 60 }), fc.nat(70), (raw, n) => {
        const entries = raw.map((e) => ({ shard: e.shard, id: `${e.ms}-${e.seq}`, fields: [] }));
        const key = (e: { shard: number; id: string }) => {
          const [ms, seq] = e.id.split('-').map(Number) as [number, number];
          return (ms * 10 + seq) * 100 + e.shard;
        };
        const expected = [...entries].sort((a, b) => key(a) - key(b)).slice(n === 0 ? entries.length : -n);
        expect(newest([...entries], n).map(key)).toEqual(expected.map(key));
      }),
    );
  });
});

describe('entry output', () => {
  it("splits the producer's fields into key, headers and value; others are kept", () => {
    const view = viewEntry({ shard: 3, id: '1-0', fields: ['payload', '{"a":1}', 'key', 'user 42', 'h:source', 'api', 'extra', 'x'] }, '{app:o:3}');
    expect(view).toEqual({ id: '1-0', shard: 3, stream: '{app:o:3}', key: 'user 42', headers: { source: 'api' }, value: '{"a":1}', other: { extra: 'x' } });
    expect(Object.keys(view)).toEqual(['id', 'shard', 'stream', 'key', 'headers', 'value', 'other']);
    expect(entryLine(view)).toBe('1-0 shard=3 key="user 42" h:source=api extra=x  {"a":1}');
    expect(entryLine(viewEntry({ shard: 0, id: '2-0', fields: ['payload', 'hi'] }, ''))).toBe('2-0 shard=0  hi');
    // Bytes that are not UTF-8 keep every byte: base64, in JSON as an object, in text with a prefix.
    const binary = viewEntry({ shard: 1, id: '3-0', fields: ['payload', Buffer.from([0xff, 0x00, 0x41]), 'h:ok', Buffer.from('é')] }, '');
    expect(JSON.parse(JSON.stringify(binary))).toMatchObject({ value: { base64: '/wBB' }, headers: { ok: 'é' } });
    expect(entryLine(binary)).toBe('3-0 shard=1 h:ok=é  base64:/wBB');
  });

  it('decodes a compressed value through readEntry, and shows an unreadable one as stored with the reason', () => {
    const value = JSON.stringify({ text: 'x'.repeat(500) });
    const view = viewEntry({ shard: 0, id: '4-0', fields: ['payload', gzipSync(value), 'encoding', 'gzip', 'key', 'k', 'h:encoding', 'h'] }, '');
    expect(view).toEqual({ id: '4-0', shard: 0, stream: '', key: 'k', headers: { encoding: 'h' }, value, encoding: 'gzip' });
    expect(entryLine(view)).toBe(`4-0 shard=0 key=k h:encoding=h encoding=gzip  ${value}`);
    const corrupt = viewEntry({ shard: 0, id: '5-0', fields: ['payload', Buffer.from([0xff, 1]), 'encoding', 'gzip'] }, '');
    expect(corrupt).toMatchObject({ value: { base64: '/wE=' }, encoding: 'gzip', unreadable: 'ERR_ENTRY_CORRUPT' });
    expect(entryLine(corrupt)).toBe('5-0 shard=0 encoding=gzip unreadable=ERR_ENTRY_CORRUPT  base64:/wE=');
    expect(entryLine(viewEntry({ shard: 0, id: '6-0', fields: ['payload', 'x', 'encoding', 'lz4'] }, ''))).toBe('6-0 shard=0 encoding=lz4 unreadable=ERR_ENTRY_UNKNOWN_ENCODING  x');
  });

  it('formats the progress line, tables and sizes', () => {
    expect(progressLine({ accepted: 1500, delivered: 1000, undelivered: 0, elapsedMs: 500, bytesRead: 50, totalBytes: 100 })).toBe(
      '[############............]  50% · 1,500 read · 1,000 delivered · 2,000 rec/s · 0.5 s',
    );
    expect(progressLine({ accepted: 3, delivered: 1, undelivered: 2, elapsedMs: 0, bytesRead: 9, totalBytes: undefined })).toBe('3 read · 1 delivered · 2 not delivered · 0 rec/s · 0.0 s');
    expect(
      table(
        ['a', 'bb'],
        [
          ['xxx', 'y'],
          ['z', ''],
        ],
      ),
    ).toEqual(['a    bb', 'xxx  y', 'z']);
    expect([formatBytes(512), formatBytes(1536), formatBytes(3 * 1024 ** 3)]).toEqual(['512 B', '1.5 KiB', '3.0 GiB']);
  });

  it('maps slots to masters from a CLUSTER SLOTS reply', () => {
    const owner = slotOwners([
      [0, 5460, ['10.0.0.1', 7000, 'id1']],
      [5461, 16383, ['10.0.0.2', 7001, 'id2'], ['10.0.0.3', 7002, 'id3']],
    ]);
    expect(owner(5460)).toEqual({ host: '10.0.0.1', port: 7000, id: 'id1' });
    expect(owner(5461)).toEqual({ host: '10.0.0.2', port: 7001, id: 'id2' });
    expect(owner(16384)).toBeUndefined();
  });
});

/** Runs the CLI in-process with captured streams; only for paths that never reach Redis. */
async function cli(argv: string[]) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const io: CliIo = { stdin: new PassThrough(), stdout, stderr, stdinIsTTY: false, stderrIsTTY: false, env: {}, onInterrupt: () => () => undefined };
  const code = await runCli(argv, io);
  return { code, out, err };
}

describe('runCli without Redis', () => {
  it('has --help for every command, listing its own options and the connection flags', async () => {
    for (const command of COMMANDS) {
      const { code, out } = await cli([...command.path, '--help']);
      expect(code).toBe(0);
      expect(out).toContain(`Usage: rsp ${command.path.join(' ')} ${command.usage}`);
      for (const option of Object.keys(command.options)) expect(out).toContain(`--${option}`);
      expect(out).toContain('--cluster <host:port,…>');
    }
    expect((await cli(['help', 'produce'])).out).toContain('Usage: rsp produce');
    expect((await cli(['compensation', '--help'])).out).toContain('compensation requeue-dead');
    expect((await cli(['--version'])).out).toMatch(/^redis-stream-producer \d+\.\d+\.\d+/);
  });

  it('usage errors exit 2 and name the flag and the expected value', async () => {
    const cases: [string[], string][] = [
      [[], 'Usage: rsp <command>'],
      [['produce', '--topic', 'a:b'], '`--topic` expects a valid name'],
      [['produce', '--topic', 'compensation'], 'the topic name "compensation" is reserved'],
      [['produce', '--topic', 't', '--header', 'novalue'], '`--header` expects name=value'],
      [['produce', '--topic', 't', '--shards', '0'], '`--shards` expects an integer from 1 to 16384, got "0"'],
      [['produce', '--topic', 't', '--on-error', 'ignore'], '`--on-error` expects one of "stop", "skip", got "ignore"'],
      [['produce', '--topic', 't', '--format', 'json', '--key-field', 'a..b'], '`--key-field` expects a field name'],
      [['tail', '--topic', 't', '--count=-1'], '`--count` expects an integer from 0 to 100000'],
      [['tail', '--topic'], "Option '--topic <value>' argument missing"],
      [['topic', 'describe'], 'expects <topic>, got none'],
      [['topic', 'describe', 'a', 'b'], 'expects <topic>, got "a" "b"'],
      [['topic', 'nope'], '"rsp topic" needs a subcommand; unknown: "nope"'],
      [['tail', '--topic', 't', '--namespace', 'a b'], '`--namespace` expects a valid name'],
      [['compensation', 'purge', '--topic', 't', '--dead', '--id', 'x', '--yes'], '`--dead` and `--id` exclude each other'],
    ];
    for (const [argv, message] of cases) {
      const { code, err } = await cli(argv);
      expect(err, argv.join(' ')).toContain(message);
      expect(code, argv.join(' ')).toBe(2);
    }
  });

  it('with --json, an error is one JSON object on stderr (kind, message, exit code), credentials masked', async () => {
    const usage = await cli(['tail', '--topic', 'a:b', '--json']);
    expect(usage.code).toBe(2);
    expect(JSON.parse(usage.err)).toEqual({ error: { kind: 'usage', message: expect.stringContaining('`--topic` expects a valid name'), exitCode: 2 } });
    const target = await cli(['tail', '--topic', 't', '--json', '--redis', 'redis://u:secret@host:99999']);
    expect(target.code).toBe(2);
    expect(target.err).not.toContain('secret');
    expect(JSON.parse(target.err).error.message).toContain('u:***@host:99999');
  });
});
