import { createHash } from 'node:crypto';
import type { KubeObject } from '../api/common';
import { resourceOf } from '../api/crd';
import { proxyDeploymentOf, type ProxyParentKind, type ProxyParentSpec } from '../api/v1alpha1/proxy';
import { tailscaleEndpointsCrd, type TailscaleEndpoints } from '../api/v1alpha1/tailscale-endpoints';
import { tailscaleProxyGroupCrd, type TailscaleProxyGroup } from '../api/v1alpha1/tailscale-proxy-group';
import { ordinals, proxyNames, proxyPlacement } from '../activities/specs/proxy-group';
import { endpointsWorkflowId, proxyGroupWorkflowId } from '../workflows/ids';
import { tailscaleTailnetKey } from '../workflows/search-attributes';
import { stateSecretsKey } from '../workflows/proxy-observe-pass';
import type { RelatedLookups, WatchedKind } from './watched-kind';

/**
 * The versions of the parent's state Secrets and the presence of its config Secrets, hashed apart: a
 * proxy registering its device (or losing its state, or someone deleting a config Secret) re-runs the
 * parent's reconcile at once instead of at its next timer. A config Secret's version is left out: the
 * TailscaleServices workflows rewrite it whenever a service is advertised or withdrawn, which needs
 * nothing from the parent, and with many services on one pool re-ran its reconcile for each of them.
 * A state Secret's version is its resourceVersion (the watchers never see Secret data), so tailscaled
 * rewriting its profile when its advertised services change moves it too; the parent tells that case
 * (only `stateSecrets` moved) and takes a pass that only observes (workflows/proxy-observe-pass.ts).
 * The StatefulSet's desired and ready replicas: its status follows pods turning ready or going away.
 */
export function proxySecretsVersion(
  kind: ProxyParentKind,
  obj: KubeObject<ProxyParentSpec, unknown>,
  lookups: RelatedLookups,
): Record<string, string> {
  const d = proxyDeploymentOf(kind, obj.metadata, obj.spec);
  // A tailnet appearing or turning Ready unblocks a parent reported TailnetNotReady.
  const tailnet = lookups.tailnetState(obj.spec.tailnet) ?? 'absent';
  if ((obj.spec as { proxyGroup?: string }).proxyGroup) return { tailnet };
  const p = proxyPlacement(d, lookups.operatorNamespace);
  const hashOf = (versions: string[]) =>
    createHash('sha256').update(versions.join(',')).digest('hex').slice(0, 16);
  const replicas = ordinals(d.replicas);
  return {
    tailnet,
    [stateSecretsKey]: hashOf(
      replicas.map((i) => lookups.secretVersion(p.namespace, proxyNames.stateSecret(p, i)) ?? ''),
    ),
    configSecrets: hashOf(
      replicas.map((i) =>
        lookups.secretVersion(p.namespace, proxyNames.configSecret(p, i)) === undefined ? '' : 'present',
      ),
    ),
    statefulSet: lookups.statefulSetState(p.namespace, proxyNames.statefulSet(p)) ?? 'absent',
  };
}

export const tailscaleEndpointsWatch: WatchedKind<TailscaleEndpoints> = {
  resource: resourceOf(tailscaleEndpointsCrd),
  workflowType: 'tailscaleEndpointsWorkflow',
  workflowId: (ep) => endpointsWorkflowId(ep.metadata.namespace ?? '', ep.metadata.name),
  extraSearchAttributes: (ep) => [{ key: tailscaleTailnetKey, value: ep.spec.tailnet }],
  dependsOn: ['secrets', 'tailnets', 'proxyStatefulSets'],
  related: (ep, lookups) => proxySecretsVersion('TailscaleEndpoints', ep, lookups),
};

export const tailscaleProxyGroupWatch: WatchedKind<TailscaleProxyGroup> = {
  resource: resourceOf(tailscaleProxyGroupCrd),
  workflowType: 'tailscaleProxyGroupWorkflow',
  workflowId: (pg) => proxyGroupWorkflowId(pg.metadata.namespace ?? '', pg.metadata.name),
  extraSearchAttributes: (pg) => [{ key: tailscaleTailnetKey, value: pg.spec.tailnet }],
  dependsOn: ['secrets', 'tailnets', 'proxyStatefulSets'],
  related: (pg, lookups) => proxySecretsVersion('TailscaleProxyGroup', pg, lookups),
};

/** Watched kinds of the proxy machinery (TailscaleEndpoints, TailscaleProxyGroup). */
export const proxyWatchedKinds = [
  tailscaleEndpointsWatch,
  tailscaleProxyGroupWatch,
] as unknown as WatchedKind<KubeObject<unknown, unknown>>[];
