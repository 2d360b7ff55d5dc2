/**
 * Compensation, step by step: make records undeliverable on purpose, find them in the compensation
 * store, see why they failed, fix the cause, then purge one and replay the rest.
 *   npx tsx examples/compensation.ts          (REDIS_URL optional)
 *
 * The fault: a plain string sits where the shard's stream should be, so every XADD to it fails with
 * WRONGTYPE, a refusal that retrying cannot cure. The producer parks the records at once. The
 * background replayer is off here so each step is visible; in production it runs by itself, and
 * an operator uses `rsp compensation …` (docs/cli.md) or the same `producer.compensation` calls.
 */
import { Redis } from 'ioredis';
import { Producer } from '../src/index.js';
import { withRedis } from './throwaway-redis.js';

const topic = 'payments';
const stream = '{comp-demo:payments:0}'; // namespace comp-demo, topic payments, shard 0

await withRedis(async (url) => {
  const admin = new Redis(url);
  const producer = new Producer({
    redis: url,
    namespace: 'comp-demo',
    topics: { [topic]: { shards: 1 } },
    compensation: { maxAttempts: 1, replay: { enabled: false } },
  });
  producer.on('dead-letter', (e) => console.log(`  event dead-letter: ${e.entryId} after ${e.attempts} attempts (${e.lastError.split(':')[0]})`));
  producer.on('replay', (e) => console.log(`  event replay: ${e.entryId} → ${e.outcome} ${e.streamId ?? ''}`));
  await producer.connect(); // the compensation calls need a connection; sends would open it themselves
  // A clean slate when the example runs again against the same Redis.
  await producer.compensation.purge(topic);
  await producer.compensation.purge(topic, { dead: true });

  console.log(`1. break it: SET ${stream} "not a stream"`);
  await admin.set(stream, 'not a stream');

  console.log('2. send three records');
  const results = await producer.sendBatch(['alice:10', 'bob:20', 'carol:30'].map((value) => ({ topic, value })));
  for (const r of results) {
    if (r.status === 'spilled') console.log(`  spilled: ${r.compensationId} parked in ${r.parkedIn} (${r.error.code}, persisted: ${r.persisted})`);
    else console.log(`  unexpected: ${r.status}`);
  }

  console.log('3. inspect the compensation store');
  console.log(`  topics with parked records: ${(await producer.compensation.topics()).join(', ')}`);
  const before = await producer.compensation.stats(topic);
  console.log(`  stats: pending ${before.pending}, due ${before.due}, dead ${before.dead}`);
  for (const entry of await producer.compensation.list(topic)) {
    console.log(`  ${entry.id}: shard ${entry.shard}, attempts ${entry.attempts}, value ${String(entry.fields[1])}, last error ${entry.lastError.split(':')[0]}`);
  }
  console.log(`  in the local journal (Redis unreachable when parking): ${await producer.compensation.journaled()}`);

  console.log('4. replay before fixing anything: the attempts run out, the records become dead letters');
  const failed = await producer.compensation.replayNow();
  console.log(`  round: replayed ${failed.replayed}, retry later ${failed.retryLater}, dead-lettered ${failed.deadLettered}`);
  const dead = await producer.compensation.list(topic, { dead: true });
  console.log(`  dead letters: ${dead.map((e) => e.id).join(', ')}`);

  console.log(`5. fix the cause: the string was in the way (in real life, move it elsewhere): DEL ${stream}`);
  await admin.del(stream);

  const [unwanted, ...wanted] = dead;
  console.log(`6. purge a record nobody wants any more: ${unwanted!.id} (${String(unwanted!.fields[1])})`);
  console.log(`  purged ${await producer.compensation.purge(topic, { ids: [unwanted!.id] })}`);

  console.log('7. requeue the other dead letters and replay them');
  console.log(`  requeued ${await producer.compensation.requeueDead(topic)}`);
  const round = await producer.compensation.replayNow();
  console.log(`  round: replayed ${round.replayed}, retry later ${round.retryLater}, dead-lettered ${round.deadLettered}`);

  console.log('8. check');
  const after = await producer.compensation.stats(topic);
  console.log(`  stats: pending ${after.pending}, due ${after.due}, dead ${after.dead}`);
  const entries = (await admin.xrange(stream, '-', '+')) as [string, string[]][];
  console.log(`  XRANGE ${stream}: ${entries.map(([id, fields]) => `${id} payload=${fields[1]}`).join(', ')}`);
  const expected = wanted
    .map((e) => String(e.fields[1]))
    .sort()
    .join(',');
  const ok =
    entries
      .map(([, fields]) => fields[1])
      .sort()
      .join(',') === expected && after.pending + after.dead === 0;
  console.log(ok ? 'every wanted record is in its stream, the store is empty' : 'MISMATCH: see above');
  if (!ok) process.exitCode = 1;

  await producer.close();
  await admin.quit();
});
