/**
 * Generated routes: a TailscaleGateway with routeGeneration gets one route per selected Tailscale
 * backend on every virtual host of its Gateway, `/tailscale/{service}/` by default, rewritten to `/`
 * upstream, pointing at the backend's `tailscale/...` cluster (added by PostTranslateModify).
 */
import type { GatewayBinding, IndexSnapshot, TailscaleBackend } from './backend-index';
import type { Route } from './envoy-types';
import { selectorMatches } from '../api/label-selector';
import { tailscaleClusterName } from './tailscale-cluster';

export const defaultPathPrefix = '/tailscale/{service}/';
export const defaultRewritePrefix = '/';

export interface GeneratedRoute {
  backend: TailscaleBackend;
  binding: GatewayBinding;
  pathPrefix: string;
  route: Route;
}

/** `{service}` and `{tailnet}` substituted; anything else in braces is left as written. */
export function expandPathTemplate(
  template: string,
  backend: Pick<TailscaleBackend, 'serviceName' | 'tailnet'>,
) {
  return template.replaceAll('{service}', backend.serviceName).replaceAll('{tailnet}', backend.tailnet);
}

export function selectedBackends(snapshot: IndexSnapshot, binding: GatewayBinding): TailscaleBackend[] {
  const generation = binding.routeGeneration;
  if (!generation) return [];
  return [...snapshot.backends.values()]
    .filter(
      (b) =>
        b.namespace === binding.namespace &&
        (binding.tailnets.length === 0 || binding.tailnets.includes(b.tailnet)) &&
        (!generation.serviceSelector || selectorMatches(generation.serviceSelector, b.labels)),
    )
    .sort((a, b) => `${a.kind}/${a.name}`.localeCompare(`${b.kind}/${b.name}`));
}

export function generatedRoutes(
  snapshot: IndexSnapshot,
  gatewayNamespace: string,
  gatewayName: string,
): GeneratedRoute[] {
  return snapshot.memoize(`generated-routes/${gatewayNamespace}/${gatewayName}`, () => {
    const routes: GeneratedRoute[] = [];
    const seenPrefixes = new Set<string>();
    for (const binding of snapshot.gatewayBindings(gatewayNamespace, gatewayName)) {
      const generation = binding.routeGeneration;
      if (!generation) continue;
      for (const backend of selectedBackends(snapshot, binding)) {
        const pathPrefix = expandPathTemplate(generation.pathPrefix, backend);
        // Two backends expanding to one prefix (a template without {service}): first one wins.
        if (seenPrefixes.has(pathPrefix)) continue;
        seenPrefixes.add(pathPrefix);
        routes.push({
          backend,
          binding,
          pathPrefix,
          route: {
            name: `tailscale/${binding.namespace}/${binding.name}/${backend.kind.toLowerCase()}/${backend.name}`,
            match: { prefix: pathPrefix },
            route: { cluster: tailscaleClusterName(backend), prefixRewrite: generation.rewritePrefix },
          },
        });
      }
    }
    // Longest prefix first, so /tailscale/a-b/ is not shadowed by /tailscale/a/ style templates.
    return routes.sort((a, b) => b.pathPrefix.length - a.pathPrefix.length);
  });
}

/** Every backend some generated route of any gateway points at (their clusters must exist). */
export function allGeneratedRouteBackends(snapshot: IndexSnapshot): TailscaleBackend[] {
  const out: TailscaleBackend[] = [];
  for (const bindings of snapshot.gatewaysByGateway.values()) {
    for (const binding of bindings) out.push(...selectedBackends(snapshot, binding));
  }
  return out;
}
