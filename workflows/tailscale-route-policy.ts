import { continueAsNew, proxyActivities, upsertMemo } from '@temporalio/workflow';
import type { TailscaleRoutePolicySpec } from '../api/v1alpha1/tailscale-route-policy';
import type { Activities } from '../activities';
import { runResourceLoop } from './resource-loop';
import type { ObjectSnapshot, ResourceWorkflowInput } from './types';
import { remoteActivityOptions } from './retry-policies';

const { evaluateRoutePolicy, publishRoutePolicyStatus } = proxyActivities<Activities>(
  remoteActivityOptions('30s'),
);

export type TailscaleRoutePolicyWorkflowInput = ResourceWorkflowInput<TailscaleRoutePolicySpec>;

/**
 * One per TailscaleRoutePolicy (`routepolicy/<ns>/<name>`): judges each target (exists? does an older
 * policy on it win?) and publishes Accepted/Conflicted per target in `status.ancestors`. Nothing to
 * clean up on deletion: the rules live only in the spec the extension server reads. Target and rival
 * policy changes reach it through the watchers.
 */
export async function tailscaleRoutePolicyWorkflow(input: TailscaleRoutePolicyWorkflowInput): Promise<void> {
  await runResourceLoop<TailscaleRoutePolicySpec, undefined>({
    input,
    recheckInterval: '6h',
    reconcile: async (snapshot) => ({ state: await reconcileRoutePolicy(snapshot) }),
    continueAsNew: (next) => continueAsNew<typeof tailscaleRoutePolicyWorkflow>(next),
  });
}

async function reconcileRoutePolicy(snapshot: ObjectSnapshot<TailscaleRoutePolicySpec>): Promise<undefined> {
  const { metadata } = snapshot;
  const key = { namespace: metadata.namespace ?? '', name: metadata.name, uid: metadata.uid };
  const evaluation = await evaluateRoutePolicy(key);
  if (!evaluation.found) return undefined;
  await publishRoutePolicyStatus({ ...key, generation: metadata.generation, targets: evaluation.targets });
  upsertMemo({
    targets: evaluation.targets.map((t) => `${t.ancestorRef.kind}/${t.ancestorRef.name}: ${t.reason}`),
  });
  return undefined;
}
