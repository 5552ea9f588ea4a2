import { upsertMemo } from '@temporalio/workflow';
import { hasShippedPatch } from './patches';
import { fingerprintOf, seenFingerprintMemoKey } from './fingerprint';
import type { ObjectSnapshot } from './types';

/** Versions recording what they have seen, so restarted watchers send nothing already acted on. */
const seenMemoPatch = 'resource-memo-seen-fingerprint';

/**
 * Puts the snapshot's fingerprint in the memo (memo updates are not billed actions, and visibility
 * lists return them): watchers starting up read it instead of signalling every object again.
 */
export function recordSeen(snapshot: ObjectSnapshot<unknown>): void {
  if (hasShippedPatch(seenMemoPatch)) upsertMemo({ [seenFingerprintMemoKey]: fingerprintOf(snapshot) });
}
