/**
 * PostRouteModify: applies the unconditional rules of the TailscaleRoutePolicies that target the
 * route's HTTPRoute/GRPCRoute: the ones Envoy Gateway attached to the request (policyResources, EG >= 1.9)
 * and the ones the index knows. Conditional rules need extra routes, which only a virtual host can
 * hold: PostVirtualHostModify adds those. A route no policy targets goes back byte for byte.
 */
import { tailscaleRoutePolicyCrd, type TailscaleRoutePolicy } from '../api/v1alpha1/tailscale-route-policy';
import type { RoutePolicy } from './backend-index';
import { routeCodec, type PostRouteModifyRequest } from './codec';
import { decodeResource } from './decode';
import { routeOfName } from './eg-names';
import { isOurKind, parseExtensionResource } from './extension-resources';
import { applicablePolicy } from './index-from-resources';
import type { HookDeps } from './hook-context';
import { applyUnconditionalRules } from './route-policy';

export function postRouteModify(req: PostRouteModifyRequest, deps: HookDeps): { route?: Uint8Array } {
  const route = decodeResource(routeCodec, req.route, 'route');
  const attached = (req.postRouteContext?.extensionPolicies ?? [])
    .map(parseExtensionResource)
    .filter((obj) => isOurKind(obj, [tailscaleRoutePolicyCrd.kind]))
    .flatMap((obj) => toPolicy(obj as unknown as TailscaleRoutePolicy) ?? []);
  const snapshot = deps.index.current();
  const ref = route.name ? routeOfName(route.name) : undefined;
  const fromIndex = ref ? snapshot.policiesFor(ref.kind, ref.namespace, ref.name) : [];
  const policies = mergePolicies(fromIndex, attached);
  // Untouched routes go back as EG encoded them, not re-encoded.
  if (!applyUnconditionalRules(route, policies, snapshot)) return { route: req.route };
  return { route: routeCodec.encode(route) };
}

/** Policies by namespace/name; the index's copy wins (it follows spec changes between translations). */
function mergePolicies(fromIndex: RoutePolicy[], attached: RoutePolicy[]): RoutePolicy[] {
  const byName = new Map<string, RoutePolicy>();
  for (const p of [...attached, ...fromIndex]) byName.set(`${p.namespace}/${p.name}`, p);
  return [...byName.values()].sort((a, b) =>
    `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`),
  );
}

/** undefined for a policy the hooks must not apply (index-from-resources.ts), or one too malformed to read. */
function toPolicy(obj: TailscaleRoutePolicy): RoutePolicy | undefined {
  try {
    return applicablePolicy(obj);
  } catch {
    return undefined;
  }
}
