import type { TailscaleGatewaySpec } from '../../api/v1alpha1/tailscale-gateway';
import type { GatewayResolution } from '../../activities/gateway';
import { gatewayWorkflowId } from '../../workflows/ids';
import { vipStatusSignal } from '../../workflows/messages';
import { heldSnapshot, signalSnapshot } from './snapshots';
import { recordHistory } from '../support/record-history';
import { useWorkflowTier } from '../support/workflow-env';
import { readinessRecorder, timersFired, webPassActivities, webReport } from './services-fixtures';

const tier = useWorkflowTier();

/** TailscaleGateway default/edge publishing HTTPRoute default/web as svc:web on tailnet corp. */
const edge = heldSnapshot<TailscaleGatewaySpec>('edge', {
  gatewayRef: { name: 'eg' },
  publish: [
    {
      tailnet: 'corp',
      route: { kind: 'HTTPRoute', name: 'web' },
      vipService: { name: 'svc:web', tags: ['tag:web'] },
    },
  ],
});

const route = 'HTTPRoute/default/web';
const resolution: GatewayResolution = {
  gateway: { namespace: 'default', name: 'eg', found: true },
  routes: [{ kind: 'HTTPRoute', namespace: 'default', name: 'web', listenerPorts: [80], backends: [] }],
  plan: {
    publications: [
      {
        tailnet: 'corp',
        serviceName: 'svc:web',
        spec: { ports: ['tcp:80'], tags: ['tag:web'] },
        routes: [route],
        consumerRoute: `gateway/default/edge/${route}`,
      },
    ],
    problems: [],
    byRoute: { [route]: { tailnet: 'corp', serviceName: 'svc:web' } },
  },
};

describe('TailscaleGateway workflow, VIP workflow slower than the reply wait', () => {
  test('a reply that comes after the pass stopped waiting gets a pass at once, not at the 6 h recheck', async () => {
    const status = readinessRecorder();
    let firstPublication!: () => void;
    const published = new Promise<void>((resolve) => (firstPublication = resolve));
    const joins: number[] = [];
    const activities = {
      getTailnetStatus: webPassActivities.getTailnetStatus,
      resolveGatewayRoutes: () => Promise.resolve(resolution),
      // The VIP workflow's first task waits in a long queue: its reply comes after the pass published.
      signalVipService(input: { requestId: number }) {
        joins.push(input.requestId);
        return Promise.resolve({ signalled: true });
      },
      patchStatus: (input: Parameters<typeof status.patchStatus>[0]) => {
        firstPublication();
        return status.patchStatus(input);
      },
    };
    const fired = await tier.run(activities, async (taskQueue) => {
      const handle = await signalSnapshot(
        tier.env.client,
        {
          taskQueue,
          workflowType: 'tailscaleGatewayWorkflow',
          workflowId: gatewayWorkflowId('default', 'edge'),
          kind: 'TailscaleGateway',
        },
        edge,
      );
      await published;
      await handle.signal(vipStatusSignal, webReport(joins[0]!, true));
      await status.ready;
      const timers = await timersFired(handle);
      await handle.terminate('test done');
      await recordHistory('tailscale-gateway', 'late-reply', handle);
      return timers;
    });
    expect(status.reasons[0]).not.toBe('Ready');
    expect(status.reasons.at(-1)).toBe('Ready');
    // Only the first pass's reply wait fired: the second pass came from the late reply, not the recheck.
    expect(fired).toBe(1);
  });
});
