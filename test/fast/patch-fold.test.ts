import type { WorkflowHandle } from '@temporalio/client';
import type { Activities } from '../../activities';
import { vipHostsChangedSignal } from '../../workflows/messages';
import { historyEvents, nthCall, useWorkflowTier } from '../support/workflow-env';
import {
  answeringVipWorkflow,
  readinessRecorder,
  startWebServices,
  webPassActivities,
} from './services-fixtures';
import { consumer, startVipService, upToDate } from './vip-fixtures';

const tier = useWorkflowTier();

/** The patch markers of a history and its TemporalChangeVersion upserts (one per new marker). */
async function patchCosts(handle: WorkflowHandle) {
  const events = await historyEvents(handle);
  const markers = events.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch');
  const upserts = events.filter((e) =>
    Object.keys(
      e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields ?? {},
    ).includes('TemporalChangeVersion'),
  );
  return { markers: markers.length, upserts: upserts.length };
}

// Core records a marker and upserts TemporalChangeVersion (a billed action) for each patch a run meets:
// the patches shipped so far cost a new run one of each, not one per patch (workflows/patches.ts).
describe('patches shipped so far: one marker for the whole run', () => {
  test('a TailscaleServices workflow through its pass to Ready', async () => {
    const status = readinessRecorder();
    const vip = answeringVipWorkflow(tier.env.client, true);
    const activities = {
      ...webPassActivities,
      signalVipService: vip.signalVipService,
      patchStatus: status.patchStatus,
      ensureFinalizer: () => Promise.resolve({ skipped: false }),
    };
    const costs = await tier.run(activities, async (taskQueue) => {
      const handle = await startWebServices(tier.env.client, taskQueue);
      await status.ready;
      await handle.terminate('test done');
      return patchCosts(handle);
    });
    expect(costs).toEqual({ markers: 1, upserts: 1 });
  });

  test('a VIP workflow through its creation and news of its hosts', async () => {
    const second = nthCall(2);
    const activities = {
      attachVipService() {
        const call = second.count();
        return Promise.resolve<Awaited<ReturnType<Activities['attachVipService']>>>({
          ...upToDate,
          ...(call === 1 ? { outcome: 'Created' } : {}),
          hosts: [],
        });
      },
    };
    const costs = await tier.run(activities, async (taskQueue) => {
      const handle = await startVipService(
        tier.env.client,
        taskQueue,
        { tailnet: 'corp', serviceName: 'svc:fold' },
        consumer('web'),
      );
      await handle.signal(vipHostsChangedSignal);
      await second.reached;
      await handle.terminate('test done');
      return patchCosts(handle);
    });
    expect(costs).toEqual({ markers: 1, upserts: 1 });
  });
});
