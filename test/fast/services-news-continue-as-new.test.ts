import { vipStatusSignal } from '../../workflows/messages';
import {
  answeringVipWorkflow,
  readinessRecorder,
  startWebServices,
  timersFired,
  webPassActivities,
  webReport,
  webWorkflowId,
} from './services-fixtures';
import { useWorkflowTier } from '../support/workflow-env';

// Every pass is longer than this: the run continues as new after each one.
const tier = useWorkflowTier({
  extraArgs: ['--dynamic-config-value', 'limit.historyCount.suggestContinueAsNew=10'],
});

describe('TailscaleServices workflow after continue-as-new', () => {
  test('a VIP report arriving before the new run’s first pass is news: it gets a pass at once', async () => {
    const status = readinessRecorder();
    // The VIP workflow answers the join: attached, its one host advertising and not approved yet.
    const vip = answeringVipWorkflow(tier.env.client, false);
    const activities = {
      ...webPassActivities,
      signalVipService: vip.signalVipService,
      patchStatus: status.patchStatus,
    };
    const fired = await tier.run(activities, async (taskQueue) => {
      const first = await startWebServices(tier.env.client, taskQueue);
      const firstRun = tier.env.client.workflow.getHandle(webWorkflowId, first.signaledRunId, {
        followRuns: false,
      });
      await expect(firstRun.result()).rejects.toThrow(/continued as new/i);
      const { runId } = await tier.env.client.workflow.getHandle(webWorkflowId).describe();
      const secondRun = tier.env.client.workflow.getHandle(webWorkflowId, runId, { followRuns: false });
      // The VIP workflow's host look finds the host approved: the report is all that says so.
      await secondRun.signal(vipStatusSignal, webReport(vip.joins.at(-1)!, true));
      await status.ready;
      const timers = await timersFired(secondRun);
      await tier.env.client.workflow.getHandle(webWorkflowId).terminate('test done');
      return timers;
    });
    expect(status.reasons[0]).toBe('HostNotApproved');
    expect(status.reasons.at(-1)).toBe('Ready');
    // The pass came from the report, not from the 6 h recheck timer.
    expect(fired).toBe(0);
  });
});
