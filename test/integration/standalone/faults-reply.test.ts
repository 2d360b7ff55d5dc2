import { afterEach, describe, expect, it } from 'vitest';
import type { SendAck } from '../../../src/index.js';
import { FaultProxy } from '../../support/fault-proxy.js';
import { eventually, Resources, redisUrl, uniqueNamespace } from '../../support/helpers.js';
import { expectNothingLostNothingDuplicated } from '../../support/invariant.js';

const res = new Resources();
const proxies: FaultProxy[] = [];
afterEach(async () => {
  await res.closeAll();
  await Promise.all(proxies.splice(0).map((p) => p.stop()));
});

async function proxy(): Promise<FaultProxy> {
  const u = new URL(redisUrl());
  const p = await FaultProxy.start({ host: u.hostname, port: Number(u.port) });
  proxies.push(p);
  return p;
}

describe('faults: lost replies and cut connections', () => {
  it('a reply lost after Redis ran the script: the idempotent retry gets the original ids, nothing is written twice', async () => {
    const p = await proxy();
    const namespace = uniqueNamespace();
    const producer = res.producer({ redis: p.url, namespace, topics: { t: { shards: 1 } }, requestTimeoutMs: 300, retryBackoffMs: 20, retryBackoffMaxMs: 50 });
    producer.on('error', () => {});
    const retries: string[] = [];
    producer.on('retry', (e) => retries.push(e.error.code));
    await producer.send({ topic: 't', value: 'warm-up' }); // topic checked, script loaded
    const lost = p.loseNextReply('evalsha');
    const values = Array.from({ length: 20 }, (_, i) => `r${i}`);
    const acks = await Promise.all(values.map((value) => producer.send({ topic: 't', value })));
    await lost;
    expect(retries.length).toBeGreaterThan(0);
    expect(acks.every((a) => a.status === 'delivered')).toBe(true);
    const sent = [{ value: 'warm-up', ack: undefined }, ...values.map((value, i) => ({ value, ack: acks[i] as SendAck }))];
    await expectNothingLostNothingDuplicated({ admin: res.admin(), producer, namespace, topic: 't', shards: 1, sent });
  });

  it('connections cut again and again while producing: every record lands exactly once', async () => {
    const p = await proxy();
    const namespace = uniqueNamespace();
    const producer = res.producer({ redis: p.url, namespace, defaultShards: 4, batchMaxRecords: 50, requestTimeoutMs: 300, retryBackoffMs: 20, retryBackoffMaxMs: 100 });
    producer.on('error', () => {});
    await producer.connect();
    const sent: { value: string; ack: SendAck | undefined }[] = [];
    const sends: Promise<void>[] = [];
    for (let i = 0; i < 2000; i++) {
      const record = { value: `c${i}`, ack: undefined as SendAck | undefined };
      sent.push(record);
      sends.push(producer.send({ topic: 'cut', key: `k${i % 37}`, value: record.value }).then((a) => void (record.ack = a)));
      if (i % 400 === 200) p.cutAll();
      if (i % 100 === 0) await new Promise((r) => setImmediate(r));
    }
    await Promise.all(sends);
    await expectNothingLostNothingDuplicated({ admin: res.admin(), producer, namespace, topic: 'cut', shards: 4, sent });
  });
});

describe('faults: a connection that stops answering without closing', () => {
  it('is replaced once a call on it is older than requestTimeoutMs: the sends go on over a new connection', async () => {
    const p = await proxy();
    const namespace = uniqueNamespace();
    const producer = res.producer({ redis: p.url, namespace, topics: { t: { shards: 2 } }, requestTimeoutMs: 300, deliveryTimeoutMs: 6_000, retryBackoffMs: 20, retryBackoffMaxMs: 100 });
    producer.on('error', () => {});
    const disconnects: string[] = [];
    producer.on('disconnect', (e) => disconnects.push(e.reason));
    await producer.send({ topic: 't', value: 'warm-up' });
    p.stallOpen();
    const values = Array.from({ length: 20 }, (_, i) => `s${i}`);
    const acks = await Promise.all(values.map((value, i) => producer.send({ topic: 't', key: `k${i}`, value })));
    // Without the rule every call waits on the stalled connection until deliveryTimeoutMs, then parks.
    expect(acks.map((a) => a.status)).toEqual(values.map(() => 'delivered'));
    expect(disconnects.length).toBeGreaterThan(0);
    const sent = [{ value: 'warm-up', ack: undefined }, ...values.map((value, i) => ({ value, ack: acks[i] as SendAck }))];
    await expectNothingLostNothingDuplicated({ admin: res.admin(), producer, namespace, topic: 't', shards: 2, sent });
  });

  it('a reconnect whose handshake is never answered is replaced too, instead of waiting for ever', async () => {
    const p = await proxy();
    const namespace = uniqueNamespace();
    const producer = res.producer({ redis: p.url, namespace, topics: { t: { shards: 2 } }, requestTimeoutMs: 300, deliveryTimeoutMs: 6_000, retryBackoffMs: 20, retryBackoffMaxMs: 100 });
    producer.on('error', () => {});
    await producer.send({ topic: 't', value: 'warm-up' });
    // The connection drops; its reconnect reaches the proxy and is held there, half-open for good.
    p.blackhole();
    p.cutAll();
    await eventually(() => p.connections > 0, 'the reconnect accepted by the proxy', 5_000);
    p.stallOpen();
    p.pass();
    const values = Array.from({ length: 10 }, (_, i) => `h${i}`);
    const acks = await Promise.all(values.map((value) => producer.send({ topic: 't', value })));
    // Without the rule the client stays in its handshake: every send waits until deliveryTimeoutMs, then parks.
    expect(acks.map((a) => a.status)).toEqual(values.map(() => 'delivered'));
    const sent = [{ value: 'warm-up', ack: undefined }, ...values.map((value, i) => ({ value, ack: acks[i] as SendAck }))];
    await expectNothingLostNothingDuplicated({ admin: res.admin(), producer, namespace, topic: 't', shards: 2, sent });
  });
});
