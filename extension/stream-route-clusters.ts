/**
 * TCPRoute, TLSRoute and UDPRoute clusters. Envoy Gateway (v1.9) accepts our kinds as their backendRefs
 * and emits an EDS cluster `<kind>/<ns>/<route>/rule/-1` with no endpoints, but calls PostClusterModify
 * only for HTTPRoute and GRPCRoute rules (internal/xds/translator/translator.go: the TCP and UDP listener
 * translation passes no extension manager or resources to processXdsCluster). PostTranslateModify sees
 * every cluster, so these are rewritten there, like PostClusterModify would: the route's backends come
 * from the bound TailscaleGateways' status.routes (EG hands no object along for these kinds).
 */
import type { IndexSnapshot, TailscaleBackend } from './backend-index';
import { emptyBackend } from './backend-from-object';
import { clusterCodec } from './codec';
import { decodeResource } from './decode';
import { routeOfName } from './eg-names';
import { makeTailscaleCluster } from './tailscale-cluster';

const withoutClusterHook = new Set(['TCPRoute', 'TLSRoute', 'UDPRoute']);

/** Whether any cluster of this snapshot could need the rewrite (spares the name scan otherwise). */
export function hasStreamRouteBackends(snapshot: IndexSnapshot): boolean {
  return snapshot.memoize('stream-route-backends', () =>
    [...snapshot.backendsByRoute.keys()].some((key) => withoutClusterHook.has(key.split('/')[0]!)),
  );
}

/** The Tailscale backends behind a TCPRoute/TLSRoute/UDPRoute cluster; undefined for any other cluster. */
export function streamRouteBackends(
  snapshot: IndexSnapshot,
  clusterName: string | undefined,
): TailscaleBackend[] | undefined {
  const route = clusterName ? routeOfName(clusterName) : undefined;
  if (!route || !withoutClusterHook.has(route.kind)) return undefined;
  const refs = snapshot.backendsOfRoute(route.kind, route.namespace, route.name);
  if (refs.length === 0) return undefined;
  return refs.map(
    (ref) =>
      snapshot.backend(ref.kind, ref.namespace, ref.name) ?? emptyBackend(ref.kind, ref.namespace, ref.name),
  );
}

/** The cluster re-encoded to reach its route's Tailscale backends, or undefined when it is not one of ours. */
export function rewriteStreamRouteCluster(
  snapshot: IndexSnapshot,
  clusterName: string | undefined,
  cluster: Uint8Array,
): Uint8Array | undefined {
  const backends = streamRouteBackends(snapshot, clusterName);
  if (!backends) return undefined;
  const decoded = decodeResource(clusterCodec, cluster, `cluster ${clusterName}`);
  return clusterCodec.encode(makeTailscaleCluster(decoded, backends));
}
