/**
 * Producing to Redis Cluster: the same producer code with `redis: { cluster: nodes }`. Each shard is
 * one stream whose whole key is its hash tag, so each batch is one script call on one slot, and the
 * shards of a topic spread over the masters.
 *   npx tsx examples/cluster.ts [records]
 * Uses REDIS_CLUSTER_NODES=host:port,host:port,… when set; otherwise starts a throwaway
 * 3-master/3-replica cluster (needs redis-server and redis-cli on PATH) and removes it afterwards.
 */
import { Cluster } from 'ioredis';
import { BufferFullError, Producer } from '../src/index.js';
import { withRedisCluster } from './throwaway-redis.js';

const total = Number(process.argv[2] ?? 20_000);
const shards = 12;
const streamOf = (shard: number) => `{cluster-demo:events:${shard}}`;

await withRedisCluster(async (nodes) => {
  console.log(`cluster nodes: ${nodes.map((n) => `${n.host}:${n.port}`).join(', ')}`);
  const admin = new Cluster(nodes);
  const lengths = async () => Promise.all(Array.from({ length: shards }, (_, s) => admin.xlen(streamOf(s))));
  const before = await lengths(); // the example may run again against the same cluster

  const producer = new Producer({
    redis: { cluster: nodes },
    namespace: 'cluster-demo',
    topics: { events: { shards } },
    // acks: 'all' would also wait until a replica has each batch, so a failover cannot lose it.
  });
  let batches = 0;
  let failed = 0;
  producer.on('delivery', () => batches++);
  producer.on('error', (err) => {
    failed++;
    console.error(`producer error: ${err.code}: ${err.message}`);
  });
  await producer.connect();

  const ack = await producer.send({ topic: 'events', key: 'user-42', value: 'signed-up' });
  console.log(`send → ${ack.status} ${ack.stream} ${ack.status === 'delivered' ? ack.id : ack.compensationId}`);
  for (let i = 0; i < total; i++) {
    try {
      producer.produce({ topic: 'events', key: `user-${i % 1000}`, value: `event-${i}` });
    } catch (err) {
      if (!(err instanceof BufferFullError)) throw err;
      await producer.waitForRoom();
      i--; // try the same record again
    }
  }
  await producer.flush();
  await producer.close();
  console.log(`produced ${total} records in ${batches} batches (script calls), ${failed} failed`);

  // Where each shard lives: its key's slot, and the master serving that slot.
  const slotRanges = await admin.cluster('SLOTS'); // [[start, end, [masterHost, masterPort, …], …replicas], …]
  const masterOf = (slot: number) => {
    const master = slotRanges.find(([start, end]) => slot >= start && slot <= end)?.[2];
    return master ? `${master[0]}:${master[1]}` : 'unassigned';
  };
  const after = await lengths();
  const perMaster = new Map<string, number>();
  for (let s = 0; s < shards; s++) {
    const slot = Number(await admin.cluster('KEYSLOT', streamOf(s)));
    const master = masterOf(slot);
    const added = after[s]! - before[s]!;
    perMaster.set(master, (perMaster.get(master) ?? 0) + added);
    console.log(`shard ${String(s).padStart(2)}  ${streamOf(s).padEnd(26)} slot ${String(slot).padStart(5)} on ${master}  +${added} entries`);
  }
  for (const [master, added] of [...perMaster].sort()) console.log(`master ${master}: +${added} entries`);
  const added = after.reduce((a, b) => a + b, 0) - before.reduce((a, b) => a + b, 0);
  console.log(`${added} of ${total + 1} records are in their streams, on ${perMaster.size} masters`);
  if (added !== total + 1 || failed > 0) process.exitCode = 1;
  await admin.quit();
});
