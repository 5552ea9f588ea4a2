import type { Condition } from './common';

export type ConditionStatus = Condition['status'];

/** What a reconcile step observed; the timestamp and generation are filled in by `setCondition`. */
export interface ConditionUpdate {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
}

/**
 * Returns `conditions` with `update` applied. `lastTransitionTime` moves only when the status flips,
 * as the Kubernetes API conventions require, so re-publishing an unchanged condition is a no-op.
 */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  update: ConditionUpdate,
  generation: number | undefined,
  now: string,
): Condition[] {
  const existing = conditions?.find((c) => c.type === update.type);
  const next: Condition = {
    ...update,
    lastTransitionTime: existing && existing.status === update.status ? existing.lastTransitionTime : now,
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
  };
  const others = (conditions ?? []).filter((c) => c.type !== update.type);
  return [...others, next].sort(
    (a, b) => conditionOrder(a.type) - conditionOrder(b.type) || a.type.localeCompare(b.type),
  );
}

export function findCondition(
  conditions: readonly Condition[] | undefined,
  type: string,
): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function isReady(conditions: readonly Condition[] | undefined): boolean {
  return findCondition(conditions, 'Ready')?.status === 'True';
}

// Ready first, so `kubectl get -o yaml` reads top-down from the summary.
function conditionOrder(type: string): number {
  return type === 'Ready' ? 0 : 1;
}
