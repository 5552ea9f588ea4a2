import type { ObjectMeta } from '../api/common';

/**
 * What a watcher sends a resource workflow: the object's identity, metadata and spec. Never its
 * status (ours to write) and never Secret data (only Secret versions), so histories hold no secrets.
 */
export interface ObjectSnapshot<Spec> {
  metadata: Pick<
    ObjectMeta,
    | 'name'
    | 'namespace'
    | 'uid'
    | 'generation'
    | 'resourceVersion'
    | 'labels'
    | 'annotations'
    | 'finalizers'
    | 'deletionTimestamp'
  >;
  spec: Spec;
  /**
   * Versions of related objects (a referenced Secret's resourceVersion, the endpoints a selector picks),
   * so a change to them re-triggers reconcile. Never their contents.
   */
  relatedVersions?: Record<string, string>;
}

export interface ObjectDeleted {
  uid?: string;
}

export interface ResourceWorkflowInput<Spec, State = undefined> {
  kind: string;
  namespace?: string;
  name: string;
  /** Carried across continue-as-new: the newest snapshot not yet reconciled, if any. */
  pending?: ObjectSnapshot<Spec>;
  /** Carried across continue-as-new: the last snapshot reconciled. */
  current?: ObjectSnapshot<Spec>;
  state?: State;
  /**
   * Multiplies the recheck/refresh timers (the operator's TIMER_SCALE, set by the watchers at start;
   * benchmarks only). Absent in production, where every timer keeps its literal duration.
   */
  timerScale?: number;
}
