import { objectDeletedSignal } from '../../workflows/messages';
import { startWebServices } from './services-fixtures';
import { nthCall, scaledMs, timerDurations, useWorkflowTier } from '../support/workflow-env';

const tier = useWorkflowTier();

const hour = 3_600_000;

// webServices holds our finalizer already, so a pass is: read the tailnet, publish status (not Ready).
describe('TailscaleServices workflow', () => {
  test('reconciles again every 6 simulated hours with no signal', async () => {
    const third = nthCall(3);
    const published: unknown[] = [];
    const activities = {
      getTailnetStatus() {
        third.count();
        return Promise.resolve({ exists: true, ready: false, reason: 'Pending', message: 'not yet' });
      },
      patchStatus(input: { conditions: unknown[] }) {
        published.push(input.conditions);
        return Promise.resolve({});
      },
    };
    const timers = await tier.run(activities, async (taskQueue) => {
      const handle = await startWebServices(tier.env.client, taskQueue);
      await third.reached;
      await handle.signal(objectDeletedSignal, { uid: 'uid-web' });
      await handle.result();
      return timerDurations(handle);
    });
    // The first pass came with the start; the next two only from the recheck timer.
    expect(published).toHaveLength(3);
    expect(timers.slice(0, 2)).toEqual([scaledMs(6 * hour), scaledMs(6 * hour)]);
  });
});
