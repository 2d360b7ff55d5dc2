/**
 * A script call whose record arguments reach the socket as one RESP Buffer built here. ioredis
 * would flatten the argument array and build one string per argument (`$<len>\r\n<arg>\r\n`,
 * concatenated): for a batch of hundreds of records that allocated about 360 of the 1,600 bytes
 * the producer allocated per awaited record, and young-generation GC was a fifth of its CPU
 * (docs/decisions.md). The bytes here live outside the JS heap.
 *
 * It behaves like ioredis's own script command: the first call on a connection sends EVAL with the
 * script text, later ones EVALSHA, and a NOSCRIPT reply (the server's script cache was flushed)
 * forgets the connection so that a resend carries the text again.
 */
import { createHash } from 'node:crypto';
import { Command } from 'ioredis';

/** A Lua script as `ScriptCommand` sends it: its text, its digest and the connections that have it. */
export class RawScript {
  readonly sha: string;
  /** Sockets whose server got the text (EVAL) since they connected. */
  readonly loadedOn = new WeakSet<object>();

  constructor(readonly lua: string) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }
}

/** One script argument: a string (sent as UTF-8), a finite number (as decimal text) or bytes. */
export type ScriptArg = string | number | Buffer;

/** Arguments already encoded as RESP bulk strings, and how many they are. */
export interface EncodedArgs {
  bytes: Buffer;
  count: number;
}

export class ScriptCommand extends Command {
  /**
   * @param keys   the script's KEYS (a Cluster routes on their slot; ioredis `keyPrefix` applies)
   * @param argv   the first ARGV entries
   * @param rest   the remaining ARGV entries, encoded by `encodeBulkStrings`
   */
  constructor(
    private readonly script: RawScript,
    keys: readonly string[],
    argv: readonly ScriptArg[],
    private readonly rest: EncodedArgs,
    keyPrefix: string | undefined,
  ) {
    super('evalsha', [script.sha, keys.length, ...keys, ...argv], keyPrefix ? { keyPrefix } : {});
  }

  override toWritable(socket: object): Buffer {
    const { script, rest } = this;
    // Called again when ioredis resends (reconnect, Cluster redirection): wrap the current reject.
    const reject = this.reject;
    this.reject = (err: Error) => {
      if (err.message.includes('NOSCRIPT')) script.loadedOn.delete(socket);
      reject.call(this, err);
    };
    if (!script.loadedOn.has(socket)) {
      script.loadedOn.add(socket);
      this.name = 'eval';
      this.args[0] = script.lua;
    } else if (this.name === 'eval') {
      this.name = 'evalsha';
      this.args[0] = script.sha;
    }
    const head = encodeBulkStrings([this.name, ...(this.args as ScriptArg[])], 1 + this.args.length + rest.count);
    return Buffer.concat([head.bytes, rest.bytes], head.bytes.length + rest.bytes.length);
  }
}

const CR = 0x0d;
const LF = 0x0a;

/**
 * `args` as RESP bulk strings (`$<length>\r\n<bytes>\r\n` each), after an array header
 * `*<arrayLength>\r\n` when `arrayLength` is given.
 */
export function encodeBulkStrings(args: readonly ScriptArg[], arrayLength?: number): EncodedArgs {
  const n = args.length;
  const items = new Array<string | Buffer>(n);
  const lengths = new Array<number>(n);
  let size = arrayLength === undefined ? 0 : decimalDigits(arrayLength) + 3;
  for (let i = 0; i < n; i++) {
    const arg = args[i]!;
    const item = typeof arg === 'number' ? String(arg) : arg;
    const length = typeof item === 'string' ? Buffer.byteLength(item) : item.length;
    items[i] = item;
    lengths[i] = length;
    size += length + decimalDigits(length) + 5;
  }
  const out = Buffer.allocUnsafe(size);
  let o = 0;
  if (arrayLength !== undefined) {
    out[o++] = 0x2a; // '*'
    o = writeDecimal(out, o, arrayLength);
    out[o++] = CR;
    out[o++] = LF;
  }
  for (let i = 0; i < n; i++) {
    const item = items[i]!;
    const length = lengths[i]!;
    out[o++] = 0x24; // '$'
    o = writeDecimal(out, o, length);
    out[o++] = CR;
    out[o++] = LF;
    o += typeof item === 'string' ? out.write(item, o, length, 'utf8') : item.copy(out, o);
    out[o++] = CR;
    out[o++] = LF;
  }
  return { bytes: out, count: n };
}

function decimalDigits(n: number): number {
  let digits = 1;
  while (n >= 10) {
    n = (n / 10) | 0;
    digits++;
  }
  return digits;
}

function writeDecimal(out: Buffer, o: number, n: number): number {
  const end = o + decimalDigits(n);
  for (let i = end - 1; i >= o; i--) {
    out[i] = 0x30 + (n % 10);
    n = (n / 10) | 0;
  }
  return end;
}
