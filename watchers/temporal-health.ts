import type { Logger } from '../runtime/logger';

export interface TemporalHealthOptions {
  logger: Logger;
  /** Failing this long without a success makes the process unready. */
  unreadyAfterMs: number;
  /** At most one outage warning this often. */
  warnEveryMs?: number;
  now?: () => number;
}

/**
 * Whether the watchers' Temporal calls (signals and a periodic health check, each with a deadline)
 * succeed. A Temporal that hangs fails nothing on its own; with deadlines each call fails, and an
 * outage is logged (at a bounded rate) and, past a grace period, turns /ready to 503.
 */
export class TemporalHealth {
  private failingSince: number | undefined;
  private lastError = '';
  private failures = 0;
  private failedCallsTotal = 0;
  private lastWarnAt = Number.NEGATIVE_INFINITY;
  private readonly now: () => number;

  constructor(private readonly opts: TemporalHealthOptions) {
    this.now = opts.now ?? Date.now;
  }

  succeeded(): void {
    if (this.failingSince !== undefined) {
      this.opts.logger.info('Temporal calls succeed again', {
        failedForMs: this.now() - this.failingSince,
        failures: this.failures,
      });
    }
    this.failingSince = undefined;
    this.failures = 0;
  }

  failed(err: unknown): void {
    const now = this.now();
    this.failingSince ??= now;
    this.failures++;
    this.failedCallsTotal++;
    this.lastError = err instanceof Error ? err.message : String(err);
    if (now - this.lastWarnAt < (this.opts.warnEveryMs ?? 30_000)) return;
    this.lastWarnAt = now;
    this.opts.logger.warn('Temporal unreachable: signals cannot be delivered, changes wait in the queue', {
      failingForMs: now - this.failingSince,
      failures: this.failures,
      error: this.lastError,
    });
  }

  /** For the metrics: how long calls have failed without a success (0 while they succeed). */
  unreachableForMs(): number {
    return this.failingSince === undefined ? 0 : this.now() - this.failingSince;
  }

  /** For the metrics: every failed call since this process started leading. */
  get failedCalls(): number {
    return this.failedCallsTotal;
  }

  /** The reason the process is not ready, or undefined. */
  unready(): string | undefined {
    if (this.failingSince === undefined) return undefined;
    const seconds = Math.round((this.now() - this.failingSince) / 1000);
    if (this.now() - this.failingSince < this.opts.unreadyAfterMs) return undefined;
    return `Temporal calls failing for ${seconds} s: ${this.lastError}`;
  }
}
