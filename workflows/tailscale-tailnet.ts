import { continueAsNew, proxyActivities } from '@temporalio/workflow';
import type { ConditionUpdate } from '../api/conditions';
import type { ResourceRef } from '../api/crd';
import type { TailscaleTailnetSpec } from '../api/v1alpha1/tailscale-tailnet';
import type { Activities } from '../activities';
import { runResourceLoop } from './resource-loop';
import type { ObjectSnapshot, ResourceWorkflowInput } from './types';

const { checkOAuthSecret, patchStatus } = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 10 },
});

// Kept literal (not imported from api/) so workflow code pulls in no schema builders.
const tailnetResource: ResourceRef = {
  group: 'gateway.tailscale.com',
  version: 'v1alpha1',
  plural: 'tailscaletailnets',
  kind: 'TailscaleTailnet',
  namespaced: false,
};

export type TailscaleTailnetWorkflowInput = ResourceWorkflowInput<TailscaleTailnetSpec>;

/** One per TailscaleTailnet (`tailnet/<name>`): checks its OAuth Secret and publishes the outcome. */
export async function tailscaleTailnetWorkflow(input: TailscaleTailnetWorkflowInput): Promise<void> {
  await runResourceLoop({
    input,
    recheckInterval: '6h',
    reconcile: reconcileTailnet,
    continueAsNew: (next) => continueAsNew<typeof tailscaleTailnetWorkflow>(next),
  });
}

async function reconcileTailnet(snapshot: ObjectSnapshot<TailscaleTailnetSpec>): Promise<undefined> {
  const ref = snapshot.spec.oauthSecretRef;
  const secret = await checkOAuthSecret(ref);
  await patchStatus({
    resource: tailnetResource,
    name: snapshot.metadata.name,
    uid: snapshot.metadata.uid,
    observedGeneration: snapshot.metadata.generation,
    conditions: [readyCondition(`${ref.namespace}/${ref.name}`, secret)],
  });
  return undefined;
}

function readyCondition(
  secretName: string,
  secret: { found: boolean; missingKeys: string[] },
): ConditionUpdate {
  if (!secret.found) {
    return {
      type: 'Ready',
      status: 'False',
      reason: 'InvalidSecret',
      message: `Secret ${secretName} (spec.oauthSecretRef) not found: create it with keys client_id and client_secret of a Tailscale OAuth client`,
    };
  }
  if (secret.missingKeys.length) {
    return {
      type: 'Ready',
      status: 'False',
      reason: 'InvalidSecret',
      message: `Secret ${secretName} (spec.oauthSecretRef) is missing key(s) ${secret.missingKeys.join(', ')}: add the Tailscale OAuth client's ${secret.missingKeys.join(' and ')}`,
    };
  }
  return {
    type: 'Ready',
    status: 'Unknown',
    reason: 'CredentialsNotVerified',
    message: `Secret ${secretName} holds client_id and client_secret; they have not been checked against the Tailscale API yet`,
  };
}
