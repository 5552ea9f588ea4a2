import type { WorkflowHandle } from '@temporalio/client';
import type { VipServiceHostView } from '../../activities/vip/hosts';
import { finalizerName } from '../../api/common';
import type { TailscaleServicesSpec } from '../../api/v1alpha1/tailscale-services';
import type { VipServiceReport } from '../../workflows/messages';
import type { ObjectSnapshot } from '../../workflows/types';

/** TailscaleServices default/web, selecting app=web for svc:web on tailnet corp; our finalizer is held. */
export const webServices: ObjectSnapshot<TailscaleServicesSpec> = {
  metadata: {
    name: 'web',
    namespace: 'default',
    uid: 'uid-web',
    generation: 1,
    resourceVersion: '1',
    finalizers: [finalizerName],
  },
  spec: {
    tailnet: 'corp',
    selector: { matchLabels: { app: 'web' } },
    vipService: { ports: ['tcp:80'], tags: ['tag:web'] },
  },
};

/** The VIP workflow's report on svc:web: attached, its one host advertising, approved or not yet. */
export function webReport(ackRequestId: number, approved: boolean): VipServiceReport {
  const host: VipServiceHostView = {
    name: 'web-proxies-0',
    nodeId: 'n1',
    advertising: true,
    approved,
    ...(approved ? { approvalLevel: 'approved:auto' } : {}),
    tags: ['tag:web'],
  };
  return {
    serviceName: 'svc:web',
    ackRequestId,
    attached: true,
    outcome: 'Created',
    addresses: ['100.100.100.1'],
    consumers: 1,
    message: 'created',
    hosts: [host],
  };
}

export const readyOf = (conditions: { type: string; status: string; reason?: string }[]) =>
  conditions.find((c) => c.type === 'Ready');

export const timersFired = async (handle: WorkflowHandle) =>
  ((await handle.fetchHistory()).events ?? []).filter((e) => e.timerFiredEventAttributes).length;

/** The activities of a pass over a Ready tailnet and one selected endpoints with one device. */
export const webPassActivities = {
  getTailnetStatus: () =>
    Promise.resolve({ exists: true, ready: true, reason: 'Ready', message: '', dnsSuffix: 'corp.ts.net' }),
  selectEndpoints: () =>
    Promise.resolve({
      selected: [
        {
          name: 'web-proxies',
          autoProvisioned: false,
          ready: true,
          devices: ['web-proxies-0'],
          nodeIds: ['n1'],
          onlineDevices: 1,
        },
      ],
      wrongTailnet: [],
    }),
  setAdvertisedServices: () => Promise.resolve({ configured: 1, replicas: 1, writes: 1 }),
  cleanupAutoProvisionedEndpoints: () => Promise.resolve({}),
};
