/**
 * PostClusterModify: Envoy Gateway emits an EDS cluster with no endpoints for a route rule whose
 * backendRefs are of our kinds (registered as backendResources). We turn it into a cluster that works:
 * the proxies reaching the tailnet target, by failover priority, with outlier detection. A cluster
 * without our backends (extensionRef filters of other kinds also trigger this hook) goes back as sent.
 */
import { backendFromObject } from './backend-from-object';
import type { BackendIndex, TailscaleBackend } from './backend-index';
import { clusterCodec, type PostClusterModifyRequest } from './codec';
import { decodeResource } from './decode';
import { routeOfName } from './eg-names';
import { isTailscaleBackend, namespaceOf, parseExtensionResource } from './extension-resources';
import type { HookDeps } from './hook-context';
import { makeTailscaleCluster } from './tailscale-cluster';

export function postClusterModify(req: PostClusterModifyRequest, deps: HookDeps): { cluster?: Uint8Array } {
  const resources = (req.postClusterContext?.backendExtensionResources ?? []).map(parseExtensionResource);
  const ours = resources.filter(isTailscaleBackend);
  if (ours.length === 0) return { cluster: req.cluster };

  const cluster = decodeResource(clusterCodec, req.cluster, 'cluster');
  const routeNamespace = routeOfName(cluster.name)?.namespace ?? 'default';
  const backends = ours.map((obj) =>
    resolveBackend(deps.index, obj.kind, namespaceOf(obj, routeNamespace), obj.metadata.name, () =>
      backendFromObject(obj, routeNamespace, deps.clusterDomain),
    ),
  );
  const missing = backends
    .filter((b) => b.endpoints.length === 0)
    .map((b) => `${b.kind}/${b.namespace}/${b.name}`);
  if (missing.length) {
    // Not an error: the cluster answers 503 until the backend has proxies, and EG keeps translating.
    deps.logger.info('Tailscale backend has no endpoints yet', { cluster: cluster.name, backends: missing });
  }
  makeTailscaleCluster(cluster, backends);
  return { cluster: clusterCodec.encode(cluster) };
}

/** The index is fresher than the object EG hands us (EG ignores status-only changes), so it wins. */
function resolveBackend(
  index: BackendIndex,
  kind: string,
  namespace: string,
  name: string,
  fromObject: () => TailscaleBackend,
): TailscaleBackend {
  return index.current().backend(kind, namespace, name) ?? fromObject();
}
