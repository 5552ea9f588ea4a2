import {
  continueAsNew,
  getExternalWorkflowHandle,
  ParentClosePolicy,
  proxyActivities,
  startChild,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { ConditionUpdate } from '../api/conditions';
import type { ResourceRef } from '../api/crd';
import type { TailscaleTailnetSpec } from '../api/v1alpha1/tailscale-tailnet';
import type { Activities } from '../activities';
import type { TailnetCheck } from '../activities/tailnet-checks';
import { sweeperWorkflowId } from './ids';
import { stopSweeperSignal } from './messages';
import { runResourceLoop } from './resource-loop';
import { tailscaleTailnetKey } from './search-attributes';
import { sweeperWorkflow } from './sweeper';
import type { ObjectSnapshot, ResourceWorkflowInput } from './types';
import { remoteActivityOptions } from './retry-policies';
import { TailnetReason } from '../api/reasons';

const { checkTailnetCredentials, patchStatus, sweeperSettings } = proxyActivities<Activities>(
  remoteActivityOptions('30s'),
);

// Kept literal (not imported from api/) so workflow code pulls in no schema builders.
const tailnetResource: ResourceRef = {
  group: 'gateway.tailscale.com',
  version: 'v1alpha1',
  plural: 'tailscaletailnets',
  kind: 'TailscaleTailnet',
  namespaced: false,
};

interface TailnetState {
  sweeperStarted: boolean;
}

export type TailscaleTailnetWorkflowInput = ResourceWorkflowInput<TailscaleTailnetSpec, TailnetState>;

/**
 * One per TailscaleTailnet (`tailnet/<name>`): checks the OAuth client (Secret, token, every scope the
 * operator needs), discovers the MagicDNS suffix, publishes the outcome, and keeps the tailnet's sweeper
 * running. Re-checks on a durable timer and whenever the object or its Secret changes.
 */
export async function tailscaleTailnetWorkflow(input: TailscaleTailnetWorkflowInput): Promise<void> {
  await runResourceLoop<TailscaleTailnetSpec, TailnetState>({
    input,
    recheckInterval: '6h',
    reconcile: async (snapshot, state) => ({ state: await reconcileTailnet(snapshot, state) }),
    onDeleted: async () => {
      try {
        await getExternalWorkflowHandle(sweeperWorkflowId(input.name)).signal(stopSweeperSignal);
      } catch {
        // no sweeper running
      }
    },
    continueAsNew: (next) => continueAsNew<typeof tailscaleTailnetWorkflow>(next),
  });
}

async function reconcileTailnet(
  snapshot: ObjectSnapshot<TailscaleTailnetSpec>,
  state: TailnetState | undefined,
): Promise<TailnetState> {
  const check = await checkTailnetCredentials({ name: snapshot.metadata.name });
  await patchStatus({
    resource: tailnetResource,
    name: snapshot.metadata.name,
    uid: snapshot.metadata.uid,
    observedGeneration: snapshot.metadata.generation,
    conditions: [readyCondition(snapshot, check)],
    fields: { dnsSuffix: check.dnsSuffix ?? null, operator: check.operator ?? null },
  });
  if (!check.ready || state?.sweeperStarted) return { sweeperStarted: state?.sweeperStarted ?? false };
  const settings = await sweeperSettings();
  try {
    await startChild(sweeperWorkflow, {
      workflowId: sweeperWorkflowId(snapshot.metadata.name),
      args: [
        {
          tailnet: snapshot.metadata.name,
          intervalMs: settings.intervalMs,
          staleAfterMs: settings.staleAfterMs,
        },
      ],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      typedSearchAttributes: [{ key: tailscaleTailnetKey, value: snapshot.metadata.name }],
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
  return { sweeperStarted: true };
}

function readyCondition(
  snapshot: ObjectSnapshot<TailscaleTailnetSpec>,
  check: TailnetCheck,
): ConditionUpdate {
  const ref = snapshot.spec.oauthSecretRef;
  const message =
    check.reason === TailnetReason.InvalidSecret || check.reason === TailnetReason.InvalidOAuth
      ? `${check.message} (spec.oauthSecretRef ${ref.namespace}/${ref.name})`
      : check.message;
  return { type: 'Ready', status: check.ready ? 'True' : 'False', reason: check.reason, message };
}
