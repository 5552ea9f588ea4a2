/**
 * PostVirtualHostModify: called for every virtual host. Adds, for the Gateway the virtual host belongs
 * to, (1) the generated `/tailscale/{service}/` routes of its TailscaleGateways, ahead of the Gateway's
 * own routes so a catch-all `/` route cannot shadow them, and (2) for each route targeted by a
 * TailscaleRoutePolicy with conditional rules, the narrowed copies that carry those rules, just before
 * the route. Existing routes are forwarded as the bytes EG sent; a virtual host with nothing of ours
 * goes back byte for byte.
 */
import type { IndexSnapshot, RoutePolicy } from './backend-index';
import { peekStringField, routeCodec, virtualHostCodec, type PostVirtualHostModifyRequest } from './codec';
import { decodeResource } from './decode';
import { gatewayOfVirtualHost, routeOfName, type GatewayRef } from './eg-names';
import type { HookDeps } from './hook-context';
import { generatedRoutes } from './route-generation';
import { applyUnconditionalRules, derivedRoutes, isConditional } from './route-policy';

export function postVirtualHostModify(
  req: PostVirtualHostModifyRequest,
  deps: HookDeps,
): { virtualHost?: Uint8Array } {
  const virtualHost = decodeResource(virtualHostCodec, req.virtualHost, 'virtual host');
  const gateway = gatewayOfVirtualHost(virtualHost.name);
  if (!gateway) return { virtualHost: req.virtualHost };
  const snapshot = deps.index.current();

  const generated = generatedRouteBytes(snapshot, gateway);
  const gatewayPolicies = snapshot.policiesFor('Gateway', gateway.namespace, gateway.name);
  let policyChanged = false;
  const routes: Uint8Array[] = [];
  for (const bytes of snapshot.policyCount === 0 ? [] : (virtualHost.routes ?? [])) {
    const out = applyPolicies(bytes, gatewayPolicies, snapshot);
    policyChanged ||= out.length !== 1 || out[0] !== bytes;
    routes.push(...out);
  }
  if (generated.length === 0 && !policyChanged) return { virtualHost: req.virtualHost };
  virtualHost.routes = [...generated, ...(policyChanged ? routes : (virtualHost.routes ?? []))];
  return { virtualHost: virtualHostCodec.encode(virtualHost) };
}

function generatedRouteBytes(snapshot: IndexSnapshot, gateway: GatewayRef): Uint8Array[] {
  return snapshot.memoize(`generated-route-bytes/${gateway.namespace}/${gateway.name}`, () =>
    generatedRoutes(snapshot, gateway.namespace, gateway.name).map((g) => routeCodec.encode(g.route)),
  );
}

/**
 * The route's bytes unchanged when no policy applies to it; otherwise the derived routes followed by
 * the route itself (with Gateway-level unconditional rules applied: route-level ones were applied by
 * PostRouteModify).
 */
function applyPolicies(
  bytes: Uint8Array,
  gatewayPolicies: RoutePolicy[],
  snapshot: IndexSnapshot,
): Uint8Array[] {
  const routeName = peekStringField(bytes, routeNameField);
  const ref = routeName ? routeOfName(routeName) : undefined;
  const routePolicies = ref ? snapshot.policiesFor(ref.kind, ref.namespace, ref.name) : [];
  const conditional = [...routePolicies, ...gatewayPolicies].filter((p) => p.rules.some(isConditional));
  const gatewayUnconditional = gatewayPolicies.filter((p) => p.rules.some((r) => !isConditional(r)));
  if (conditional.length === 0 && gatewayUnconditional.length === 0) return [bytes];

  const route = routeCodec.decode(bytes);
  const changed = applyUnconditionalRules(route, gatewayUnconditional, snapshot);
  const current = changed ? routeCodec.encode(route) : bytes;
  const derived = derivedRoutes(route, conditional, snapshot, () => routeCodec.decode(current));
  return [...derived.map((r) => routeCodec.encode(r)), current];
}

const routeNameField = 14; // envoy.config.route.v3.Route.name
