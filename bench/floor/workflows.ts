/**
 * The Temporal shape of one TailscaleServices going Ready, with every activity a no-op: what Temporal
 * itself costs for our workflow tasks, local activities, signals and timers on this machine, with no
 * Kubernetes or Tailscale work beside it (bench/temporal-floor.ts). Each step is named after the step of
 * workflows/tailscale-services.ts or workflows/vip-service.ts it stands for. As ours, each task ends
 * with a memo for the Temporal UI, and each workflow carries a search attribute from its start.
 */
import {
  condition,
  defineSignal,
  proxyLocalActivities,
  setHandler,
  sleep,
  upsertMemo,
  workflowInfo,
} from '@temporalio/workflow';
import type { FloorActivities } from './activities';

const acts = proxyLocalActivities<FloorActivities>({ startToCloseTimeout: '20s' });

export const joinSignal = defineSignal<[string]>('join');
export const replySignal = defineSignal('reply');
export const hostsSignal = defineSignal('hosts');
export const newsSignal = defineSignal('news');

/** The services workflow's three tasks: the pass up to the VIP join, the reply's pass, news of hosts. */
export async function floorServiceWorkflow(vipWorkflowId: string): Promise<void> {
  const self = workflowInfo().workflowId;
  let replied = false;
  let news = false;
  setHandler(replySignal, () => void (replied = true));
  setHandler(newsSignal, () => void (news = true));

  await Promise.all([acts.ensureFinalizer(), acts.getTailnetStatus(), acts.selectEndpoints()]);
  await acts.setAdvertisedServices();
  await acts.joinVipService(vipWorkflowId, self);
  upsertMemo({ summary: 'joined' });
  await condition(() => replied, '2m');

  await acts.setAdvertisedServices();
  // Stands for the proxies advertising the name and their pool telling the VIP workflow.
  await acts.signalHosts(vipWorkflowId);
  await acts.cleanupAutoProvisionedEndpoints();
  await acts.patchStatus(self, false);
  upsertMemo({ summary: 'attached' });
  await condition(() => news, '6h');

  await publishReady(self);
}

/** The VIP workflow's three tasks: the join's attach, the hosts' news, the settle read. */
export async function floorVipWorkflow(): Promise<void> {
  const { consumer, hosts } = await firstJoin();

  await acts.attachVipService();
  await acts.report(consumer, 'reply');
  upsertMemo({ outcome: 'Created' });
  await condition(hosts, '3s');

  await acts.attachVipService();
  await acts.report(consumer, 'news');
  upsertMemo({ outcome: 'Attached', hosts: 2 });
  await sleep('3s');

  await acts.attachVipService();
  upsertMemo({ outcome: 'UpToDate' });
  await condition(() => false, '4h');
}

/**
 * The least one workflow per object and one per VIP service can do: two tasks each. The name is
 * advertised before the VIP workflow admits the claim (ours waits for it, so another namespace's
 * service is never advertised), and the VIP workflow answers once, when hosts are known, with no
 * settle read.
 */
export async function leastServiceWorkflow(vipWorkflowId: string): Promise<void> {
  const self = workflowInfo().workflowId;
  let replied = false;
  setHandler(replySignal, () => void (replied = true));

  await Promise.all([acts.ensureFinalizer(), acts.getTailnetStatus(), acts.selectEndpoints()]);
  await acts.setAdvertisedServices();
  await acts.joinVipService(vipWorkflowId, self, 'leastVipWorkflow');
  await acts.signalHosts(vipWorkflowId);
  upsertMemo({ summary: 'joined' });
  await condition(() => replied, '2m');

  await publishReady(self);
}

export async function leastVipWorkflow(): Promise<void> {
  const { consumer, hosts } = await firstJoin();

  await acts.attachVipService();
  upsertMemo({ outcome: 'Created' });
  await condition(hosts, '2m');

  await acts.report(consumer, 'reply');
  upsertMemo({ outcome: 'Attached', hosts: 2 });
  await condition(() => false, '4h');
}

/** The VIP workflow's start: its handlers, then the first consumer's join. */
async function firstJoin(): Promise<{ consumer: string; hosts: () => boolean }> {
  let consumer: string | undefined;
  let hosts = false;
  setHandler(joinSignal, (id) => void (consumer = id));
  setHandler(hostsSignal, () => void (hosts = true));
  await condition(() => consumer !== undefined);
  return { consumer: consumer!, hosts: () => hosts };
}

/** The services workflow's last task: Ready published, then the wait for the next change. */
async function publishReady(self: string): Promise<void> {
  await acts.patchStatus(self, true);
  upsertMemo({ summary: 'ready' });
  await condition(() => false, '6h');
}
