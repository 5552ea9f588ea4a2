import { createHash } from 'node:crypto';
import { resourceOf } from '../api/crd';
import { tailscaleRoutePolicyCrd, type TailscaleRoutePolicy } from '../api/v1alpha1/tailscale-route-policy';
import { routePolicyWorkflowId } from '../workflows/ids';
import type { RelatedLookups, WatchedKind } from './watched-kind';

const digest = (value: unknown) =>
  createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);

/**
 * A policy's verdicts depend on whether its targets exist and on the other policies targeting the same
 * objects (the older one wins): a target appearing or going, or a rival created, changed or deleted,
 * re-evaluates it.
 */
export function routePolicyRelatedVersions(
  policy: TailscaleRoutePolicy,
  lookups: RelatedLookups,
): Record<string, string> {
  const namespace = policy.metadata.namespace ?? '';
  const targets = policy.spec.targetRefs.map((t) => [
    t.kind,
    t.name,
    lookups.gatewayApiObject(t.kind, namespace, t.name)?.metadata.uid ?? 'absent',
  ]);
  const shares = (other: TailscaleRoutePolicy) =>
    other.spec.targetRefs.some((o) =>
      policy.spec.targetRefs.some((t) => t.kind === o.kind && t.name === o.name),
    );
  const rivals = lookups
    .routePoliciesIn(namespace)
    .filter((p) => p.metadata.name !== policy.metadata.name && shares(p))
    .map((p) => [
      p.metadata.name,
      p.metadata.uid,
      p.metadata.generation,
      p.metadata.creationTimestamp,
      p.metadata.deletionTimestamp ?? null,
    ])
    .sort((a, b) => String(a[0]).localeCompare(String(b[0])));
  return { targets: digest(targets), rivals: digest(rivals) };
}

export const tailscaleRoutePolicyWatch: WatchedKind<TailscaleRoutePolicy> = {
  resource: resourceOf(tailscaleRoutePolicyCrd),
  workflowType: 'tailscaleRoutePolicyWorkflow',
  workflowId: (p) => routePolicyWorkflowId(p.metadata.namespace ?? '', p.metadata.name),
  dependsOn: ['routes', 'gateways', 'routePolicies'],
  related: routePolicyRelatedVersions,
};
