import { nextInterval, refresh } from '../../workflows/proxy-steps';

describe('proxy device refresh interval', () => {
  it.each([
    // previous, changed, stable (Ready, no API error) → next
    [5_000, false, true, 10_000],
    [10_000, false, true, 20_000],
    [20 * 60_000, false, true, 30 * 60_000], // capped at the stable maximum
    [30 * 60_000, false, true, 30 * 60_000],
    [40_000, false, false, 60_000], // still converging: capped at a minute
    [60_000, false, false, 60_000],
    [30 * 60_000, true, true, 5_000], // any change snaps back to the short interval
    [60_000, true, false, 5_000],
  ])('after %i ms, changed=%s, stable=%s: waits %i ms', (previous, changed, stable, next) => {
    expect(nextInterval(previous, changed, stable)).toBe(next);
  });

  it('backs off from the short interval to the stable maximum in a few idle passes', () => {
    const waits = [refresh.shortMs];
    while (waits.at(-1)! < refresh.stableMaxMs) waits.push(nextInterval(waits.at(-1)!, false, true));
    expect(waits).toHaveLength(10);
    // A day idle costs ~50 refreshes instead of the 17,280 a fixed short interval would.
    const passesPerDay =
      waits.length + Math.ceil((86_400_000 - waits.reduce((a, b) => a + b, 0)) / refresh.stableMaxMs);
    expect(passesPerDay).toBeLessThan(60);
  });
});
