import { endpointsWorkflowId } from '../../workflows/ids';
import { configsWith, edge, observationOf, poolPassActivities } from './endpoints-fixtures';
import { signalSnapshot } from './snapshots';
import { recordHistory } from '../support/record-history';
import { nthCall, useWorkflowTier } from '../support/workflow-env';

const tier = useWorkflowTier();

describe('TailscaleEndpoints workflow, a replica that loses its state during a pass', () => {
  test('the device ensureProxyConfigs saw is deleted once the replica registers anew', async () => {
    const third = nthCall(3);
    let pass = 0;
    const deleted: string[][] = [];
    // Pass 1: ensureProxyConfigs reads replica 1's device old-1; its state is wiped before the
    // observation, which sees no device for it. Later passes: replica 1 logged in again as new-1.
    const activities = poolPassActivities({
      configs: () => {
        pass = third.count();
        return configsWith(pass === 1 ? ['dev-0', 'old-1'] : ['dev-0', 'new-1']);
      },
      observe: () => observationOf(pass === 1 ? ['dev-0'] : ['dev-0', 'new-1']),
      deleted,
    });
    await tier.run(activities, async (taskQueue) => {
      const handle = await signalSnapshot(
        tier.env.client,
        {
          taskQueue,
          workflowType: 'tailscaleEndpointsWorkflow',
          workflowId: endpointsWorkflowId('default', 'edge'),
          kind: 'TailscaleEndpoints',
        },
        edge(),
      );
      await third.reached;
      await handle.terminate('test done');
      await recordHistory('tailscale-endpoints', 'replaced-device-seen-by-configs', handle);
    });
    expect(deleted).toEqual([['old-1']]);
  });
});
