import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  ContinueAsNew,
  log,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { hasShippedPatch } from './patches';
import type { Duration } from '@temporalio/common';
import { nextWaitMs, onlyAddsOurFinalizer, snapshotAfterFailure, withOurFinalizer } from './loop-decisions';
import {
  objectChangedSignal,
  objectDeletedSignal,
  resourceStatusQuery,
  type ResourceWorkflowStatus,
} from './messages';
import { recordSeen } from './seen-fingerprint';
import type { ObjectSnapshot, ResourceWorkflowInput } from './types';
import { resourceDetails } from './ui-summary';

/** What a reconcile pass hands back: the state kept for the next pass, and when to pass again unprompted. */
export interface Pass<State> {
  state: State | undefined;
  /** Default: the loop's `recheckInterval`. */
  wait?: Duration;
}

/** What a reconcile pass is told, and tells the loop as it goes. */
export interface ReconcileContext<Spec> {
  /**
   * The snapshot the last pass reconciled, given when this pass is for a newer one and the last pass
   * succeeded (what moved since).
   */
  previous?: ObjectSnapshot<Spec>;
  /**
   * Our finalizer is on the object now, which the snapshot predates: the loop holds the snapshot with
   * it, as the watch reports it next, even if the pass fails later. The watchers send no signal for
   * that echo.
   */
  addedOurFinalizer: () => void;
}

export interface ResourceLoopOptions<Spec, State> {
  input: ResourceWorkflowInput<Spec, State>;
  /** Re-reconcile this long after the last pass even if nothing was signalled (drift repair). */
  recheckInterval: Duration;
  /** The first timer of a run that starts with a reconciled snapshot (after continue-as-new). */
  resumeWait?: Duration;
  /** Brings the world in line with `snapshot` and publishes status. */
  reconcile(
    snapshot: ObjectSnapshot<Spec>,
    state: State | undefined,
    context: ReconcileContext<Spec>,
  ): Promise<Pass<State>>;
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
  onDeleted?(state: State | undefined, last: ObjectSnapshot<Spec> | undefined): Promise<void>;
  continueAsNew(next: ResourceWorkflowInput<Spec, State>): Promise<never>;
  /** Also run a pass when this turns true (news the last pass did not see); the pass must make it false. */
  wakeWhen?: () => boolean;
  /**
   * The pass for news alone (`wakeWhen`, with no newer snapshot and no timer): one that needs less than
   * a whole pass does only that; `undefined` asks for the whole pass.
   */
  onNews?(snapshot: ObjectSnapshot<Spec>, state: State | undefined): Promise<Pass<State> | undefined>;
  /** Passes completed by earlier runs (kinds that count them in their state), for the status query. */
  reconcilesBefore?: number;
  /** Kinds whose histories always retried the newest snapshot after a failure: no patch marker needed. */
  alwaysRetriedNewest?: boolean;
  /** Lines of this kind's own for the Temporal UI's current details (workflows/ui-summary.ts). */
  details?: () => string[];
}

/** Versions skipping the pass that our own finalizer write, echoed back by the watch, used to cost. */
const finalizerEchoPatch = 'resource-skip-own-finalizer-echo';
/** Versions holding the snapshot with the finalizer a pass added (the watchers skip its echo). */
const holdAddedFinalizerPatch = 'resource-hold-added-finalizer';
/** Versions letting a cleanup's continue-as-new through (it was caught as a failed pass). */
const cleanupContinuePatch = 'resource-cleanup-continue-as-new';
/** Versions retrying the newest snapshot after a failed pass (see snapshotAfterFailure). */
const retryNewestPatch = 'resource-retry-newest-snapshot';

/** What one run of the loop holds between passes; signal handlers write `pending` and `deleted`. */
interface LoopRun<Spec, State> {
  pending?: ObjectSnapshot<Spec>;
  current?: ObjectSnapshot<Spec>;
  state?: State;
  deleted: boolean;
  /** The timer the last pass chose. */
  wait: Duration;
  /** Failed passes in a row. */
  failures: number;
  status: ResourceWorkflowStatus;
}

/**
 * The shape every object workflow shares: wait for a newer snapshot or the timer the last pass chose,
 * reconcile, repeat; clean up and finish on deletion; continue-as-new when history grows, carrying what
 * is pending.
 */
export async function runResourceLoop<Spec, State>(options: ResourceLoopOptions<Spec, State>): Promise<void> {
  const { input } = options;
  const run = startRun(options);
  for (;;) {
    const newsOnly = await waitForWork(run, options);
    if (run.deleted) {
      await options.onDeleted?.(run.state, run.pending ?? run.current);
      run.status.phase = 'Done';
      log.info('object deleted; workflow done', { kind: input.kind, name: input.name });
      return;
    }
    const snapshot = run.pending ?? run.current;
    if (!snapshot) continue;
    const { current } = run;
    const previous = run.pending && run.failures === 0 ? current : undefined;
    run.pending = undefined;
    if (
      current &&
      run.failures === 0 &&
      onlyAddsOurFinalizer(current, snapshot) &&
      hasShippedPatch(finalizerEchoPatch)
    ) {
      run.current = snapshot;
      recordSeen(snapshot);
      continue;
    }
    if (await runPass(run, snapshot, options, { newsOnly, previous })) return;
    run.status.phase = 'Waiting';

    if (workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      await options.continueAsNew({ ...input, pending: run.pending, current: run.current, state: run.state });
    }
  }
}

