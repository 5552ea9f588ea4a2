import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  ContinueAsNew,
  log,
  patched,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { finalizerName } from '../api/common';
import type { Duration } from '@temporalio/common';
import { msToNumber } from '@temporalio/common/lib/time';
import {
  objectChangedSignal,
  objectDeletedSignal,
  resourceStatusQuery,
  type ResourceWorkflowStatus,
} from './messages';
import type { ObjectSnapshot, ResourceWorkflowInput } from './types';

export interface ResourceLoopOptions<Spec, State> {
  input: ResourceWorkflowInput<Spec, State>;
  /** Re-reconcile this long after the last pass even if nothing was signalled (drift repair). */
  recheckInterval: Duration;
  /** Brings the world in line with `snapshot` and publishes status; returns state kept for the next pass. */
  reconcile(snapshot: ObjectSnapshot<Spec>, state: State | undefined): Promise<State | undefined>;
  /**
   * Runs once the object carries a deletionTimestamp; removes our finalizer when done. A cleanup that
   * can wait indefinitely calls `continueAsNew` with its progress when history grows: the next run
   * resumes it from the newest snapshot received.
   */
  cleanup?(
    snapshot: ObjectSnapshot<Spec>,
    state: State | undefined,
    continueAsNew: (progress: State) => Promise<never>,
  ): Promise<void>;
  /** Runs when the object is gone from the API server (no finalizer of ours held it). */
  onDeleted?(state: State | undefined): Promise<void>;
  continueAsNew(next: ResourceWorkflowInput<Spec, State>): Promise<never>;
  /** Also run a pass when this turns true (news the last pass did not see); the pass must make it false. */
  wakeWhen?: () => boolean;
}

const maxFailureBackoffMs = 10 * 60 * 1000;
/** Versions skipping the pass that our own finalizer write, echoed back by the watch, used to cost. */
const finalizerEchoPatch = 'resource-skip-own-finalizer-echo';
/** Versions letting a cleanup's continue-as-new through (it was caught as a failed pass). */
const cleanupContinuePatch = 'resource-cleanup-continue-as-new';

/**
 * The shape every resource workflow shares: wait for a newer snapshot or the recheck timer, reconcile,
 * repeat; clean up and finish on deletion; continue-as-new when history grows, carrying what is pending.
 */
export async function runResourceLoop<Spec, State>(options: ResourceLoopOptions<Spec, State>): Promise<void> {
  const { input } = options;
  let pending = input.pending;
  let current = input.current;
  let state = input.state;
  let deleted = false;
  const status: ResourceWorkflowStatus = {
    phase: 'Waiting',
    reconciles: 0,
    observedGeneration: current?.metadata.generation,
  };

  setHandler(objectChangedSignal, (snapshot) => {
    pending = snapshot as ObjectSnapshot<Spec>;
  });
  setHandler(objectDeletedSignal, ({ uid }) => {
    const known = (pending ?? current)?.metadata.uid;
    if (!uid || !known || uid === known) deleted = true;
  });
  setHandler(resourceStatusQuery, () => status);

  const recheckInterval = input.timerScale
    ? msToNumber(options.recheckInterval) * input.timerScale
    : options.recheckInterval;
  let failures = 0;
  for (;;) {
    if (current) {
      const waitMs = failures > 0 ? Math.min(2 ** failures * 1000, maxFailureBackoffMs) : recheckInterval;
      // After a failed pass only the backoff timer wakes it for news, or a failing pass would spin.
      const news = failures === 0 ? options.wakeWhen : undefined;
      await condition(() => pending !== undefined || deleted || Boolean(news?.()), waitMs);
    } else {
      await condition(() => pending !== undefined || deleted);
    }
    if (deleted) {
      await options.onDeleted?.(state);
      status.phase = 'Done';
      log.info('object deleted; workflow done', { kind: input.kind, name: input.name });
      return;
    }
    const snapshot = pending ?? current;
    if (!snapshot) continue;
    pending = undefined;
    if (current && failures === 0 && onlyAddsOurFinalizer(current, snapshot) && patched(finalizerEchoPatch)) {
      current = snapshot;
      continue;
    }

    try {
      if (snapshot.metadata.deletionTimestamp) {
        status.phase = 'CleaningUp';
        await options.cleanup?.(snapshot, state, async (progress) => {
          await condition(allHandlersFinished);
          return options.continueAsNew({ ...input, pending: pending ?? snapshot, current, state: progress });
        });
        status.phase = 'Done';
        return;
      }
      status.phase = 'Reconciling';
      state = await options.reconcile(snapshot, state);
      current = snapshot;
      status.reconciles++;
      status.observedGeneration = snapshot.metadata.generation;
      status.lastError = undefined;
      failures = 0;
    } catch (err) {
      // A cleanup continuing as new: swallowed, the next pass would reconcile the undeleted snapshot.
      if (err instanceof ContinueAsNew && patched(cleanupContinuePatch)) throw err;
      // Activities already retried what was retryable; keep the workflow alive and try again later.
      failures++;
      current = current ?? snapshot;
      status.lastError = err instanceof Error ? err.message : String(err);
      log.warn('reconcile failed; will retry', {
        kind: input.kind,
        name: input.name,
        error: status.lastError,
        failures,
      });
      if (err instanceof ApplicationFailure && err.type === 'BUG') throw err;
    }
    status.phase = 'Waiting';

    if (workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      await options.continueAsNew({ ...input, pending, current, state });
    }
  }
}

/** `next` is `prev` plus our finalizer (and a new resourceVersion): the pass that added it saw the rest. */
function onlyAddsOurFinalizer(prev: ObjectSnapshot<unknown>, next: ObjectSnapshot<unknown>): boolean {
  if (prev.metadata.finalizers?.includes(finalizerName) || !next.metadata.finalizers?.includes(finalizerName))
    return false;
  const rest = (s: ObjectSnapshot<unknown>) =>
    JSON.stringify({
      ...s,
      metadata: {
        ...s.metadata,
        resourceVersion: undefined,
        finalizers: (s.metadata.finalizers ?? []).filter((f) => f !== finalizerName),
      },
    });
  return rest(prev) === rest(next);
}
