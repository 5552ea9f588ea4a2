import type { SearchAttributePair } from '@temporalio/common';
import { finalizerName, type KubeObject } from '../api/common';
import type { ResourceRef } from '../api/crd';
import { k8sNamespaceKey, resourceKindKey } from '../workflows/search-attributes';
import { fingerprintBeforeOurFinalizer, fingerprintOf } from '../workflows/fingerprint';
import type { ObjectSnapshot, ResourceWorkflowInput } from '../workflows/types';
import type { GatewayApiLookups, GatewayApiRelatedSource } from './routes';
import type { WorkflowDelivery } from './signaler';

/** How one of our kinds maps onto its workflow. Watchers hold no other logic (docs/architecture.md §1). */
export interface WatchedKind<T extends KubeObject<unknown, unknown>> {
  resource: ResourceRef;
  workflowType: string;
  workflowId(obj: T): string;
  extraSearchAttributes?(obj: T): SearchAttributePair[];
  /** Related objects whose changes must reach this object's workflow (see RelatedLookups). */
  dependsOn?: RelatedSource[];
  related?(obj: T, lookups: RelatedLookups): Record<string, string>;
}

export type RelatedSource =
  'secrets' | 'endpoints' | 'tailnets' | 'backendServices' | 'proxyStatefulSets' | GatewayApiRelatedSource;

/** Read-only views of the dependency informers' caches. */
export interface RelatedLookups extends GatewayApiLookups {
  secretVersion(namespace: string, name: string): string | undefined;
  /** Where the proxies' Secrets live (OPERATOR_NAMESPACE; proxyPlacement). */
  operatorNamespace: string;
  endpointsIn(namespace: string): KubeObject<unknown, unknown>[];
  /** What dependents of a TailscaleTailnet care about (its Ready condition, DNS suffix); undefined if absent. */
  tailnetState(name: string): string | undefined;
  /** Desired and ready replicas of a proxy StatefulSet (in the operator namespace); undefined if absent. */
  statefulSetState(namespace: string, name: string): string | undefined;
  /** What a TailscaleServices' serve config is built from (cluster IP, ports) of a Service; undefined if absent. */
  backendServiceState(namespace: string, name: string): string | undefined;
}

/**
 * What the workflows read of an object (docs/architecture.md §1: a signal carries what the workflow acts on), so a
 * signal's size is bounded by the spec's schema: no labels or annotations (an annotation can be 256 kB,
 * and each signal is kept in history), and of the finalizers only whether ours is there.
 */
export function snapshotOf<Spec>(obj: KubeObject<Spec, unknown>): ObjectSnapshot<Spec> {
  const {
    name,
    namespace,
    uid,
    generation,
    resourceVersion,
    finalizers,
    deletionTimestamp,
    creationTimestamp,
  } = obj.metadata;
  return {
    metadata: {
      name,
      namespace,
      uid,
      // Orders claims on a shared VIP service (workflows/vip-claims.ts); immutable, so never a new signal.
      // Kept ahead of `finalizers`: the finalizer-echo check (workflows/resource-loop.ts) compares the
      // JSON of two snapshots with `finalizers` moved to the end, so no set key may follow it.
      creationTimestamp,
      generation,
      resourceVersion,
      ...(finalizers?.includes(finalizerName) ? { finalizers: [finalizerName] } : {}),
      deletionTimestamp,
    },
    spec: obj.spec,
  };
}

export function changedDelivery<T extends KubeObject<unknown, unknown>>(
  kind: WatchedKind<T>,
  obj: T,
  lookups?: RelatedLookups,
): WorkflowDelivery {
  const snapshot = snapshotOf(obj);
  if (kind.related && lookups) snapshot.relatedVersions = kind.related(obj, lookups);
  const input: ResourceWorkflowInput<unknown> = {
    kind: kind.resource.kind,
    namespace: obj.metadata.namespace,
    name: obj.metadata.name,
  };
  return {
    kind: 'changed',
    workflowId: kind.workflowId(obj),
    workflowType: kind.workflowType,
    startArgs: [input],
    snapshot,
    fingerprint: fingerprintOf(snapshot),
    beforeOurFinalizer: fingerprintBeforeOurFinalizer(snapshot),
    searchAttributes: [
      { key: resourceKindKey, value: kind.resource.kind },
      ...(obj.metadata.namespace ? [{ key: k8sNamespaceKey, value: obj.metadata.namespace }] : []),
      ...(kind.extraSearchAttributes?.(obj) ?? []),
    ] as SearchAttributePair[],
    memo: {
      object: obj.metadata.namespace ? `${obj.metadata.namespace}/${obj.metadata.name}` : obj.metadata.name,
    },
  };
}

export function deletedDelivery<T extends KubeObject<unknown, unknown>>(
  kind: WatchedKind<T>,
  obj: T,
): WorkflowDelivery {
  return { kind: 'deleted', workflowId: kind.workflowId(obj), uid: obj.metadata.uid };
}
