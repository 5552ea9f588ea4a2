import type { TailscaleEndpointsSpec } from '../../api/v1alpha1/tailscale-endpoints';
import type { ProxyConfigsOutcome } from '../../activities/proxies/configs';
import type { ProxyObservation } from '../../activities/proxies/devices';
import { endpointsWorkflowId } from '../../workflows/ids';
import { heldSnapshot, signalSnapshot } from './snapshots';
import { recordHistory } from '../support/record-history';
import { nthCall, useWorkflowTier } from '../support/workflow-env';

const tier = useWorkflowTier();

const edge = heldSnapshot<TailscaleEndpointsSpec>('edge', {
  tailnet: 'corp',
  tags: ['tag:edge'],
  proxy: { replicas: 2 },
});

/** ensureProxyConfigs as it reports each replica's device from its state Secret. */
const configsWith = (devices: (string | undefined)[]): ProxyConfigsOutcome => ({
  replicas: devices.map((deviceId, ordinal) => ({
    ordinal,
    pod: `edge-${ordinal}`,
    ...(deviceId ? { deviceId } : {}),
    reissued: false,
    reissueDeferred: false,
    configWritten: false,
  })),
});

const observationOf = (deviceIds: Record<string, string>): ProxyObservation => ({
  devices: [],
  readyDevices: 0,
  deviceIds,
  missingDevices: [],
});

describe('TailscaleEndpoints workflow, a replica that loses its state during a pass', () => {
  test('the device ensureProxyConfigs saw is deleted once the replica registers anew', async () => {
    const third = nthCall(3);
    let pass = 0;
    const deleted: string[][] = [];
    // Pass 1: ensureProxyConfigs reads replica 1's device old-1; its state is wiped before the
    // observation, which sees no device for it. Later passes: replica 1 logged in again as new-1.
    const activities = {
      checkProxyTailnet: () => Promise.resolve(),
      applyProxyObjects: () => Promise.resolve({ written: [], extraOrdinals: [] }),
      ensureProxyConfigs: () => {
        pass = third.count();
        return Promise.resolve(configsWith(pass === 1 ? ['dev-0', 'old-1'] : ['dev-0', 'new-1']));
      },
      observeProxyDevices: () =>
        Promise.resolve(observationOf(pass === 1 ? { '0': 'dev-0' } : { '0': 'dev-0', '1': 'new-1' })),
      deleteStaleProxyDevices: (input: { nodeIds: string[] }) => {
        deleted.push(input.nodeIds);
        return Promise.resolve(input.nodeIds);
      },
      patchStatus: () => Promise.resolve({ written: true }),
    };
    await tier.run(activities, async (taskQueue) => {
      const handle = await signalSnapshot(
        tier.env.client,
        {
          taskQueue,
          workflowType: 'tailscaleEndpointsWorkflow',
          workflowId: endpointsWorkflowId('default', 'edge'),
          kind: 'TailscaleEndpoints',
        },
        edge,
      );
      await third.reached;
      await handle.terminate('test done');
      await recordHistory('tailscale-endpoints', 'replaced-device-seen-by-configs', handle);
    });
    expect(deleted).toEqual([['old-1']]);
  });
});
