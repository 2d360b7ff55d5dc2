import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { CODECS, codecAvailable } from '../../compression.js';
import { resolveConfig } from '../../config.js';
import { BufferFullError, DeliveryError, InvalidRecordError } from '../../errors.js';
import { Producer } from '../../producer.js';
import type { ProducerRecord } from '../../record.js';
import { enumFlag, headerFlags, integerFlag, stringFlag, topicFlag } from '../args.js';
import type { Command, CommandContext } from '../command.js';
import { UsageError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { INPUT_FORMATS, keyPath, parseLine } from '../input.js';
import { println } from '../io.js';
import { formatCount, ProgressBar } from '../progress.js';
import { collectorOf } from '../../stats/registry.js';
import { storedShards } from '../topic-meta.js';

const ON_ERROR = ['stop', 'skip'] as const;
const COMPRESSION = ['none', ...CODECS] as const;

export const produce: Command = {
  path: ['produce'],
  summary: 'Produce records read from stdin or a file, one per line',
  usage: '--topic <name> [options] [< records]',
  description: [
    'Each input line becomes one record of the topic, sent through the library (batched per shard, one',
    'Lua call per batch). Blank lines are skipped. With --format json, each line must be one JSON value',
    '(JSON Lines) and is stored as it is; --key-field picks the record key from it. A bad line is',
    'reported on stderr as "line N: <reason>"; with --on-error stop (the default) the run ends there',
    'and every record read before it is still delivered. Records that cannot be delivered are parked',
    'in the compensation store (see "rsp compensation"), never dropped. Prints a summary at the end,',
    'and a progress line while running when stderr is a terminal.',
  ].join('\n'),
  options: {
    topic: { type: 'string', value: '<name>', description: 'Topic to produce to (required)' },
    file: { type: 'string', value: '<path>', description: 'Read this file instead of stdin' },
    format: { type: 'string', value: '<lines|json>', description: 'lines (default): each line is a value, as it is. json: each line is one JSON value' },
    'key-field': { type: 'string', value: '<field>', description: 'With --format json: the record key is this field of each JSON object (a.b for nested)' },
    header: { type: 'string', multiple: true, value: '<name=value>', description: 'A header for every record (repeatable)' },
    shards: { type: 'string', value: '<n>', description: "Shard count of a new topic (default: the library's, 16); an existing topic keeps its own" },
    'on-error': { type: 'string', value: '<stop|skip>', description: 'On a bad line: stop there (default) or skip it and go on' },
    'journal-dir': { type: 'string', value: '<dir>', description: "Local journal for records parked while Redis is unreachable (default: the library's)" },
    compression: { type: 'string', value: '<none|gzip|deflate|brotli|zstd>', description: 'Store values compressed with this codec (default none); rsp tail and readEntry decode them' },
    'compression-min-bytes': { type: 'string', value: '<n>', description: "With --compression: values shorter than this stay as they are (default: the library's, 1024)" },
  },
  examples: [
    'seq 1 100 | rsp produce --topic demo',
    'rsp produce --topic orders --format json --key-field user.id --header source=import --file orders.jsonl',
    'rsp produce --topic events --format json --compression gzip --file events.jsonl',
    'REDIS_URL=redis://10.0.0.5:6379 rsp produce --topic logs --on-error skip < app.log',
  ],
  run: runProduce,
};

interface Counts {
  lines: number;
  blank: number;
  bad: number;
  accepted: number;
  delivered: number;
  spilled: number;
  spilledToJournal: number;
  failed: number;
}

async function runProduce(ctx: CommandContext): Promise<number> {
  const { args, io, namespace } = ctx;
  const topic = topicFlag(args);
  const format = enumFlag(args, 'format', INPUT_FORMATS, 'lines');
  const keyField = stringFlag(args, 'key-field');
  if (keyField !== undefined && format !== 'json') throw new UsageError('`--key-field` expects `--format json` (plain lines have no fields)');
  if (keyField !== undefined && keyPath(keyField).some((part) => part === '')) {
    throw new UsageError(`\`--key-field\` expects a field name such as "user" or "user.id", got ${JSON.stringify(keyField)}`);
  }
  const path = keyField === undefined ? undefined : keyPath(keyField);
  const headers = headerFlags(args);
  const shardsFlag = integerFlag(args, 'shards', { min: 1, max: 16384 });
  const onError = enumFlag(args, 'on-error', ON_ERROR, 'stop');
  const journalDir = stringFlag(args, 'journal-dir');
  const codec = enumFlag(args, 'compression', COMPRESSION, 'none');
  const minBytes = integerFlag(args, 'compression-min-bytes', { min: 0, max: 512 * 1024 * 1024 });
  if (minBytes !== undefined && codec === 'none') throw new UsageError('`--compression-min-bytes` expects `--compression` with a codec');
  if (codec !== 'none' && !codecAvailable(codec))
    throw new UsageError(`\`--compression\` ${codec} is not in this Node's zlib (${process.version}); choose one of ${CODECS.filter((c) => codecAvailable(c)).join(', ')}`);
  const input = await openInput(stringFlag(args, 'file'), ctx);

  const client = await ctx.redis();
  const stored = await storedShards(client, namespace, topic);
  if (stored !== undefined && shardsFlag !== undefined && stored !== shardsFlag) {
    throw new UsageError(`\`--shards\` ${shardsFlag} disagrees with topic "${topic}", which has ${stored} shards: omit --shards (a topic's shard count is fixed)`);
  }
  const shards = stored ?? shardsFlag ?? resolveConfig({}).defaultShards;
  const producer = new Producer({
    redis: client,
    namespace,
    topics: { [topic]: { shards, ...(codec === 'none' ? {} : { compression: { codec, ...(minBytes === undefined ? {} : { minBytes }) } }) } },
    // A one-off command should not replay other producers' parked records behind the user's back.
    compensation: { replay: { enabled: false }, ...(journalDir === undefined ? {} : { journalDir }) },
  });

  const counts: Counts = { lines: 0, blank: 0, bad: 0, accepted: 0, delivered: 0, spilled: 0, spilledToJournal: 0, failed: 0 };
  const started = performance.now();
  const bar = io.stderrIsTTY
    ? new ProgressBar(io.stderr, () => ({
        accepted: counts.accepted,
        delivered: counts.delivered,
        undelivered: counts.spilled + counts.failed,
        elapsedMs: performance.now() - started,
        bytesRead: input.bytesRead(),
        totalBytes: input.totalBytes,
      }))
    : undefined;
  const warn = (text: string) => io.stderr.write(`${bar ? '\r\x1b[2K' : ''}${text}\n`);
  const reported = new Set<string>();
  producer.on('delivery', (e) => (counts.delivered += e.ids.length));
  producer.on('spill', (e) => {
    counts.spilled += e.ids.length;
    if (e.parkedIn === 'journal') counts.spilledToJournal += e.ids.length;
  });
  producer.on('error', (err) => {
    if (err instanceof DeliveryError && err.batch && err.code !== 'ERR_PARK_FAILED') counts.failed += err.batch.records;
    // A connection going up and down repeats itself: each distinct problem is worth one line.
    if (!reported.has(err.message)) {
      reported.add(err.message);
      warn(`rsp produce: ${err.message}`);
    }
  });

  let stoppedAt: number | undefined;
  let interrupted = false;
  const lines = createInterface({ input: input.stream, crlfDelay: Infinity });
  input.countBytes();
  const stopListening = io.onInterrupt(() => {
    interrupted = true;
    lines.close();
  });
  try {
    for await (const line of lines) {
      const lineNumber = ++counts.lines;
      const parsed = parseLine(line, format, path);
      let reason: string | undefined;
      if (parsed.kind === 'blank') {
        counts.blank++;
        continue;
      }
      if (parsed.kind === 'bad') {
        reason = parsed.reason;
      } else {
        const record: ProducerRecord = { topic, value: parsed.value };
        if (parsed.key !== undefined) record.key = parsed.key;
        if (Object.keys(headers).length > 0) record.headers = headers;
        try {
          await produceWithRoom(producer, record);
          counts.accepted++;
        } catch (err) {
          if (!(err instanceof InvalidRecordError)) throw err;
          reason = err.message;
        }
      }
      if (reason !== undefined) {
        counts.bad++;
        warn(`line ${lineNumber}: ${reason}`);
        if (onError === 'stop') {
          stoppedAt = lineNumber;
          break;
        }
      }
      if (interrupted) break;
    }
    // Whatever was accepted gets its outcome (delivered, or parked for replay) before we report.
    await producer.flush();
  } finally {
    stopListening();
    lines.close();
    input.close();
    await producer.close();
    bar?.stop();
  }
  const { compressedRecords, compressionSavedBytes } = collectorOf(producer)!.totalCounters();

  const elapsedMs = performance.now() - started;
  const ratePerSec = elapsedMs > 0 ? Math.round((counts.delivered * 1000) / elapsedMs) : 0;
  const code = counts.spilled + counts.failed > 0 ? EXIT.undelivered : counts.bad > 0 ? EXIT.badInput : interrupted ? EXIT.interrupted : EXIT.ok;
  const summary = {
    topic,
    namespace,
    shards,
    newTopic: stored === undefined,
    input: input.name,
    lines: counts.lines,
    records: counts.accepted,
    delivered: counts.delivered,
    spilled: counts.spilled,
    spilledToJournal: counts.spilledToJournal,
    failed: counts.failed,
    badLines: counts.bad,
    blankLines: counts.blank,
    stoppedAtLine: stoppedAt ?? null,
    interrupted,
    elapsedMs: Math.round(elapsedMs),
    ratePerSec,
    compression: codec,
    compressedRecords,
    compressionSavedBytes,
    exitCode: code,
  };
  if (ctx.json) {
    println(io.stdout, JSON.stringify(summary));
    return code;
  }
  const out = (text: string) => println(io.stdout, text);
  out(`${formatCount(counts.accepted)} records from ${input.name} → topic "${topic}" (namespace "${namespace}", ${shards} shards${stored === undefined ? ', new' : ''})`);
  const parts = [`delivered ${formatCount(counts.delivered)}`, `parked ${formatCount(counts.spilled)}`, `failed ${formatCount(counts.failed)}`];
  if (counts.bad > 0) parts.push(`bad lines ${formatCount(counts.bad)}`);
  parts.push(`${(elapsedMs / 1000).toFixed(2)} s`, `${formatCount(ratePerSec)} records/s`);
  out(parts.join(' · '));
  if (codec !== 'none') out(`compressed with ${codec}: ${formatCount(compressedRecords)} values, ${formatCount(compressionSavedBytes)} bytes saved`);
  if (stoppedAt !== undefined) {
    out(`stopped at line ${stoppedAt} (--on-error stop): the ${formatCount(counts.accepted)} records before it were sent (counted above); nothing after it was read`);
  }
  if (interrupted) out(`interrupted after line ${counts.lines}: the ${formatCount(counts.accepted)} records read were sent (counted above); the rest of the input was not read`);
  if (counts.spilled > 0) {
    const where = counts.spilledToJournal > 0 ? ` (${formatCount(counts.spilledToJournal)} in the local journal, Redis was unreachable)` : '';
    // The command as it must be typed to find them: same namespace, same journal.
    const journal = journalDir === undefined ? '' : ` --journal-dir ${JSON.stringify(journalDir)}`;
    out(`${formatCount(counts.spilled)} records were parked for replay${where}: rsp compensation replay --namespace ${namespace} --topic ${topic}${journal}`);
  }
  return code;
}

/** `produce()` with back-pressure: waits for buffer room instead of failing. */
async function produceWithRoom(producer: Producer, record: ProducerRecord): Promise<void> {
  for (;;) {
    try {
      producer.produce(record);
      return;
    } catch (err) {
      if (!(err instanceof BufferFullError)) throw err;
      await producer.waitForRoom();
    }
  }
}

interface Input {
  stream: Readable;
  name: string;
  totalBytes: number | undefined;
  bytesRead(): number;
  countBytes(): void;
  close(): void;
}

/** The file named by `--file`, else stdin. A file that cannot be read is a usage error (exit 2). */
async function openInput(file: string | undefined, ctx: CommandContext): Promise<Input> {
  let stream: Readable;
  let totalBytes: number | undefined;
  if (file === undefined || file === '-') {
    stream = ctx.io.stdin;
    if (ctx.io.stdinIsTTY) ctx.io.stderr.write('rsp produce: reading records from the terminal, one per line; end with Ctrl-D\n');
  } else {
    try {
      const info = await stat(file);
      if (!info.isFile()) throw new Error('not a regular file');
      totalBytes = info.size;
    } catch (err) {
      throw new UsageError(`\`--file\` expects a readable file, got ${JSON.stringify(file)}: ${err instanceof Error ? err.message : String(err)}`);
    }
    stream = createReadStream(file);
  }
  let bytes = 0;
  return {
    stream,
    name: stream === ctx.io.stdin ? 'stdin' : file!,
    totalBytes,
    bytesRead: () => bytes,
    // Called once the reader is attached: a 'data' listener starts the flow, and lines that
    // flowed before the reader existed would be lost.
    countBytes: () => stream.on('data', (chunk: Buffer | string) => (bytes += chunk.length)),
    close: () => {
      if (stream !== ctx.io.stdin) stream.destroy();
    },
  };
}
