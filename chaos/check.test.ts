/**
 * The checker itself, on made-up rounds: each kind of broken outcome must be reported, and a clean
 * round must pass. No servers.
 */
import { describe, expect, it } from 'vitest';
import { BufferFullError, DeliveryError, type Producer, type SendAck } from '../src/index.js';
import { check, type Entries } from './check.js';
import { makeSchedule } from './schedule.js';
import { Observed, type Sent } from './workload.js';

const ns = 'n';
const topic = 't';
const stream = (shard: number) => `{${ns}:${topic}:${shard}}`;
const schedule = { ...makeSchedule(1, 0, 'standalone'), shards: 2 };

function observed(): Observed {
  return new Observed({ on: () => undefined } as unknown as Producer, () => 0);
}

function sent(value: string, key: string, keySeq: number, seq: number, ack: SendAck | undefined, settle = 10): Sent {
  return { value, via: 'send', key, headers: undefined, keySeq, seq, start: 0, settle, ack, error: undefined };
}

const delivered = (shard: number, id: string): SendAck => ({ status: 'delivered', topic, shard, stream: stream(shard), id });
const spilled = (shard: number, compensationId: string): SendAck => ({
  status: 'spilled',
  topic,
  shard,
  stream: stream(shard),
  compensationId,
  persisted: 'not',
  parkedIn: 'redis',
  error: new DeliveryError('timed out', 'ERR_DELIVERY_TIMEOUT', { retriable: true, persisted: 'not', cause: undefined }),
});
const entry = (id: string, value: string, key: string): Entries[number] => [id, ['payload', value, 'key', key]];

/** A clean round: a, b delivered on shard 0; c parked and replayed after them. */
function clean() {
  const obs = observed();
  const records = [sent('a', 'k', 1, 1, delivered(0, '1-0')), sent('b', 'k', 2, 2, delivered(0, '1-1')), sent('c', 'k', 3, 3, spilled(0, 'e3'))];
  const streams: Entries[] = [[entry('1-0', 'a', 'k'), entry('1-1', 'b', 'k'), entry('2-0', 'c', 'k')], []];
  for (const id of ['1-0', '1-1', '2-0']) obs.delivered.add(`${stream(0)} ${id}`);
  obs.replays.push({ topic, shard: 0, entryId: 'e3', outcome: 'replayed', streamId: '2-0', at: 50 });
  return { obs, records, streams };
}

const run = (c: ReturnType<typeof clean>) =>
  check({ schedule, namespace: ns, topic, streams: c.streams, sent: c.records, observed: c.obs, kills: [], settleBoundMs: 1_000 }).violations.map((v) => v.check);

describe('chaos checks', () => {
  it('pass a clean round', () => {
    expect(run(clean())).toEqual([]);
  });

  it('report a lost record, but not one that was never accepted', () => {
    const c = clean();
    c.streams[0]!.splice(1, 1);
    c.records.push({ ...sent('d', 'k', 4, 4, undefined), error: new BufferFullError('full') });
    expect(run(c)).toEqual(['lost', 'delivered ack does not point at its value']);
  });

  it('report a duplicate', () => {
    const c = clean();
    c.streams[1]!.push(entry('3-0', 'a', 'k'));
    expect(run(c)).toEqual(['duplicated']);
  });

  it('report an ack that points elsewhere, and changed fields', () => {
    const c = clean();
    c.streams[0]![0] = ['1-0', ['payload', 'a', 'key', 'other']];
    c.records[1]!.ack = delivered(0, '9-9');
    expect(run(c)).toEqual(['delivered ack does not point at its value', 'entry fields differ from the record sent']);
  });

  it('report per-key disorder of direct records and disorder of replayed ones', () => {
    const c = clean();
    [c.streams[0]![0], c.streams[0]![1]] = [c.streams[0]![1]!, c.streams[0]![0]!];
    c.records.push(sent('e', 'j', 1, 0, spilled(0, 'e0')));
    c.streams[0]!.push(entry('2-1', 'e', 'j'));
    c.obs.replays.push({ topic, shard: 0, entryId: 'e0', outcome: 'replayed', streamId: '2-1', at: 60 });
    expect(run(c)).toEqual(['per-key order of never-parked records', 'parked records replayed out of order (per shard)']);
  });

  it('report unsettled, slow and rejected sends, and dead letters', () => {
    const c = clean();
    c.records.push({ ...sent('f', 'k', 5, 5, undefined), settle: undefined });
    c.records[0]!.settle = 5_000;
    c.records.push({ ...sent('g', 'k', 6, 6, undefined), error: new DeliveryError('no', 'ERR_X', { retriable: false, persisted: 'not', cause: undefined }) });
    c.obs.deadLetters.push({ topic, shard: 0, entryId: 'e9', attempts: 9, lastError: 'x', at: 1 });
    expect(run(c)).toEqual(['unsettled', 'settled later than 1000ms', 'rejected', 'lost', 'dead-letter events']);
  });

  it('list a loss a SIGKILL explains apart, but not one written long before it', () => {
    const c = clean();
    c.streams[0]!.splice(1, 1);
    const withKillAt = (at: number) => check({ schedule, namespace: ns, topic, streams: c.streams, sent: c.records, observed: c.obs, kills: [{ at, shards: 'all' }], settleBoundMs: 1_000 });
    const explained = withKillAt(500);
    expect(explained.violations).toEqual([]);
    expect(explained.allowedLoss).toHaveLength(1);
    expect(withKillAt(5_000).violations.map((v) => v.check)).toEqual(['lost', 'delivered ack does not point at its value']);
  });
});
