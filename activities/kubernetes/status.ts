import { isDeepStrictEqual } from 'node:util';
import type { Condition, KubeObject } from '../../api/common';
import { setCondition, type ConditionUpdate } from '../../api/conditions';
import type { ResourceRef } from '../../api/crd';
import type { Logger } from '../../runtime/logger';
import { Counter } from 'prom-client';
import { metricsRegistry } from '../../runtime/metrics';
import { eventsForConditions } from './condition-events';
import { hostApprovalEvents } from './host-events';
import type { CustomObjects } from './custom-objects';
import type { EventRecorder } from './events';
import { isConflict, isNotFound, toKubeActivityFailure } from './errors';

export interface PatchStatusInput {
  resource: ResourceRef;
  namespace?: string;
  name: string;
  /** The object the status was computed for; a recreated object (new uid) is left alone. */
  uid?: string;
  observedGeneration?: number;
  conditions: ConditionUpdate[];
  /** Other status fields this kind publishes; replaces them wholesale (null removes a field). */
  fields?: Record<string, unknown>;
}

export type PatchStatusResult = { written: boolean; skipped?: 'NotFound' | 'Recreated' | 'Unchanged' };

const maxConflictRetries = 5;

const reconciles = new Counter({
  name: 'tsgw_reconciles_total',
  help: 'Reconcile passes (status publications, written or unchanged) by kind and the Ready or Accepted condition they published.',
  labelNames: ['kind', 'status', 'reason'] as const,
  registers: [metricsRegistry],
});

function countReconcile(input: PatchStatusInput): void {
  const summary = input.conditions.find((c) => c.type === 'Ready' || c.type === 'Accepted');
  reconciles.inc({
    kind: input.resource.kind,
    status: summary?.status ?? 'None',
    reason: summary?.reason ?? 'None',
  });
}

/**
 * Publishes status through the status subresource, only when it changed (an idle operator makes no
 * writes), with `lastTransitionTime` moved only on flips and optimistic concurrency on resourceVersion.
 * A condition that turns to a reason asking the user to act, Ready turning True, or a host of the
 * object's VIP service newly approved is also recorded as an Event.
 */
export async function patchStatus(
  objects: CustomObjects,
  logger: Logger,
  input: PatchStatusInput,
  events?: EventRecorder,
): Promise<PatchStatusResult> {
  const key = { namespace: input.namespace, name: input.name };
  countReconcile(input);
  for (let attempt = 0; ; attempt++) {
    let current: KubeObject<unknown, Record<string, unknown>>;
    try {
      current = await objects.get(input.resource, key);
    } catch (err) {
      if (isNotFound(err)) return { written: false, skipped: 'NotFound' };
      throw toKubeActivityFailure(err, `reading ${input.resource.kind} ${describe(input)}`);
    }
    if (input.uid && current.metadata.uid !== input.uid) return { written: false, skipped: 'Recreated' };

    const next = desiredStatus(current.status ?? {}, input, new Date().toISOString());
    if (isDeepStrictEqual(next, current.status ?? {})) return { written: false, skipped: 'Unchanged' };

    try {
      await objects.replaceStatus(input.resource, { ...current, status: next });
      logger.debug('status published', { kind: input.resource.kind, object: describe(input) });
      if (events) await recordTransitions(events, input, current);
      return { written: true };
    } catch (err) {
      if (isConflict(err) && attempt < maxConflictRetries) continue;
      if (isNotFound(err)) return { written: false, skipped: 'NotFound' };
      throw toKubeActivityFailure(err, `publishing status of ${input.resource.kind} ${describe(input)}`);
    }
  }
}

export function desiredStatus(
  current: Record<string, unknown>,
  input: Pick<PatchStatusInput, 'observedGeneration' | 'conditions' | 'fields'>,
  now: string,
): Record<string, unknown> {
  let conditions = (current.conditions as Condition[] | undefined) ?? [];
  for (const update of input.conditions)
    conditions = setCondition(conditions, update, input.observedGeneration, now);
  const next: Record<string, unknown> = { ...current };
  for (const [field, value] of Object.entries(input.fields ?? {})) {
    if (value === null || value === undefined) delete next[field];
    else next[field] = value;
  }
  if (input.observedGeneration !== undefined) next.observedGeneration = input.observedGeneration;
  next.conditions = conditions;
  return next;
}

async function recordTransitions(
  events: EventRecorder,
  input: PatchStatusInput,
  current: KubeObject<unknown, Record<string, unknown>>,
): Promise<void> {
  const regarding = {
    apiVersion: `${input.resource.group}/${input.resource.version}`,
    kind: input.resource.kind,
    namespace: current.metadata.namespace,
    name: current.metadata.name ?? input.name,
    uid: current.metadata.uid,
  };
  const previous = (current.status?.conditions as Condition[] | undefined) ?? [];
  for (const notice of [
    ...eventsForConditions(regarding, previous, input.conditions),
    ...hostApprovalEvents(regarding, current.status, input.fields),
  ])
    await events.record(notice);
}

function describe(input: { namespace?: string; name: string }): string {
  return input.namespace ? `${input.namespace}/${input.name}` : input.name;
}
