import { describe, expect, it } from 'vitest';
import { BufferGate } from '../../src/buffer-gate.js';
import { BufferFullError } from '../../src/errors.js';

describe('BufferGate', () => {
  it('reserves until full and frees on release', () => {
    const gate = new BufferGate(10);
    expect(gate.tryReserve(6)).toBe(true);
    expect(gate.tryReserve(5)).toBe(false);
    expect(gate.tryReserve(4)).toBe(true);
    gate.release(6);
    expect(gate.usedBytes).toBe(4);
    expect(gate.tryReserve(6)).toBe(true);
  });

  it('serves waiters first come, first served; later callers cannot overtake', async () => {
    const gate = new BufferGate(10);
    gate.tryReserve(10);
    const order: string[] = [];
    const a = gate.reserve(8, 10_000).then(() => order.push('a'));
    const b = gate.reserve(2, 10_000).then(() => order.push('b'));
    expect(gate.tryReserve(1)).toBe(false); // someone is queued
    gate.release(10);
    await Promise.all([a, b]);
    expect(order).toEqual(['a', 'b']);
    expect(gate.usedBytes).toBe(10);
  });

  it('rejects with BufferFullError after maxWaitMs and then lets the next waiter in', async () => {
    const gate = new BufferGate(10);
    gate.tryReserve(8);
    await expect(gate.reserve(5, 0)).rejects.toBeInstanceOf(BufferFullError);
    const slow = gate.reserve(5, 20);
    const small = gate.reserve(2, 10_000);
    await expect(slow).rejects.toMatchObject({ code: 'ERR_BUFFER_FULL', retriable: true });
    await small;
    expect(gate.usedBytes).toBe(10);
  });

  it('whenRoomFor waits without taking room', async () => {
    const gate = new BufferGate(10);
    gate.tryReserve(10);
    let woke = false;
    const room = gate.whenRoomFor(3).then(() => (woke = true));
    gate.release(2);
    await Promise.resolve();
    expect(woke).toBe(false);
    gate.release(1);
    await room;
    expect(gate.usedBytes).toBe(7);
  });

  it('rejectAll rejects every waiter', async () => {
    const gate = new BufferGate(1);
    gate.tryReserve(1);
    const w = gate.reserve(1, 10_000);
    gate.rejectAll(new Error('closed'));
    await expect(w).rejects.toThrow('closed');
  });
  it('hands room to a waiting record the moment it frees up, before a record arriving in the same tick can take it', () => {
    const gate = new BufferGate(10);
    expect(gate.tryReserve(10)).toBe(true);
    const order: string[] = [];
    void gate.reserve(5, 10_000, () => order.push('waited'));
    gate.release(10);
    if (gate.tryReserve(5)) order.push('arrived');
    expect(order).toEqual(['waited', 'arrived']);
  });
});
