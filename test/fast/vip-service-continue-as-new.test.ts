import { vipConsumerSignal } from '../../workflows/messages';
import { consumer, startVipService, upToDate } from './vip-fixtures';
import { useWorkflowTier } from '../support/workflow-env';

// A short history suggests continue-as-new after a few passes, as a long-lived workflow would see.
const tier = useWorkflowTier({
  extraArgs: ['--dynamic-config-value', 'limit.historyCount.suggestContinueAsNew=30'],
});

describe('VIP service workflow', () => {
  test('continues as new when the history grows, carrying its consumers into the next run', async () => {
    const calls: string[][] = [];
    let joined: (() => void) | undefined;
    const both = new Promise<void>((resolve) => (joined = resolve));
    const activities = {
      attachVipService(input: { routes: string[] }) {
        calls.push(input.routes);
        if (input.routes.length === 2) joined?.();
        return Promise.resolve(upToDate);
      },
      detachVipService() {
        throw new Error('not expected');
      },
    };
    const runs = await tier.run(activities, async (taskQueue) => {
      const workflowId = 'vip/tailnet-a/svc:roll';
      const first = await startVipService(
        tier.env.client,
        taskQueue,
        { tailnet: 'tailnet-a', serviceName: 'svc:roll' },
        consumer('one'),
      );
      // Rechecks grow the history until the server suggests continue-as-new.
      const firstRun = tier.env.client.workflow.getHandle(workflowId, first.signaledRunId, {
        followRuns: false,
      });
      await expect(firstRun.result()).rejects.toThrow(/continued as new/i);
      const latest = tier.env.client.workflow.getHandle(workflowId);
      await latest.signal(vipConsumerSignal, consumer('two'));
      await both;
      const described = await latest.describe();
      await latest.terminate('test done');
      return { first: first.signaledRunId, latest: described.runId };
    });
    expect(runs.latest).not.toBe(runs.first);
    // The new run still knew `one` (carried in its input) when `two` joined.
    expect(calls.at(-1)).toEqual(['services/default/one', 'services/default/two']);
  });
});
