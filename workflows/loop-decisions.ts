import type { Duration } from '@temporalio/common';
import { msToNumber } from '@temporalio/common/lib/time';
import { finalizerName } from '../api/common';
import { backoffMs } from './backoff';
import type { ObjectSnapshot } from './types';

const maxFailureBackoffMs = 10 * 60_000;

/** Wait after the `failures`-th failed pass in a row: 2 s, 4 s, ... capped at 10 min. */
export function failureBackoffMs(failures: number): number {
  return backoffMs(failures, 1000, maxFailureBackoffMs);
}

/** The timer before the next unprompted pass: the backoff after a failure, else what the last pass asked for. */
export function nextWaitMs(failures: number, passWait: Duration): number {
  return failures > 0 ? failureBackoffMs(failures) : msToNumber(passWait);
}

/**
 * `prev` and `next` agree once `blank` has masked, in each, what the caller allows to differ. The
 * resourceVersion is always masked: every change moves it.
 */
export function sameSnapshotsApartFrom(
  prev: ObjectSnapshot<unknown>,
  next: ObjectSnapshot<unknown>,
  blank: (s: ObjectSnapshot<unknown>) => ObjectSnapshot<unknown>,
): boolean {
  const rest = (s: ObjectSnapshot<unknown>) => {
    const masked = blank(s);
    return JSON.stringify({ ...masked, metadata: { ...masked.metadata, resourceVersion: undefined } });
  };
  return rest(prev) === rest(next);
}

/** `next` is `prev` plus our finalizer (and a new resourceVersion): the pass that added it saw the rest. */
export function onlyAddsOurFinalizer(prev: ObjectSnapshot<unknown>, next: ObjectSnapshot<unknown>): boolean {
  if (prev.metadata.finalizers?.includes(finalizerName) || !next.metadata.finalizers?.includes(finalizerName))
    return false;
  return sameSnapshotsApartFrom(prev, next, (s) => ({
    ...s,
    metadata: { ...s.metadata, finalizers: (s.metadata.finalizers ?? []).filter((f) => f !== finalizerName) },
  }));
}

/** `snapshot` as the watch reports it once our finalizer is on the object. */
export function withOurFinalizer<S extends ObjectSnapshot<unknown>>(snapshot: S): S {
  const finalizers = snapshot.metadata.finalizers ?? [];
  if (finalizers.includes(finalizerName)) return snapshot;
  return { ...snapshot, metadata: { ...snapshot.metadata, finalizers: [...finalizers, finalizerName] } };
}

/**
 * The snapshot the retry after a failed pass works from. The newest one (the one that failed): it is
 * what the object says now, so the retry converges on it, and a failed cleanup is retried as a cleanup.
 * Keeping the older snapshot (`legacy`, what the generic loop once did) retried an outdated spec and,
 * after a failed cleanup, reconciled the undeleted object until some other change arrived.
 */
export function snapshotAfterFailure<S>(previous: S | undefined, failed: S, legacy: boolean): S {
  return legacy ? (previous ?? failed) : failed;
}
