import {
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  proxyActivities,
  setHandler,
  upsertMemo,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { stopSweeperSignal } from './messages';
import { remoteActivityOptions, retryPolicies } from './retry-policies';

const { sweepVipServices } = proxyActivities<Activities>(remoteActivityOptions('5m', retryPolicies.sweep));

export interface SweeperWorkflowInput {
  tailnet: string;
  /** Consumers unseen for longer than this (and with no live device) are removed. Default 30 min. */
  staleAfterMs?: number;
  /** Time between passes. Default 10 min. */
  intervalMs?: number;
}

/**
 * `sweeper/<tailnet>`: one durable timer, one batched pass per tailnet over every registry it can see.
 * A pass reads (one list of services, one of devices) and writes only when a consumer went stale.
 */
export async function sweeperWorkflow(input: SweeperWorkflowInput): Promise<void> {
  const staleAfterMs = input.staleAfterMs ?? 30 * 60_000;
  const intervalMs = input.intervalMs ?? 10 * 60_000;
  let stopped = false;
  setHandler(stopSweeperSignal, () => {
    stopped = true;
  });
  let passes = 0;
  for (;;) {
    if (await condition(() => stopped, intervalMs)) return;
    try {
      const result = await sweepVipServices({ tailnet: input.tailnet, staleAfterMs });
      passes++;
      if (result.writes) {
        log.info('sweep removed stale consumers', {
          tailnet: input.tailnet,
          removed: result.removed,
          deleted: result.deleted,
        });
        upsertMemo({
          lastSweep: { removed: result.removed, deleted: result.deleted, refreshed: result.refreshed },
        });
      }
    } catch (err) {
      log.warn('sweep failed; next pass will retry', { tailnet: input.tailnet, error: String(err) });
    }
    if (workflowInfo().continueAsNewSuggested || passes >= 500) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof sweeperWorkflow>(input);
    }
  }
}
