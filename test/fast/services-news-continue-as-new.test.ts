import { servicesWorkflowId } from '../../workflows/ids';
import { objectChangedSignal, vipStatusSignal } from '../../workflows/messages';
import {
  readinessRecorder,
  replyLater,
  timersFired,
  webPassActivities,
  webReport,
  webServices,
} from './services-fixtures';
import { useWorkflowTier } from '../support/workflow-env';

// Every pass is longer than this: the run continues as new after each one.
const tier = useWorkflowTier({
  extraArgs: ['--dynamic-config-value', 'limit.historyCount.suggestContinueAsNew=10'],
});

const snapshot = webServices;

describe('TailscaleServices workflow after continue-as-new', () => {
  test('a VIP report arriving before the new run’s first pass is news: it gets a pass at once', async () => {
    const workflowId = servicesWorkflowId('default', 'web');
    const status = readinessRecorder();
    let lastRequestId = 0;
    const activities = {
      ...webPassActivities,
      // The VIP workflow, running all along: it answers the first join (attached, its one host
      // advertising and not approved yet); an unchanged join is not sent to a running workflow.
      signalVipService(input: { requestId: number; unlessRunning?: boolean }) {
        if (input.unlessRunning) return Promise.resolve({ signalled: false });
        lastRequestId = input.requestId;
        replyLater(tier.env.client, workflowId, webReport(input.requestId, false));
        return Promise.resolve({ signalled: true });
      },
      patchStatus: status.patchStatus,
    };
    const fired = await tier.run(activities, async (taskQueue) => {
      const first = await tier.env.client.workflow.signalWithStart('tailscaleServicesWorkflow', {
        workflowId,
        taskQueue,
        args: [{ kind: 'TailscaleServices', namespace: 'default', name: 'web' }],
        signal: objectChangedSignal,
        signalArgs: [snapshot],
      });
      const firstRun = tier.env.client.workflow.getHandle(workflowId, first.signaledRunId, {
        followRuns: false,
      });
      await expect(firstRun.result()).rejects.toThrow(/continued as new/i);
      const { runId } = await tier.env.client.workflow.getHandle(workflowId).describe();
      const secondRun = tier.env.client.workflow.getHandle(workflowId, runId, { followRuns: false });
      // The VIP workflow's host look finds the host approved: the report is all that says so.
      await secondRun.signal(vipStatusSignal, webReport(lastRequestId, true));
      await status.ready;
      const timers = await timersFired(secondRun);
      await tier.env.client.workflow.getHandle(workflowId).terminate('test done');
      return timers;
    });
    expect(status.reasons[0]).toBe('HostNotApproved');
    expect(status.reasons.at(-1)).toBe('Ready');
    // The pass came from the report, not from the 6 h recheck timer.
    expect(fired).toBe(0);
  });
});
