import type { WorkflowInterceptorsFactory } from '@temporalio/workflow';

/**
 * Replaced by a number when a test or benchmark bundles this module (runtime/timer-scale.ts); the
 * production bundle never includes it, so production timers and inputs carry no scale.
 */
declare const TSGW_TIMER_SCALE: number;

/** Multiplies every workflow timer (sleep, condition with a timeout) by the bundle's scale. */
export const interceptors: WorkflowInterceptorsFactory = () => ({
  outbound: [
    {
      startTimer: (input, next) =>
        next({ ...input, durationMs: Math.max(1, Math.round(input.durationMs * TSGW_TIMER_SCALE)) }),
    },
  ],
});
