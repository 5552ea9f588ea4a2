import { ApplicationFailure } from '@temporalio/common';
import type { ProxyDeployment } from '../../api/v1alpha1/proxy';
import type { WireObject } from '../kubernetes/apply';
import { parentKindLabel, proxyLabelKeys } from '../specs/proxy-group';

type Parent = Pick<ProxyDeployment, 'kind' | 'namespace' | 'name' | 'uid'>;

/**
 * Proxy objects live in the operator namespace, where an ownerReference to the parent cannot point:
 * their parent is named by labels (proxyOwnerLabels) instead.
 */
function parentLabelsOf(live: WireObject) {
  const labels = live.metadata.labels ?? {};
  const kind = labels[proxyLabelKeys.parentKind];
  const namespace = labels[proxyLabelKeys.parentNamespace];
  const name = labels[proxyLabelKeys.parentName];
  if (kind === undefined || namespace === undefined || name === undefined) return undefined;
  return { kind, namespace, name, uid: labels[proxyLabelKeys.parentUid] };
}

const sameParent = (owner: { kind: string; namespace: string; name: string }, d: Parent) =>
  owner.kind === parentKindLabel(d.kind) && owner.namespace === d.namespace && owner.name === d.name;

/**
 * An object with our name that another parent's labels claim is not ours to overwrite. One left behind
 * by a previous incarnation of the same parent (same kind, namespace and name, old uid) is adopted.
 */
export function assertOwnable(live: WireObject | undefined, d: Parent): void {
  const owner = live && parentLabelsOf(live);
  if (!live || !owner || sameParent(owner, d)) return;
  throw ApplicationFailure.create({
    type: 'NameConflict',
    nonRetryable: true,
    message: `${live.kind} ${live.metadata.namespace ?? ''}/${live.metadata.name} already exists and belongs to ${owner.kind} ${owner.namespace}/${owner.name}: rename this ${d.kind} (metadata.name) or remove the other object`,
  });
}

/** Labelled as this very parent's (this uid): deleting it removes nothing of anyone else. */
export function isOwnedBy(live: WireObject, d: Parent): boolean {
  const owner = parentLabelsOf(live);
  return Boolean(owner && sameParent(owner, d) && owner.uid === d.uid);
}

/** An object of the placement before the operator namespace: in the parent's namespace, owned by reference. */
export function isLegacyOwnedBy(live: WireObject, d: Parent): boolean {
  return Boolean(live.metadata.ownerReferences?.some((ref) => ref.controller && ref.uid === d.uid));
}
