import { resourceKindKey } from '../../workflows/search-attributes';
import type { Client } from '@temporalio/client';

export const floorTaskQueue = 'temporal-floor';

/** No-op stand-ins for the operator's activities, but the signals, which are real. */
export function floorActivities(client: Client, onReady: (workflowId: string) => void) {
  const nothing = (): Promise<void> => Promise.resolve();
  return {
    ensureFinalizer: nothing,
    getTailnetStatus: nothing,
    selectEndpoints: nothing,
    setAdvertisedServices: nothing,
    cleanupAutoProvisionedEndpoints: nothing,
    attachVipService: nothing,
    async joinVipService(vipWorkflowId: string, consumer: string, type = 'floorVipWorkflow'): Promise<void> {
      await client.workflow.signalWithStart(type, {
        workflowId: vipWorkflowId,
        taskQueue: floorTaskQueue,
        signal: 'join',
        signalArgs: [consumer],
        typedSearchAttributes: [{ key: resourceKindKey, value: 'VipService' }],
      });
    },
    async signalHosts(vipWorkflowId: string): Promise<void> {
      await client.workflow.getHandle(vipWorkflowId).signal('hosts');
    },
    async report(consumer: string, signal: 'reply' | 'news'): Promise<void> {
      await client.workflow.getHandle(consumer).signal(signal);
    },
    patchStatus(workflowId: string, ready: boolean): Promise<void> {
      if (ready) onReady(workflowId);
      return Promise.resolve();
    },
  };
}

export type FloorActivities = ReturnType<typeof floorActivities>;
