import { ApplicationFailure } from '@temporalio/common';
import type { TailscaleServicesSpec } from '../../api/v1alpha1/tailscale-services';
import { fingerprintOf, seenFingerprintMemoKey } from '../../workflows/fingerprint';
import { objectDeletedSignal } from '../../workflows/messages';
import type { ObjectSnapshot } from '../../workflows/types';
import { recordHistory } from '../support/record-history';
import { nthCall, useWorkflowTier } from '../support/workflow-env';
import { startWebServices, webPassActivities, webServices } from './services-fixtures';

const tier = useWorkflowTier();

/** default/web as first created: our finalizer not on it yet. */
const created: ObjectSnapshot<TailscaleServicesSpec> = {
  ...webServices,
  metadata: { ...webServices.metadata, finalizers: undefined },
};

/**
 * A pass over `created` that adds our finalizer (counted) and stops at a tailnet not Ready yet;
 * `beforeTailnet` runs first in each getTailnetStatus (count the passes, or fail one).
 */
function stoppingAtTailnet(beforeTailnet: () => void) {
  let finalizerWrites = 0;
  return {
    finalizerWrites: () => finalizerWrites,
    activities: {
      ensureFinalizer() {
        finalizerWrites++;
        return Promise.resolve({ skipped: false });
      },
      getTailnetStatus() {
        beforeTailnet();
        return Promise.resolve({ exists: true, ready: false, reason: 'Pending', message: 'not yet' });
      },
      patchStatus: () => Promise.resolve({}),
    },
  };
}

// The watchers send no signal for the echo of the finalizer a pass added (watchers/signaler.ts), so the
// workflow must hold it itself: its later passes see it, and the memo says it was acted on.
describe('TailscaleServices workflow: the finalizer its first pass added', () => {
  test('is held by the workflow: the 6 h rechecks add it no more, and the memo fingerprint carries it', async () => {
    const third = nthCall(3);
    const pass = stoppingAtTailnet(() => {
      third.count();
    });
    const seen = await tier.run(pass.activities, async (taskQueue) => {
      const handle = await startWebServices(tier.env.client, taskQueue, created);
      // The first pass, then two from the recheck timer.
      await third.reached;
      const { memo } = await handle.describe();
      await handle.signal(objectDeletedSignal, { uid: created.metadata.uid });
      await handle.result();
      await recordHistory('tailscale-services', 'holds-added-finalizer', handle);
      return memo?.[seenFingerprintMemoKey];
    });
    expect(pass.finalizerWrites()).toBe(1);
    // What the watch reports once the finalizer is on, so a restarted watcher signals nothing.
    expect(seen).toBe(fingerprintOf(webServices));
  });

  test('is held even when the pass that added it fails later: the retry adds it no more', async () => {
    const second = nthCall(2);
    const pass = stoppingAtTailnet(() => {
      if (second.count() === 1) throw ApplicationFailure.nonRetryable('the API server went away');
    });
    await tier.run(pass.activities, async (taskQueue) => {
      const handle = await startWebServices(tier.env.client, taskQueue, created);
      // The failed pass, then its retry after the backoff.
      await second.reached;
      await handle.signal(objectDeletedSignal, { uid: created.metadata.uid });
      await handle.result();
    });
    expect(pass.finalizerWrites()).toBe(1);
  });
});

describe('TailscaleServices workflow: the pass of a creation', () => {
  test('reads the tailnet and the endpoints while its finalizer write is in flight', async () => {
    const reads: string[] = [];
    let readsDuringWrite: string[] = [];
    const published = nthCall(1);
    const activities = {
      async ensureFinalizer() {
        // Up to 2 s for both reads to start: a pass that waits for this write first starts neither.
        for (let i = 0; i < 40 && reads.length < 2; i++) await new Promise((r) => setTimeout(r, 50));
        readsDuringWrite = [...reads].sort();
        return { skipped: false };
      },
      getTailnetStatus() {
        reads.push('getTailnetStatus');
        return Promise.resolve({ exists: true, ready: false, reason: 'Pending', message: 'not yet' });
      },
      selectEndpoints() {
        reads.push('selectEndpoints');
        return webPassActivities.selectEndpoints();
      },
      patchStatus() {
        published.count();
        return Promise.resolve({});
      },
    };
    await tier.run(activities, async (taskQueue) => {
      const handle = await startWebServices(tier.env.client, taskQueue, created);
      await published.reached;
      await handle.signal(objectDeletedSignal, { uid: created.metadata.uid });
      await handle.result();
      await recordHistory('tailscale-services', 'reads-alongside-finalizer', handle);
    });
    expect(readsDuringWrite).toEqual(['getTailnetStatus', 'selectEndpoints']);
  });
});
