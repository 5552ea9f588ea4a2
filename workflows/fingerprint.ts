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
