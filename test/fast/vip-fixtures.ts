import type { Client } from '@temporalio/client';
import type { AttachResult } from '../../activities/vip/lifecycle';
import { vipWorkflowId } from '../../workflows/ids';
import { vipConsumerSignal, type VipConsumerChange } from '../../workflows/messages';

/** A services object in `default` asking for `svc:<id>`'s usual spec. */
export const consumer = (id: string, requestId = 1): VipConsumerChange => ({
  consumerWorkflowId: `services/default/${id}`,
  route: `services/default/${id}`,
  requestId,
  spec: { ports: ['tcp:80'], tags: ['tag:web'] },
});

/** What attach answers when Tailscale already holds the wanted service. */
export const upToDate: AttachResult = {
  outcome: 'UpToDate',
  addresses: ['100.100.100.1'],
  consumers: 1,
  message: 'up to date',
  lostUpdates: 0,
};

/** Starts the VIP workflow of `serviceName` on `tailnet` with a first consumer's change, as signalVipService does. */
export const startVipService = (
  client: Client,
  taskQueue: string,
  target: { tailnet: string; serviceName: string },
  first: VipConsumerChange,
) =>
  client.workflow.signalWithStart('vipServiceWorkflow', {
    workflowId: vipWorkflowId(target.tailnet, target.serviceName),
    taskQueue,
    args: [target],
    signal: vipConsumerSignal,
    signalArgs: [first],
  });
