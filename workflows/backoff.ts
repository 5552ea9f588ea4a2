/**
 * The delay before retry number `attempt` (0 first): `initialMs` doubled per attempt, capped at `maxMs`.
 * Deterministic, so workflows use it for timers; runtime/backoff.ts adds jitter on top for processes.
 */
export const backoffMs = (attempt: number, initialMs: number, maxMs: number): number =>
  Math.min(initialMs * 2 ** attempt, maxMs);
