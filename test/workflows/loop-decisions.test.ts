import { finalizerName } from '../../api/common';
import {
  failureBackoffMs,
  nextWaitMs,
  onlyAddsOurFinalizer,
  snapshotAfterFailure,
  withOurFinalizer,
} from '../../workflows/loop-decisions';
import { fingerprintBeforeOurFinalizer, fingerprintOf } from '../../workflows/fingerprint';
import type { ObjectSnapshot } from '../../workflows/types';

const snapshot = (over: Partial<ObjectSnapshot<unknown>['metadata']> = {}, spec: unknown = { a: 1 }) =>
  ({
    metadata: { name: 'x', namespace: 'ns', uid: 'u1', generation: 1, resourceVersion: '1', ...over },
    spec,
  }) as ObjectSnapshot<unknown>;

describe('resource loop: the next unprompted pass', () => {
  it.each([
    [1, 2_000],
    [2, 4_000],
    [9, 512_000],
    [10, 600_000], // capped at ten minutes
    [30, 600_000],
  ])('after %i failures in a row backs off %i ms', (failures, ms) => {
    expect(failureBackoffMs(failures)).toBe(ms);
  });

  it('waits what the pass asked for while passes succeed, the backoff after a failure', () => {
    expect(nextWaitMs(0, '6h')).toBe(6 * 3_600_000);
    expect(nextWaitMs(0, 5_000)).toBe(5_000);
    expect(nextWaitMs(3, '6h')).toBe(8_000);
  });
});

describe('resource loop: the echo of our own finalizer write', () => {
  const before = snapshot({ finalizers: ['other'] });
  it('is skipped when it only adds our finalizer and a resourceVersion', () => {
    const echo = snapshot({ finalizers: ['other', finalizerName], resourceVersion: '2' });
    expect(onlyAddsOurFinalizer(before, echo)).toBe(true);
  });
  it('is a real change when anything else moved with it', () => {
    const withSpec = snapshot({ finalizers: [finalizerName], resourceVersion: '2', generation: 2 }, { a: 2 });
    expect(onlyAddsOurFinalizer(snapshot(), withSpec)).toBe(false);
  });
  it('is a real change when our finalizer was already there, or is not added', () => {
    const held = snapshot({ finalizers: [finalizerName] });
    expect(onlyAddsOurFinalizer(held, snapshot({ finalizers: [finalizerName], resourceVersion: '2' }))).toBe(
      false,
    );
    expect(onlyAddsOurFinalizer(before, snapshot({ finalizers: ['other'], resourceVersion: '2' }))).toBe(
      false,
    );
  });
});

describe('the finalizer a pass added, held by the workflow and skipped by the watchers', () => {
  const created = snapshot();
  const echo = snapshot({ finalizers: [finalizerName], resourceVersion: '2' });
  it('is held as the watch reports it: the fingerprints agree', () => {
    expect(withOurFinalizer(created).metadata.finalizers).toEqual([finalizerName]);
    expect(fingerprintOf(withOurFinalizer(created))).toBe(fingerprintOf(echo));
    expect(withOurFinalizer(echo)).toBe(echo);
  });
  it('lets a watcher tell the echo from the snapshot it last sent', () => {
    expect(fingerprintBeforeOurFinalizer(echo)).toBe(fingerprintOf(created));
    expect(fingerprintBeforeOurFinalizer(created)).toBeUndefined();
    const another = snapshot({ finalizers: ['other', finalizerName], resourceVersion: '2' });
    expect(fingerprintBeforeOurFinalizer(another)).toBe(fingerprintOf(snapshot({ finalizers: ['other'] })));
    const edited = snapshot({ finalizers: [finalizerName], resourceVersion: '3', generation: 2 });
    expect(fingerprintBeforeOurFinalizer(edited)).not.toBe(fingerprintOf(created));
  });
});

describe('resource loop: the snapshot a retry works from after a failed pass', () => {
  const reconciled = snapshot();
  const failed = snapshot({ generation: 2, deletionTimestamp: '2026-01-01T00:00:00Z' });
  it('is the newest one, so a failed cleanup is retried as a cleanup', () => {
    expect(snapshotAfterFailure(reconciled, failed, false)).toBe(failed);
  });
  it('is the older one only for histories recorded before the patch', () => {
    expect(snapshotAfterFailure(reconciled, failed, true)).toBe(reconciled);
    expect(snapshotAfterFailure(undefined, failed, true)).toBe(failed);
  });
});
