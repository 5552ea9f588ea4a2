import { HookHealth } from '../../extension/health';

describe('HookHealth', () => {
  let now = 1_000_000;
  const health = () =>
    new HookHealth({ windowMs: 60_000, maxFailureRatio: 0.1, staleAfterMs: 120_000, now: () => now });
  const loadedIndex = { loaded: true, ageMs: 1_000, version: 3, objects: 10 };

  beforeEach(() => (now = 1_000_000));

  it('stays ok at exactly 10% failures and turns degraded above', () => {
    const h = health();
    for (let i = 0; i < 9; i++) h.record('ok');
    h.record('error');
    expect(h.report(loadedIndex).status).toBe('ok');
    h.record('invalid');
    expect(h.report(loadedIndex)).toMatchObject({
      status: 'degraded',
      window: { calls: 11, failures: 2 },
      reasons: ['2 of 11 hook calls failed in the last 60 s'],
    });
  });

  it('forgets failures older than the window', () => {
    const h = health();
    h.record('error');
    expect(h.report(loadedIndex).status).toBe('degraded');
    now += 61_000;
    h.record('ok');
    expect(h.report(loadedIndex)).toMatchObject({ status: 'ok', window: { calls: 1, failures: 0 } });
  });

  it('is degraded while the index is not loaded or is stale', () => {
    const h = health();
    expect(h.report({ ...loadedIndex, loaded: false, ageMs: Infinity }).reasons).toEqual([
      'index not loaded yet',
    ]);
    expect(h.report({ ...loadedIndex, ageMs: 121_000 })).toMatchObject({
      status: 'degraded',
      reasons: ['index is stale: last confirmed 121 s ago'],
    });
  });
});
