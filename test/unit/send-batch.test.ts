import { describe, expect, it } from 'vitest';
import type { SendAck } from '../../src/acks.js';
import { ProducerError } from '../../src/errors.js';
import { SendBatchOutcome, SendBatchSlot, type SendResult } from '../../src/send-batch.js';

const delivered = (id: string): SendAck => ({ status: 'delivered', topic: 't', shard: 0, stream: '{n:t:0}', id });

describe('sendBatch() results', () => {
  it('hands over one result per record, in input order, once the last record has its outcome', () => {
    const handed: SendResult[][] = [];
    const outcome = new SendBatchOutcome(3, (results) => handed.push(results));
    const slots = [0, 1, 2].map((i) => new SendBatchSlot(outcome, i, 't'));
    slots[2]!.resolve(delivered('3-0'));
    slots[0]!.reject(new ProducerError('refused', 'ERR_X'));
    expect(handed).toEqual([]);
    slots[1]!.resolve(delivered('2-0'));
    expect(handed).toHaveLength(1);
    expect(handed[0]!.map((r) => (r.status === 'failed' ? r.error.code : r.status === 'delivered' ? r.id : r.status))).toEqual(['ERR_X', '2-0', '3-0']);
  });

  it('the first outcome of a record stands, as with a promise', () => {
    const handed: SendResult[][] = [];
    const outcome = new SendBatchOutcome(1, (results) => handed.push(results));
    const slot = new SendBatchSlot(outcome, 0, 't');
    slot.resolve(delivered('1-0'));
    slot.reject(new Error('late'));
    expect(handed).toEqual([[delivered('1-0')]]);
  });

  it('a failure that is not a ProducerError becomes one (ERR_UNKNOWN), and a record without a topic says so', () => {
    const handed: SendResult[][] = [];
    const slot = new SendBatchSlot(new SendBatchOutcome(1, (results) => handed.push(results)), 0, undefined);
    slot.reject(new Error('odd'));
    expect(handed[0]![0]).toMatchObject({ status: 'failed', topic: undefined, error: { code: 'ERR_UNKNOWN', message: 'Error: odd' } });
  });
});
