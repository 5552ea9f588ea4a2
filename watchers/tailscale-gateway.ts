import { createHash } from 'node:crypto';
import { resourceOf } from '../api/crd';
import type { TailscaleEndpoints } from '../api/v1alpha1/tailscale-endpoints';
import { tailscaleGatewayCrd, type TailscaleGateway } from '../api/v1alpha1/tailscale-gateway';
import { tailscaleBackendRefs } from '../activities/gateway-api/backends';
import { gatewayWorkflowId } from '../workflows/ids';
import type { RelatedLookups, WatchedKind } from './watched-kind';

const digest = (value: unknown) =>
  createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);

/**
 * A TailscaleGateway re-reconciles when its Gateway (listeners), a route naming that Gateway, a
 * Tailscale backend such a route references, or one of its tailnets changes in a way that matters:
 * never on status writes.
 */
export function gatewayRelatedVersions(
  gw: TailscaleGateway,
  lookups: RelatedLookups,
): Record<string, string> {
  const namespace = gw.metadata.namespace ?? '';
  const gwNamespace = gw.spec.gatewayRef.namespace ?? namespace;
  const gateway = lookups.gatewayApiObject('Gateway', gwNamespace, gw.spec.gatewayRef.name);
  const routes = lookups.routesReferencing(gwNamespace, gw.spec.gatewayRef.name);
  const backends = new Map<string, unknown>();
  for (const { route } of routes) {
    for (const ref of tailscaleBackendRefs(route)) {
      const key = `${ref.kind}/${ref.namespace}/${ref.name}`;
      if (backends.has(key)) continue;
      const obj =
        ref.kind === 'TailscaleServices'
          ? lookups.tailscaleServices(ref.namespace, ref.name)
          : (lookups.endpointsIn(ref.namespace) as TailscaleEndpoints[]).find(
              (e) => e.metadata.name === ref.name,
            );
      backends.set(key, [
        obj?.metadata.uid ?? 'absent',
        obj?.metadata.generation,
        obj?.status?.conditions?.find((c) => c.type === 'Ready')?.status,
        (obj as { status?: { vipService?: { name?: string } } } | undefined)?.status?.vipService?.name,
      ]);
    }
  }
  const tailnets = [
    ...new Set([
      ...(gw.spec.tailnets ?? []),
      ...(gw.spec.publish ?? []).flatMap((p) => (p.tailnet ? [p.tailnet] : [])),
    ]),
  ].sort();
  return {
    tailnets: digest(tailnets.map((t) => [t, lookups.tailnetState(t) ?? 'absent'])),
    gateway: digest(gateway ? [gateway.metadata.uid, gateway.metadata.generation] : 'absent'),
    routes: digest(
      routes
        .map(({ kind, route }) => [
          kind,
          route.metadata.namespace,
          route.metadata.name,
          route.metadata.uid,
          route.metadata.generation,
          route.metadata.labels ?? {},
          route.metadata.deletionTimestamp ?? null,
        ])
        .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    ),
    backends: digest([...backends.entries()].sort(([a], [b]) => a.localeCompare(b))),
  };
}

export const tailscaleGatewayWatch: WatchedKind<TailscaleGateway> = {
  resource: resourceOf(tailscaleGatewayCrd),
  workflowType: 'tailscaleGatewayWorkflow',
  workflowId: (gw) => gatewayWorkflowId(gw.metadata.namespace ?? '', gw.metadata.name),
  dependsOn: ['routes', 'gateways', 'services', 'endpoints', 'tailnets'],
  related: gatewayRelatedVersions,
};
