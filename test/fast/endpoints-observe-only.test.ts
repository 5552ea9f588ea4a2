import type { TailscaleEndpointsSpec } from '../../api/v1alpha1/tailscale-endpoints';
import { endpointsWorkflowId } from '../../workflows/ids';
import type { ObjectSnapshot } from '../../workflows/types';
import { configsWith, edge, observationOf, poolPassActivities } from './endpoints-fixtures';
import { signalSnapshot } from './snapshots';
import { recordHistory } from '../support/record-history';
import { timerDurations, timersStarted, useWorkflowTier } from '../support/workflow-env';

// Timers a minute per second: the pool's 5 s refresh cannot fire a whole pass among the counted ones.
const tier = useWorkflowTier({ timerScale: 60 });

/** The pool as the watchers send it, with the versions of its related objects. */
const pool = (related: {
  stateSecrets: string;
  configSecrets?: string;
}): ObjectSnapshot<TailscaleEndpointsSpec> => ({
  ...edge(),
  relatedVersions: { tailnet: 'Ready', configSecrets: 'c1', statefulSet: '2/2', ...related },
});

/**
 * What the state Secrets say: the device of each replica, whether one asks for a fresh key, and the
 * VIP services the replicas' tailscaled advertise.
 */
interface ProxiesState {
  devices: string[];
  reissueRequested?: number[];
  advertising?: string[];
}

/**
 * Runs the pool workflow on a first snapshot (a whole pass), then on `next` once the proxies' state is
 * `after`: returns how many ensureProxyConfigs calls and device deletions the passes made, and which
 * VIP workflows they told of new hosts.
 */
async function secondPass(
  next: ObjectSnapshot<TailscaleEndpointsSpec>,
  after: ProxiesState,
  options: { before?: ProxiesState; record?: string } = {},
): Promise<{ configs: number; deleted: string[][]; told: string[][]; timers: number[] }> {
  let proxies: ProxiesState = options.before ?? { devices: ['dev-0', 'dev-1'] };
  let configs = 0;
  const deleted: string[][] = [];
  const told: string[][] = [];
  let timers: number[] = [];
  const activities = poolPassActivities({
    configs: () => {
      configs++;
      return configsWith(proxies.devices);
    },
    observe: () => observationOf(proxies.devices, proxies.reissueRequested, proxies.advertising),
    deleted,
    told,
  });
  await tier.run(activities, async (taskQueue) => {
    const to = {
      taskQueue,
      workflowType: 'tailscaleEndpointsWorkflow',
      workflowId: endpointsWorkflowId('default', 'edge'),
      kind: 'TailscaleEndpoints',
    };
    // Each pass ends by starting the timer of the next refresh.
    const passesDone = (n: number) => timersStarted(handle, n, `${n} passes`);
    const handle = await signalSnapshot(tier.env.client, to, pool({ stateSecrets: 'v1' }));
    await passesDone(1);
    proxies = after;
    await signalSnapshot(tier.env.client, to, next);
    await passesDone(2);
    timers = await timerDurations(handle);
    await handle.terminate('test done');
    if (options.record) await recordHistory('tailscale-endpoints', options.record, handle);
  });
  return { configs, deleted, told, timers };
}

describe('TailscaleEndpoints workflow, a pass for moved state Secrets', () => {
  test('only observes and publishes when the proxies still run the devices the last pass knew', async () => {
    // tailscaled rewrote its profile (the services it advertises changed): no key, no config to write.
    const pass = await secondPass(
      pool({ stateSecrets: 'v2' }),
      { devices: ['dev-0', 'dev-1'] },
      { record: 'observe-only-on-state-secrets' },
    );
    expect(pass).toMatchObject({ configs: 1, deleted: [] });
    // It keeps to the whole pass's refresh (5 s after it) instead of putting it off by its own 10 s.
    const [whole, observing] = pass.timers;
    expect(observing).toBeLessThanOrEqual(whole!);
  });

  test('takes the whole pass when a replica registered a new device', async () => {
    const pass = await secondPass(pool({ stateSecrets: 'v2' }), { devices: ['dev-0', 'new-1'] });
    expect(pass).toMatchObject({ configs: 2, deleted: [['dev-1']] });
  });

  test('takes the whole pass when a proxy asks for a fresh auth key', async () => {
    const pass = await secondPass(pool({ stateSecrets: 'v2' }), {
      devices: ['dev-0', 'dev-1'],
      reissueRequested: [1],
    });
    expect(pass.configs).toBe(2);
  });

  test('takes the whole pass when more than the state Secrets moved', async () => {
    const pass = await secondPass(pool({ stateSecrets: 'v2', configSecrets: 'c2' }), {
      devices: ['dev-0', 'dev-1'],
    });
    expect(pass.configs).toBe(2);
  });

  test('tells the VIP workflows of the services a replica began advertising, once', async () => {
    const pass = await secondPass(
      pool({ stateSecrets: 'v2' }),
      { devices: ['dev-0', 'dev-1'], advertising: ['svc:db', 'svc:web'] },
      { before: { devices: ['dev-0', 'dev-1'], advertising: ['svc:db'] }, record: 'tells-vip-of-new-hosts' },
    );
    // The first pass only records what it found; the second tells the one service that is new.
    expect(pass.told).toEqual([['corp/svc:web']]);
    expect(pass.configs).toBe(1);
  });
});
