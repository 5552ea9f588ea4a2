import type { ConditionUpdate } from '../api/conditions';
import type { ResourceRef } from '../api/crd';
import type { Activities } from '../activities';
import type { ObjectSnapshot } from './types';

/**
 * Publishes the conditions (and status fields) of the object `snapshot` shows, through the workflow's
 * own patchStatus proxy (each workflow keeps its activity options: local or not, its timeout).
 */
export function statusPublisher(
  patchStatus: Activities['patchStatus'],
  resource: ResourceRef,
  { metadata }: ObjectSnapshot<unknown>,
) {
  return (conditions: ConditionUpdate[], fields: Record<string, unknown> = {}) =>
    patchStatus({
      resource,
      namespace: metadata.namespace ?? '',
      name: metadata.name,
      uid: metadata.uid,
      observedGeneration: metadata.generation,
      conditions,
      fields,
    });
}
