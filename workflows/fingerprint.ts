import { finalizerName } from '../api/common';
import type { ObjectSnapshot } from './types';

/** Memo key holding the fingerprint of the newest snapshot a resource workflow has acted on. */
export const seenFingerprintMemoKey = 'seen';

/**
 * Only what a workflow acts on: a status write or a resync relist changes none of it. Pure, shared by
 * the watchers (what they would signal) and the workflows (what they have acted on).
 */
export function fingerprintOf(snapshot: ObjectSnapshot<unknown>): string {
  const { uid, generation, finalizers, deletionTimestamp } = snapshot.metadata;
  return JSON.stringify([
    uid,
    generation,
    finalizers ?? [],
    deletionTimestamp ?? null,
    snapshot.relatedVersions ?? {},
  ]);
}

/**
 * The fingerprint `snapshot` had before our finalizer was added, or undefined if it carries none of
 * ours. When a workflow last acted on exactly that, `snapshot` is the echo of its own finalizer write.
 */
export function fingerprintBeforeOurFinalizer(snapshot: ObjectSnapshot<unknown>): string | undefined {
  const finalizers = snapshot.metadata.finalizers;
  if (!finalizers?.includes(finalizerName)) return undefined;
  const others = finalizers.filter((f) => f !== finalizerName);
  return fingerprintOf({ ...snapshot, metadata: { ...snapshot.metadata, finalizers: others } });
}
