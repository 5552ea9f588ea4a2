import type { Client, WorkflowHandle } from '@temporalio/client';
import type { VipServiceHostView } from '../../activities/vip/hosts';
import type { TailscaleServicesSpec } from '../../api/v1alpha1/tailscale-services';
import { servicesWorkflowId } from '../../workflows/ids';
import type { ObjectSnapshot } from '../../workflows/types';
import { vipStatusSignal, type VipServiceReport } from '../../workflows/messages';
import { historyEvents } from '../support/workflow-env';
import { heldSnapshot, signalSnapshot } from './snapshots';

/** TailscaleServices default/web, selecting app=web for svc:web on tailnet corp; our finalizer is held. */
export const webServices = heldSnapshot<TailscaleServicesSpec>('web', {
  tailnet: 'corp',
  selector: { matchLabels: { app: 'web' } },
  vipService: { ports: ['tcp:80'], tags: ['tag:web'] },
});

export const webWorkflowId = servicesWorkflowId('default', 'web');

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

const readyOf = (conditions: { type: string; status: string; reason?: string }[]) =>
  conditions.find((c) => c.type === 'Ready');

export const timersFired = async (handle: WorkflowHandle) =>
  (await historyEvents(handle)).filter((e) => e.timerFiredEventAttributes).length;

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

/** Sends `report` on the next turn of the event loop, as the VIP workflow's reply comes after the join. */
export function replyLater(client: Client, workflowId: string, report: VipServiceReport): void {
  setImmediate(() => {
    void client.workflow.getHandle(workflowId).signal(vipStatusSignal, report);
  });
}

/**
 * signalVipService as the VIP workflow of svc:web, running all along: it answers each join sent with
 * `webReport(requestId, approved)`; an unchanged join (`unlessRunning`) is not sent to a running workflow.
 */
export function answeringVipWorkflow(client: Client, approved: boolean) {
  const joins: number[] = [];
  return {
    joins,
    signalVipService: (input: { requestId: number; unlessRunning?: boolean }) => {
      if (input.unlessRunning) return Promise.resolve({ signalled: false });
      joins.push(input.requestId);
      replyLater(client, webWorkflowId, webReport(input.requestId, approved));
      return Promise.resolve({ signalled: true });
    },
  };
}

/** A patchStatus recording the Ready reason of each publication; `ready` resolves at the first Ready. */
export function readinessRecorder() {
  const reasons: (string | undefined)[] = [];
  const waiting = new Map<string, () => void>();
  const published = (reason: string) => new Promise<void>((resolve) => waiting.set(reason, resolve));
  const ready = published('Ready');
  return {
    reasons,
    ready,
    /** Resolves when a publication shows Ready with `reason` (register before it can happen). */
    published,
    patchStatus: (input: { conditions: { type: string; status: string; reason?: string }[] }) => {
      const reason = readyOf(input.conditions)?.reason;
      reasons.push(reason);
      if (reason) waiting.get(reason)?.();
      return Promise.resolve({});
    },
  };
}

/** Starts (or signals) the workflow of default/web with `snapshot`, as the watchers would. */
export const startWebServices = (
  client: Client,
  taskQueue: string,
  snapshot: ObjectSnapshot<TailscaleServicesSpec> = webServices,
) =>
  signalSnapshot(
    client,
    {
      taskQueue,
      workflowType: 'tailscaleServicesWorkflow',
      workflowId: webWorkflowId,
      kind: 'TailscaleServices',
    },
    snapshot,
  );
