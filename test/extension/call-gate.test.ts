import { CallGate } from '../../extension/call-gate';

describe('CallGate', () => {
  it('runs up to maxInFlight, queues up to maxQueued in order, and refuses beyond', () => {
    const gate = new CallGate({ maxInFlight: 1, maxQueued: 2 });
    const admitted: string[] = [];
    expect(gate.enter(() => admitted.push('a'))).not.toBe(false);
    expect(gate.enter(() => admitted.push('b'))).not.toBe(false);
    expect(gate.enter(() => admitted.push('c'))).not.toBe(false);
    expect(gate.enter(() => admitted.push('d'))).toBe(false);
    expect([admitted, gate.running, gate.queued]).toEqual([['a'], 1, 2]);
    gate.release();
    expect([admitted, gate.running, gate.queued]).toEqual([['a', 'b'], 1, 1]);
    gate.release();
    gate.release();
    expect([admitted, gate.running, gate.queued]).toEqual([['a', 'b', 'c'], 0, 0]);
  });

  it('forgets a waiter that leaves the queue (a cancelled call) and frees its place', () => {
    const gate = new CallGate({ maxInFlight: 1, maxQueued: 1 });
    const admitted: string[] = [];
    gate.enter(() => admitted.push('a'));
    const leave = gate.enter(() => admitted.push('gone'));
    expect(leave).not.toBe(false);
    (leave as () => void)();
    expect(gate.queued).toBe(0);
    expect(gate.enter(() => admitted.push('c'))).not.toBe(false);
    gate.release();
    expect(admitted).toEqual(['a', 'c']);
  });
});
