/**
 * Records with the same key go to the same shard, in order: a consumer reading one shard sees each
 * key's records in the order they were produced.
 *   npx tsx examples/keyed-ordering.ts
 */
import { Redis } from 'ioredis';
import { Producer } from '../src/index.js';
import { withRedis } from './throwaway-redis.js';

await withRedis(async (url) => {
  const producer = new Producer({ redis: url, namespace: 'ordering', defaultShards: 4 });
  const accounts = ['alice', 'bob', 'carol'];
  for (let step = 1; step <= 5; step++) {
    for (const account of accounts) producer.produce({ topic: 'ledger', key: account, value: JSON.stringify({ account, step }) });
  }
  const acks = await Promise.all(accounts.map((account) => producer.send({ topic: 'ledger', key: account, value: JSON.stringify({ account, step: 6 }) })));
  await producer.close();

  const reader = new Redis(url);
  let ordered = true;
  for (const [i, account] of accounts.entries()) {
    const ack = acks[i]!;
    const steps = (await reader.xrange(ack.stream, '-', '+'))
      .map(([, fields]) => JSON.parse(fields[1]!) as { account: string; step: number })
      .filter((r) => r.account === account)
      .map((r) => r.step);
    const inOrder = steps.every((step, at) => step === at + 1) && steps.length === 6;
    ordered &&= inOrder;
    console.log(`${account} → shard ${ack.shard} (${ack.stream}): steps ${steps.join(',')} ${inOrder ? 'in order' : 'OUT OF ORDER'}`);
  }
  await reader.quit();
  if (!ordered) process.exitCode = 1;
});
