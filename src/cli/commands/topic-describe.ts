import { Cluster } from 'ioredis';
import { connectionAddress } from '../../client-kind.js';
import { withDeadline } from '../../connection.js';
import { Producer } from '../../producer.js';
import { checkName } from '../args.js';
import type { Command, CommandContext } from '../command.js';
import { locateKeys, type SlotOwner } from '../cluster-map.js';
import { EXIT } from '../exit-codes.js';
import { println } from '../io.js';
import { formatCount } from '../progress.js';
import { ShardReader } from '../shard-reader.js';
import { formatBytes, table } from '../table.js';
import { requireShards } from '../topic-meta.js';

const TIMEOUT_MS = 5_000;

export const topicDescribe: Command = {
  path: ['topic', 'describe'],
  summary: "Show a topic's shards: lengths, first/last ids, memory, and on a cluster the slot and master of each",
  usage: '<topic> [--json]',
  positionals: ['topic'],
  description: [
    'One row per shard stream {ns:topic:shard}: entries (XLEN), first and last entry id, memory',
    '(MEMORY USAGE), and on Redis Cluster its slot and the master serving it, followed by the count',
    "of shards and entries per master. The header line also counts the topic's parked records.",
  ].join('\n'),
  options: {},
  examples: ['rsp topic describe orders', 'rsp topic describe orders --json | jq .totalEntries'],
  run: runDescribe,
};

interface ShardRow {
  shard: number;
  stream: string;
  entries: number;
  firstId: string | null;
  lastId: string | null;
  memoryBytes: number;
  slot?: number;
  master?: string;
}

async function runDescribe(ctx: CommandContext): Promise<number> {
  const { io, namespace } = ctx;
  const topic = checkName('<topic>', ctx.args.positionals[0]!, { topic: true });
  const client = await ctx.redis();
  const shards = await requireShards(client, namespace, topic);
  const { streams } = new ShardReader(client, namespace, topic, shards);
  const call = <T>(p: Promise<T>, what: string) => withDeadline(p, TIMEOUT_MS, what);

  const rows: ShardRow[] = await Promise.all(
    streams.map(async (stream, shard) => {
      const [entries, first, last, memory] = await Promise.all([
        call(client.xlen(stream), `XLEN ${stream}`),
        call(client.xrange(stream, '-', '+', 'COUNT', 1), `XRANGE ${stream}`),
        call(client.xrevrange(stream, '+', '-', 'COUNT', 1), `XREVRANGE ${stream}`),
        call(client.memory('USAGE', stream), `MEMORY USAGE ${stream}`),
      ]);
      return { shard, stream, entries, firstId: first[0]?.[0] ?? null, lastId: last[0]?.[0] ?? null, memoryBytes: Number(memory ?? 0) };
    }),
  );
  if (client instanceof Cluster) {
    const located = await locateKeys(client, streams);
    located.forEach(({ slot, master }, i) => {
      Object.assign(rows[i]!, { slot, master: master ? address(master) : 'unassigned' });
    });
  }

  // Parked records, through the library's own compensation API.
  const producer = new Producer({ redis: client, namespace, compensation: { replay: { enabled: false } } });
  const parked = await producer.compensation.stats(topic).finally(() => producer.close());

  const totalEntries = rows.reduce((n, r) => n + r.entries, 0);
  const totalMemoryBytes = rows.reduce((n, r) => n + r.memoryBytes, 0);
  const cluster = client instanceof Cluster;
  // One server holds every shard: `masters` has one row there, so the JSON has the same keys.
  const masters = cluster ? perMaster(rows) : [{ master: connectionAddress(client), shards: rows.length, entries: totalEntries }];
  if (ctx.json) {
    println(
      io.stdout,
      JSON.stringify({
        topic,
        namespace,
        shards,
        cluster,
        totalEntries,
        totalMemoryBytes,
        parked: { pending: parked.pending, due: parked.due, dead: parked.dead },
        shardList: rows,
        masters,
      }),
    );
    return EXIT.ok;
  }
  const out = (text: string) => println(io.stdout, text);
  out(`topic "${topic}" · namespace "${namespace}" · ${shards} shards · ${formatCount(totalEntries)} entries · ${formatBytes(totalMemoryBytes)}`);
  out(`parked: ${formatCount(parked.pending)} pending (${formatCount(parked.due)} due) · ${formatCount(parked.dead)} dead`);
  out('');
  const header = ['shard', 'stream', 'entries', 'first id', 'last id', 'memory', ...(cluster ? ['slot', 'master'] : [])];
  const cells = rows.map((r) => [
    String(r.shard),
    r.stream,
    formatCount(r.entries),
    r.firstId ?? '-',
    r.lastId ?? '-',
    formatBytes(r.memoryBytes),
    ...(cluster ? [String(r.slot), r.master ?? ''] : []),
  ]);
  for (const line of table(header, cells)) out(line);
  if (cluster) {
    out('');
    for (const line of table(
      ['master', 'shards', 'entries'],
      masters.map((m) => [m.master, String(m.shards), formatCount(m.entries)]),
    ))
      out(line);
  }
  return EXIT.ok;
}

function address(owner: SlotOwner): string {
  return `${owner.host}:${owner.port}`;
}

/** Shards and entries per master, busiest first. */
function perMaster(rows: ShardRow[]): { master: string; shards: number; entries: number }[] {
  const byMaster = new Map<string, { master: string; shards: number; entries: number }>();
  for (const row of rows) {
    const m = byMaster.get(row.master ?? '') ?? { master: row.master ?? '', shards: 0, entries: 0 };
    m.shards++;
    m.entries += row.entries;
    byMaster.set(m.master, m);
  }
  return [...byMaster.values()].sort((a, b) => b.shards - a.shards || a.master.localeCompare(b.master));
}
