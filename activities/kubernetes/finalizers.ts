import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import type { KubeObject } from '../../api/common';
import type { ResourceRef } from '../../api/crd';
import { isConflict, isNotFound, toKubeActivityFailure } from './errors';

export interface FinalizerTarget {
  resource: ResourceRef;
  namespace?: string;
  name: string;
  /** Leave a recreated object (another uid) alone. */
  uid?: string;
}

export type FinalizerResult = { changed: boolean; skipped?: 'NotFound' | 'Recreated' };

const maxConflictRetries = 5;

/**
 * Adds or removes one finalizer with a JSON patch conditional on the resourceVersion read, so a
 * concurrent change to the list (another controller's finalizer) is never lost: a 409 re-reads.
 */
export async function setFinalizer(
  kc: KubeConfig,
  target: FinalizerTarget,
  finalizer: string,
  present: boolean,
): Promise<FinalizerResult> {
  const api = kc.makeApiClient(CustomObjectsApi);
  const { group, version, plural } = target.resource;
  const key = { group, version, plural, name: target.name };
  for (let attempt = 0; ; attempt++) {
    let current: KubeObject<unknown, unknown>;
    try {
      current = (await (target.namespace
        ? api.getNamespacedCustomObject({ ...key, namespace: target.namespace })
        : api.getClusterCustomObject(key))) as KubeObject<unknown, unknown>;
    } catch (err) {
      if (isNotFound(err)) return { changed: false, skipped: 'NotFound' };
      throw toKubeActivityFailure(err, `reading ${target.resource.kind} ${target.name}`);
    }
    if (target.uid && current.metadata.uid !== target.uid) return { changed: false, skipped: 'Recreated' };
    const finalizers = current.metadata.finalizers ?? [];
    if (finalizers.includes(finalizer) === present) return { changed: false };
    const next = present ? [...finalizers, finalizer] : finalizers.filter((f) => f !== finalizer);
    const body = [
      { op: 'replace', path: '/metadata/resourceVersion', value: current.metadata.resourceVersion },
      { op: finalizers.length ? 'replace' : 'add', path: '/metadata/finalizers', value: next },
    ];
    try {
      await (target.namespace
        ? api.patchNamespacedCustomObject({ ...key, namespace: target.namespace, body })
        : api.patchClusterCustomObject({ ...key, body }));
      return { changed: true };
    } catch (err) {
      if (isConflict(err) && attempt < maxConflictRetries) continue;
      if (isNotFound(err)) return { changed: false, skipped: 'NotFound' };
      throw toKubeActivityFailure(err, `updating finalizers of ${target.resource.kind} ${target.name}`);
    }
  }
}
