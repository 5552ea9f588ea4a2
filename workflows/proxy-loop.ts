import { allHandlersFinished, condition, log, setHandler, workflowInfo } from '@temporalio/workflow';
import type { ProxyParentKind } from '../api/v1alpha1/proxy';
import {
  objectChangedSignal,
  objectDeletedSignal,
  resourceStatusQuery,
  type ResourceWorkflowStatus,
} from './messages';
import { cleanupProxies, initialProxyState, reconcileProxies, type ProxyWorkflowState } from './proxy-steps';
import type { ObjectSnapshot, ResourceWorkflowInput } from './types';

export type ProxyWorkflowInput<Spec> = ResourceWorkflowInput<Spec, ProxyWorkflowState>;

const maxFailureBackoffMs = 10 * 60_000;

/**
 * The life of a TailscaleEndpoints or TailscaleProxyGroup: wait for a newer snapshot (watchers send one
 * when the object or one of its proxies' Secrets changes) or for the refresh timer, whose interval each
 * pass chooses (short while converging, long once stable); reconcile; on deletion clean up and finish.
 * Continue-as-new carries the pending snapshot and the state (known devices, reissue clock, interval).
 */
export async function runProxyWorkflow<Spec>(
  kind: ProxyParentKind,
  input: ProxyWorkflowInput<Spec>,
  continueAsNew: (next: ProxyWorkflowInput<Spec>) => Promise<never>,
): Promise<void> {
  let pending = input.pending;
  let current = input.current;
  let state = input.state ?? initialProxyState();
  let deleted = false;
  let waitMs = 0;
  let failures = 0;
  // Seeded from what the previous run reconciled, so a query right after continue-as-new is not blank.
  const status: ResourceWorkflowStatus = {
    phase: 'Waiting',
    reconciles: state.reconciles,
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

  for (;;) {
    if (current) {
      const timeout =
        input.timerScale && waitMs > 0 ? Math.max(1, Math.round(waitMs * input.timerScale)) : waitMs;
      await condition(() => pending !== undefined || deleted, timeout);
    } else await condition(() => pending !== undefined || deleted);

    const snapshot = pending ?? current;
    if (deleted) {
      // Gone without our finalizer holding it (removed by hand): still delete what we created.
      if (snapshot) await cleanupProxies(kind, snapshot, state, { objectGone: true }).catch(logFailure(kind));
      status.phase = 'Done';
      return;
    }
    if (!snapshot) continue;
    pending = undefined;

    try {
      if (snapshot.metadata.deletionTimestamp) {
        status.phase = 'CleaningUp';
        await cleanupProxies(kind, snapshot, state, { objectGone: false });
        status.phase = 'Done';
        return;
      }
      status.phase = 'Reconciling';
      const outcome = await reconcileProxies(kind, snapshot, state);
      state = { ...outcome.state, reconciles: state.reconciles + 1 };
      waitMs = outcome.waitMs;
      failures = 0;
      status.lastError = undefined;
    } catch (err) {
      // Activities already retried what was retryable; try again later rather than fail the workflow.
      failures++;
      waitMs = Math.min(2 ** failures * 1000, maxFailureBackoffMs);
      status.lastError = err instanceof Error ? err.message : String(err);
      log.warn('proxy reconcile failed; will retry', { kind, error: status.lastError, failures });
    }
    current = snapshot;
    status.phase = 'Waiting';
    status.reconciles = state.reconciles;
    status.observedGeneration = snapshot.metadata.generation;

    if (workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      await continueAsNew({ ...input, pending, current, state });
    }
  }
}

const logFailure = (kind: ProxyParentKind) => (err: unknown) => {
  log.warn('cleanup after deletion failed', {
    kind,
    error: err instanceof Error ? err.message : String(err),
  });
};