function startRun<Spec, State>({
  input,
  ...options
}: ResourceLoopOptions<Spec, State>): LoopRun<Spec, State> {
  const run: LoopRun<Spec, State> = {
    pending: input.pending,
    current: input.current,
    state: input.state,
    deleted: false,
    wait: options.resumeWait ?? options.recheckInterval,
    failures: 0,
    status: {
      phase: 'Waiting',
      reconciles: options.reconcilesBefore ?? 0,
      observedGeneration: input.current?.metadata.generation,
    },
  };
  setHandler(objectChangedSignal, (snapshot) => {
    run.pending = snapshot as ObjectSnapshot<Spec>;
  });
  setHandler(objectDeletedSignal, ({ uid }) => {
    const known = (run.pending ?? run.current)?.metadata.uid;
    if (!uid || !known || uid === known) run.deleted = true;
  });
  setHandler(resourceStatusQuery, () => run.status);
  return run;
}

/**
 * Until a newer snapshot, the deletion, news (`wakeWhen`) or the timer: none before a first snapshot.
 * True when news alone woke it.
 */
async function waitForWork<Spec, State>(
  run: LoopRun<Spec, State>,
  options: ResourceLoopOptions<Spec, State>,
): Promise<boolean> {
  const timeout = run.current ? nextWaitMs(run.failures, run.wait) : undefined;
  setCurrentDetails(resourceDetails(options.input, run.status, timeout, options.details?.()));
  if (timeout === undefined) {
    await condition(() => run.pending !== undefined || run.deleted);
    return false;
  }
  // After a failed pass only the backoff timer wakes it for news, or a failing pass would spin.
  const news = run.failures === 0 ? options.wakeWhen : undefined;
  const woken = await condition(() => run.pending !== undefined || run.deleted || Boolean(news?.()), timeout);
  return woken && run.pending === undefined && !run.deleted;
}

/** Reconciles `snapshot`, or cleans up when it is being deleted; true when the workflow is done. */
async function runPass<Spec, State>(
  run: LoopRun<Spec, State>,
  snapshot: ObjectSnapshot<Spec>,
  options: ResourceLoopOptions<Spec, State>,
  woken: { newsOnly: boolean; previous?: ObjectSnapshot<Spec> },
): Promise<boolean> {
  let finalizerAdded = false;
  const context: ReconcileContext<Spec> = {
    previous: woken.previous,
    addedOurFinalizer: () => (finalizerAdded = true),
  };
  const held = () =>
    finalizerAdded && hasShippedPatch(holdAddedFinalizerPatch) ? withOurFinalizer(snapshot) : snapshot;
  try {
    if (snapshot.metadata.deletionTimestamp) {
      run.status.phase = 'CleaningUp';
      await options.cleanup?.(snapshot, run.state, async (progress) => {
        await condition(allHandlersFinished);
        const { pending, current } = run;
        return options.continueAsNew({
          ...options.input,
          pending: pending ?? snapshot,
          current,
          state: progress,
        });
      });
      run.status.phase = 'Done';
      return true;
    }
    run.status.phase = 'Reconciling';
    const pass =
      (woken.newsOnly ? await options.onNews?.(snapshot, run.state) : undefined) ??
      (await options.reconcile(snapshot, run.state, context));
    run.state = pass.state;
    run.wait = pass.wait ?? options.recheckInterval;
    run.current = held();
    recordSeen(run.current);
    run.status.reconciles++;
    run.status.observedGeneration = snapshot.metadata.generation;
    run.status.lastError = undefined;
    run.failures = 0;
  } catch (err) {
    passFailed(run, held(), err, options);
  }
  return false;
}

function passFailed<Spec, State>(
  run: LoopRun<Spec, State>,
  snapshot: ObjectSnapshot<Spec>,
  err: unknown,
  options: ResourceLoopOptions<Spec, State>,
): void {
  // A cleanup continuing as new: swallowed, the next pass would reconcile the undeleted snapshot.
  if (err instanceof ContinueAsNew && hasShippedPatch(cleanupContinuePatch)) throw err;
  // Activities already retried what was retryable; keep the workflow alive and try again later.
  run.failures++;
  const legacy = !options.alwaysRetriedNewest && !hasShippedPatch(retryNewestPatch);
  run.current = snapshotAfterFailure(run.current, snapshot, legacy);
  run.status.lastError = err instanceof Error ? err.message : String(err);
  log.warn('reconcile failed; will retry', {
    kind: options.input.kind,
    name: options.input.name,
    error: run.status.lastError,
    failures: run.failures,
  });
  if (err instanceof ApplicationFailure && err.type === 'BUG') throw err;
}
