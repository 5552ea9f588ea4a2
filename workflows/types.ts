import type { ObjectMeta } from '../api/common';

/**
 * What a watcher sends a resource workflow: the object's identity, the metadata it acts on and its spec
 * (watchers/watched-kind.ts snapshotOf). Never its status (ours to write), labels or annotations (size),
 * nor Secret data (only Secret versions), so histories hold no secrets and stay small.
 */
export interface ObjectSnapshot<Spec> {
  metadata: Pick<
    ObjectMeta,
    | 'name'
    | 'namespace'
    | 'uid'
    | 'generation'
    | 'resourceVersion'
    | 'finalizers'
    | 'deletionTimestamp'
    | 'creationTimestamp'
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
}
