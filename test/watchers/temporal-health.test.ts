import { createLogger } from '../../runtime/logger';
import { TemporalHealth } from '../../watchers/temporal-health';

describe('TemporalHealth: how a Temporal outage shows in the watchers', () => {
  let now = 0;
  let lines: { level: string; msg: string }[] = [];
  const health = () =>
    new TemporalHealth({
      logger: createLogger({
        level: 'info',
        write: (l) => lines.push(JSON.parse(l) as { level: string; msg: string }),
      }),
      unreadyAfterMs: 60_000,
      warnEveryMs: 30_000,
      now: () => now,
    });
  beforeEach(() => {
    now = 1_000_000;
    lines = [];
  });

  it('warns at most every 30 s while calls fail, and is unready only after the grace period', () => {
    const h = health();
    for (let t = 0; t <= 90_000; t += 1_000) {
      now = 1_000_000 + t;
      h.failed(new Error('deadline exceeded'));
      if (t === 59_000) expect(h.unready()).toBeUndefined();
    }
    expect(lines.filter((l) => l.level === 'warn').length).toBe(4); // at 0, 30, 60 and 90 s
    expect(h.unready()).toBe('Temporal calls failing for 90 s: deadline exceeded');
  });

  it('one success makes it ready again and says so', () => {
    const h = health();
    h.failed(new Error('unavailable'));
    now += 61_000;
    h.failed(new Error('unavailable'));
    expect(h.unready()).toMatch(/^Temporal calls failing for 61 s/);
    h.succeeded();
    expect(h.unready()).toBeUndefined();
    expect(lines.at(-1)?.msg).toBe('Temporal calls succeed again');
  });

  it('gives the metrics how long calls have failed, and every failure counted', () => {
    const h = health();
    expect([h.unreachableForMs(), h.failedCalls]).toEqual([0, 0]);
    h.failed(new Error('deadline exceeded'));
    now += 42_000;
    h.failed(new Error('deadline exceeded'));
    expect([h.unreachableForMs(), h.failedCalls]).toEqual([42_000, 2]);
    h.succeeded();
    // The outage is over; the count of failed calls stays (a Prometheus counter).
    expect([h.unreachableForMs(), h.failedCalls]).toEqual([0, 2]);
  });
});
