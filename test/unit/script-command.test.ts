import fc from 'fast-check';
import { Command } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { encodeBulkStrings, RawScript, ScriptCommand, type ScriptArg } from '../../src/script-command.js';

/** The RESP a plain reading of the protocol gives: `$<byte length>\r\n<bytes>\r\n` per argument. */
function referenceBulk(args: readonly ScriptArg[]): Buffer {
  return Buffer.concat(
    args.map((a) => {
      const bytes = Buffer.isBuffer(a) ? a : Buffer.from(String(a), 'utf8');
      return Buffer.concat([Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from('\r\n')]);
    }),
  );
}

const arg: fc.Arbitrary<ScriptArg> = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 40 }), // multi-byte UTF-8 too
  fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)),
  fc.nat({ max: 2 ** 40 }),
  fc.string({ minLength: 1000, maxLength: 1200 }), // four-digit lengths
);

describe('encodeBulkStrings', () => {
  it('writes each argument as a RESP bulk string, byte for byte as the protocol reads', () => {
    fc.assert(
      fc.property(fc.array(arg, { maxLength: 30 }), (args) => {
        const { bytes, count } = encodeBulkStrings(args);
        expect(count).toBe(args.length);
        expect(bytes.equals(referenceBulk(args))).toBe(true);
      }),
    );
  });

  it('puts the array header first when asked', () => {
    expect(encodeBulkStrings(['GET', 'k'], 2).bytes.toString()).toBe('*2\r\n$3\r\nGET\r\n$1\r\nk\r\n');
    expect(encodeBulkStrings([], 12).bytes.toString()).toBe('*12\r\n');
    expect(encodeBulkStrings(['', Buffer.alloc(0)]).bytes.toString()).toBe('$0\r\n\r\n$0\r\n\r\n');
  });

  it('does not change the caller\'s array', () => {
    const args: ScriptArg[] = [7, 'x'];
    encodeBulkStrings(args);
    expect(args).toEqual([7, 'x']);
  });
});

describe('ScriptCommand', () => {
  const script = new RawScript("return redis.call('XADD', KEYS[1], '*', 'payload', ARGV[2])");
  /** What ioredis writes for the same call (its own Command, every argument in its array). */
  const ioredisBytes = (name: string, args: ScriptArg[]): Buffer => {
    const written = new Command(name, args).toWritable({});
    return Buffer.isBuffer(written) ? written : Buffer.from(written, 'utf8');
  };

  it('sends EVAL with the script text on a connection that has not had it, EVALSHA after, as ioredis would', () => {
    fc.assert(
      fc.property(fc.array(arg, { maxLength: 10 }), fc.array(arg, { maxLength: 20 }), (argv, rest) => {
        const socket = {};
        const keys = ['{ns:t:0}', '{ns:t:0}:p:x'];
        const first = new ScriptCommand(script, keys, argv, encodeBulkStrings(rest), undefined).toWritable(socket);
        expect(first.equals(ioredisBytes('eval', [script.lua, 2, ...keys, ...argv, ...rest]))).toBe(true);
        const second = new ScriptCommand(script, keys, argv, encodeBulkStrings(rest), undefined).toWritable(socket);
        expect(second.equals(ioredisBytes('evalsha', [script.sha, 2, ...keys, ...argv, ...rest]))).toBe(true);
      }),
    );
  });

  it('forgets a connection whose server answered NOSCRIPT, so the resend carries the text', () => {
    const socket = {};
    new ScriptCommand(script, ['k'], [], encodeBulkStrings([]), undefined).toWritable(socket);
    const command = new ScriptCommand(script, ['k'], [], encodeBulkStrings([]), undefined);
    command.toWritable(socket);
    expect(command.name).toBe('evalsha');
    command.reject(new Error('NOSCRIPT No matching script. Please use EVAL.'));
    command.promise.catch(() => {});
    const resend = new ScriptCommand(script, ['k'], [], encodeBulkStrings([]), undefined);
    expect(resend.toWritable(socket).toString()).toContain(script.lua);
    expect(resend.name).toBe('eval');
  });

  it('applies an ioredis keyPrefix to the keys only', () => {
    const written = new ScriptCommand(script, ['a', 'b'], ['a'], encodeBulkStrings(['b']), 'app:').toWritable({}).toString();
    expect(written).toContain('$5\r\napp:a\r\n$5\r\napp:b\r\n$1\r\na\r\n$1\r\nb\r\n');
  });
});
