/**
 * The simulator's notion of "now". Token and key expiry read it, so tests move time forward with
 * `advance` instead of sleeping for an hour.
 */
export class SimulatorClock {
  private offsetMs = 0;

  constructor(private readonly base: () => number = Date.now) {}

  now(): number {
    return this.base() + this.offsetMs;
  }

  advance(ms: number): void {
    this.offsetMs += ms;
  }
}

export const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

// Go's zero time.Time, which the API prints for "never" (e.g. `expires` of a device with key expiry off).
export const goZeroTime = '0001-01-01T00:00:00Z';
