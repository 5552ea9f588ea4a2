/**
 * Health of the extension server as Envoy Gateway experiences it: degraded when more than 10% of the
 * hook calls of the last window failed, or when the index is stale (no rebuild or confirmation within
 * the staleness bound, i.e. the watches are likely dead).
 */
import type { HookOutcome } from './metrics';

export interface HealthOptions {
  windowMs: number;
  maxFailureRatio: number;
  staleAfterMs: number;
  now?: () => number;
}

export interface HealthReport {
  status: 'ok' | 'degraded';
  reasons: string[];
  window: { seconds: number; calls: number; failures: number; failureRate: number };
  index: { loaded: boolean; ageSeconds: number | null; version: number; objects: number };
}

const bucketMs = 1000;

/** Outcomes counted in one-second buckets, so memory stays bounded whatever the call rate. */
export class HookHealth {
  private readonly buckets = new Map<number, { calls: number; failures: number }>();
  private readonly now: () => number;

  constructor(private readonly opts: HealthOptions) {
    this.now = opts.now ?? Date.now;
  }

  record(outcome: HookOutcome): void {
    const slot = Math.floor(this.now() / bucketMs);
    const b = this.buckets.get(slot) ?? { calls: 0, failures: 0 };
    b.calls++;
    if (outcome !== 'ok') b.failures++;
    this.buckets.set(slot, b);
    if (this.buckets.size > this.opts.windowMs / bucketMs + 2) this.prune();
  }

  windowCounts(): { calls: number; failures: number } {
    this.prune();
    let calls = 0;
    let failures = 0;
    for (const b of this.buckets.values()) {
      calls += b.calls;
      failures += b.failures;
    }
    return { calls, failures };
  }

  report(index: { loaded: boolean; ageMs: number; version: number; objects: number }): HealthReport {
    const { calls, failures } = this.windowCounts();
    const failureRate = calls ? failures / calls : 0;
    const reasons: string[] = [];
    if (failureRate > this.opts.maxFailureRatio) {
      reasons.push(`${failures} of ${calls} hook calls failed in the last ${this.opts.windowMs / 1000} s`);
    }
    if (!index.loaded) reasons.push('index not loaded yet');
    else if (index.ageMs > this.opts.staleAfterMs) {
      reasons.push(`index is stale: last confirmed ${Math.round(index.ageMs / 1000)} s ago`);
    }
    return {
      status: reasons.length ? 'degraded' : 'ok',
      reasons,
      window: { seconds: this.opts.windowMs / 1000, calls, failures, failureRate },
      index: {
        loaded: index.loaded,
        ageSeconds: Number.isFinite(index.ageMs) ? index.ageMs / 1000 : null,
        version: index.version,
        objects: index.objects,
      },
    };
  }

  private prune(): void {
    const oldest = Math.floor((this.now() - this.opts.windowMs) / bucketMs);
    for (const slot of this.buckets.keys()) if (slot <= oldest) this.buckets.delete(slot);
  }
}
