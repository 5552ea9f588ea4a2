import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { SearchAttributePair, SignalDefinition } from '@temporalio/common';
import { vipWorkflowId } from '../workflows/ids';
import {
  vipConsumerSignal,
  vipHostsChangedSignal,
  vipStatusSignal,
  type VipConsumerChange,
  type VipServiceReport,
} from '../workflows/messages';
import { resourceKindKey, tailscaleTailnetKey, vipServiceNameKey } from '../workflows/search-attributes';
import type { VipServiceWorkflowInput } from '../workflows/vip-service';

export interface TemporalDeps {
  client: Client;
  taskQueue: string;
}

export interface SignalVipServiceInput extends VipConsumerChange {
  tailnet: string;
  serviceName: string;
  /**
   * The VIP workflow already holds this very change: deliver it only if that workflow is not running
   * (finished, terminated), so a periodic re-check that changed nothing costs no signal.
   */
  unlessRunning?: boolean;
}

/**
 * Workflows cannot signal-with-start another workflow, so consumers reach their VIP workflow through
 * this activity: it starts `vip/<tailnet>/<svc>` if needed and delivers the change either way (or, with
 * `unlessRunning`, only to a VIP workflow that has to be started again).
 */
export function createTemporalSignalActivities(temporal: TemporalDeps | undefined) {
  return {
    async signalVipService(input: SignalVipServiceInput): Promise<{ signalled: boolean }> {
      const { client, taskQueue } = requireTemporal(temporal);
      const { tailnet, serviceName, unlessRunning, ...change } = input;
      if (unlessRunning) {
        try {
          const running = await client.workflow.getHandle(vipWorkflowId(tailnet, serviceName)).describe();
          if (running.status.name === 'RUNNING') return { signalled: false };
        } catch (err) {
          if (!(err instanceof WorkflowNotFoundError)) throw err;
        }
      }
      const args: [VipServiceWorkflowInput] = [{ tailnet, serviceName }];
      await client.workflow.signalWithStart('vipServiceWorkflow', {
        workflowId: vipWorkflowId(tailnet, serviceName),
        taskQueue,
        args,
        signal: vipConsumerSignal,
        signalArgs: [change],
        typedSearchAttributes: [
          { key: resourceKindKey, value: 'VipService' },
          { key: tailscaleTailnetKey, value: tailnet },
          { key: vipServiceNameKey, value: serviceName },
        ] as SearchAttributePair[],
        memo: { vipService: serviceName, tailnet },
      });
      return { signalled: true };
    },

    /**
     * A VIP workflow's reports to its consumer workflows. Sent from the workflow as signal commands, each
     * cost it one more workflow task (the server's acknowledgement of the signal); from here they go out
     * within the task that decided them. Returns the consumers that are gone (nobody left to tell).
     */
    async reportToVipConsumers(input: {
      reports: { consumerWorkflowId: string; report: VipServiceReport }[];
    }): Promise<{ unreachable: string[] }> {
      const { client } = requireTemporal(temporal);
      const delivered = await Promise.all(
        input.reports.map(({ consumerWorkflowId, report }) =>
          signalIfRunning(client, consumerWorkflowId, vipStatusSignal, report),
        ),
      );
      return { unreachable: input.reports.filter((_, i) => !delivered[i]).map((r) => r.consumerWorkflowId) };
    },

    /** Tells each running `vip/<tailnet>/<svc>` that a proxy began advertising it; returns those told. */
    async signalVipHostsChanged(input: { tailnet: string; serviceNames: string[] }): Promise<string[]> {
      const { client } = requireTemporal(temporal);
      // No VIP workflow (another install's service, or one already gone): nothing waits for hosts.
      const told = await Promise.all(
        input.serviceNames.map((serviceName) =>
          signalIfRunning(client, vipWorkflowId(input.tailnet, serviceName), vipHostsChangedSignal),
        ),
      );
      return input.serviceNames.filter((_, i) => told[i]);
    },
  };
}

function requireTemporal(temporal: TemporalDeps | undefined): TemporalDeps {
  if (!temporal) throw new Error('BUG: the worker was started without a Temporal client for activities');
  return temporal;
}

/** Signals the workflow's current run; false when there is no such workflow. */
async function signalIfRunning<Args extends unknown[]>(
  client: Client,
  workflowId: string,
  signal: SignalDefinition<Args>,
  ...args: Args
): Promise<boolean> {
  try {
    await client.workflow.getHandle(workflowId).signal(signal, ...args);
    return true;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}
