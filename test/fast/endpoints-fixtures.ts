import type { TailscaleEndpointsSpec } from '../../api/v1alpha1/tailscale-endpoints';
import type { ProxyConfigsOutcome } from '../../activities/proxies/configs';
import type { ProxyObservation } from '../../activities/proxies/devices';
import type { ObjectSnapshot } from '../../workflows/types';
import { heldSnapshot } from './snapshots';

/** The pool default/edge of 2 proxies, our finalizer held. */
export const edge = (): ObjectSnapshot<TailscaleEndpointsSpec> =>
  heldSnapshot<TailscaleEndpointsSpec>('edge', {
    tailnet: 'corp',
    tags: ['tag:edge'],
    proxy: { replicas: 2 },
  });

/** ensureProxyConfigs as it reports each replica's device (by ordinal) from its state Secret. */
export const configsWith = (devices: (string | undefined)[]): ProxyConfigsOutcome => ({
  replicas: devices.map((deviceId, ordinal) => ({
    ordinal,
    pod: `edge-${ordinal}`,
    ...(deviceId ? { deviceId } : {}),
    reissued: false,
    reissueDeferred: false,
    configWritten: false,
  })),
});

/**
 * The observation of the replicas' devices (by ordinal; undefined: none registered), all connected, and
 * the VIP services they advertise.
 */
export const observationOf = (
  devices: (string | undefined)[],
  reissueRequested?: number[],
  advertising?: string[],
): ProxyObservation => {
  const registered = devices.flatMap((nodeID, ordinal) => (nodeID ? [{ nodeID, ordinal }] : []));
  return {
    devices: registered.map(({ nodeID, ordinal }) => ({
      hostname: `edge-${ordinal}`,
      statefulSetPod: `edge-${ordinal}`,
      nodeID,
      online: true,
      connected: true,
    })),
    readyDevices: registered.length,
    deviceIds: Object.fromEntries(registered.map(({ nodeID, ordinal }) => [String(ordinal), nodeID])),
    missingDevices: [],
    ...(reissueRequested ? { reissueRequested } : {}),
    ...(advertising?.length ? { advertising } : {}),
  };
};

/**
 * A pool pass's activities as plain functions: `configs` and `observe` answer from what the state
 * Secrets hold at each call; the devices a pass deletes are pushed to `deleted`, and the VIP services
 * whose workflows it tells of new hosts to `told`.
 */
export const poolPassActivities = (world: {
  configs: () => ProxyConfigsOutcome;
  observe: () => ProxyObservation;
  deleted: string[][];
  told?: string[][];
}) => ({
  checkProxyTailnet: () => Promise.resolve(),
  applyProxyObjects: () => Promise.resolve({ written: [], extraOrdinals: [] }),
  ensureProxyConfigs: () => Promise.resolve(world.configs()),
  observeProxyDevices: () => Promise.resolve(world.observe()),
  deleteStaleProxyDevices: (input: { nodeIds: string[] }) => {
    world.deleted.push(input.nodeIds);
    return Promise.resolve(input.nodeIds);
  },
  patchStatus: () => Promise.resolve({ written: true }),
  signalVipHostsChanged: (input: { tailnet: string; serviceNames: string[] }) => {
    world.told?.push(input.serviceNames.map((svc) => `${input.tailnet}/${svc}`));
    return Promise.resolve(input.serviceNames);
  },
});
