import { afterEach, describe, expect, it } from 'vitest';
import type { ProducerError } from '../../../src/index.js';
import { eventually, Resources, uniqueNamespace } from '../../support/helpers.js';

const res = new Resources();
afterEach(() => res.closeAll());

describe("acks: 'all' against a server without the replicas it needs", () => {
  it('says so when connecting, with an error event naming the server and the count, before any batch waits in vain', async () => {
    const producer = res.producer({ namespace: uniqueNamespace(), acks: 'all', ackReplicas: 1 });
    const errors: ProducerError[] = [];
    producer.on('error', (e) => errors.push(e));
    await producer.connect();
    await eventually(() => errors.some((e) => e.code === 'ERR_NOT_ENOUGH_REPLICAS'), 'a replica warning', 5_000);
    const warning = errors.find((e) => e.code === 'ERR_NOT_ENOUGH_REPLICAS')!;
    expect(warning.message).toMatch(/acks: 'all' needs 1 online replica\(s\) per master; 127\.0\.0\.1:\d+ has 0/);
    expect(warning.retriable).toBe(true);
  });

  it("stays quiet with acks: 'leader'", async () => {
    const producer = res.producer({ namespace: uniqueNamespace() });
    const errors: ProducerError[] = [];
    producer.on('error', (e) => errors.push(e));
    await producer.connect();
    await producer.send({ topic: 't', value: 'x' }); // a round trip after connecting: a check would have answered by now
    expect(errors).toEqual([]);
  });
});
