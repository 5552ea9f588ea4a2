import { ApplicationFailure } from '@temporalio/common';
import { stopSweeperSignal } from '../../workflows/messages';
import { nthCall, scaledMs, timerDurations, useWorkflowTier } from '../support/workflow-env';

const tier = useWorkflowTier();

describe('sweeper workflow', () => {
  test('passes every 10 simulated minutes with a 30 min stale age, and a failed pass does not stop it', async () => {
    const third = nthCall(3);
    const staleAges: number[] = [];
    const activities = {
      sweepVipServices(input: { staleAfterMs: number }) {
        staleAges.push(input.staleAfterMs);
        if (third.count() === 1) throw ApplicationFailure.nonRetryable('registry unreachable', 'Boom');
        return Promise.resolve({ writes: 0, removed: 0, deleted: 0, refreshed: 0 });
      },
    };
    const timers = await tier.run(activities, async (taskQueue) => {
      const handle = await tier.env.client.workflow.start('sweeperWorkflow', {
        workflowId: 'sweeper/tailnet-a',
        taskQueue,
        args: [{ tailnet: 'tailnet-a' }],
      });
      await third.reached;
      await handle.signal(stopSweeperSignal);
      await handle.result();
      return timerDurations(handle);
    });
    expect(staleAges.slice(0, 3)).toEqual([30 * 60_000, 30 * 60_000, 30 * 60_000]);
    expect(timers.slice(0, 3)).toEqual([scaledMs(10 * 60_000), scaledMs(10 * 60_000), scaledMs(10 * 60_000)]);
  });
});
