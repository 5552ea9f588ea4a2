import { ApplicationFailure } from '@temporalio/common';
import type { ProxyDeployment } from '../../api/v1alpha1/proxy';
import type { WireObject } from '../kubernetes/apply';

/**
 * An object with our name that another parent controls is not ours to overwrite. One left behind by a
 * previous incarnation of the same parent (same kind and name, old uid) is adopted.
 */
export function assertOwnable(live: WireObject | undefined, d: ProxyDeployment): void {
  const controller = live?.metadata.ownerReferences?.find((ref) => ref.controller);
  if (!live || !controller) return;
  if (controller.uid === d.uid || (controller.kind === d.kind && controller.name === d.name)) return;
  throw ApplicationFailure.create({
    type: 'NameConflict',
    nonRetryable: true,
    message: `${live.kind} ${d.namespace}/${live.metadata.name} already exists and belongs to ${controller.kind} ${controller.name}: rename this ${d.kind} (metadata.name) or remove the other object`,
  });
}

export function isOwnedBy(live: WireObject, d: ProxyDeployment): boolean {
  return Boolean(live.metadata.ownerReferences?.some((ref) => ref.controller && ref.uid === d.uid));
}
