/**
 * A backend built from the object Envoy Gateway attached to the request, for when the index has not
 * seen it yet (just created). Only what the object itself says: no endpoints of other objects, so a
 * TailscaleServices gets its VIP addresses but not its proxies until the index catches up.
 */
import type { TailscaleEndpoints, TailscaleServices } from '../api/v1alpha1';
import type { TailscaleBackend } from './backend-index';
import type { UnstructuredObject } from './extension-resources';
import { backendFromEndpoints, backendFromServices } from './index-from-resources';

export function backendFromObject(
  obj: UnstructuredObject & { kind: TailscaleBackend['kind'] },
  namespace: string,
  clusterDomain: string,
): TailscaleBackend {
  const withNamespace = {
    ...obj,
    metadata: { ...obj.metadata, namespace: obj.metadata.namespace ?? namespace },
  };
  const opts = { clusterDomain };
  const empty = { devices: [], statefulSets: [], namespace };
  try {
    if (obj.kind === 'TailscaleServices') {
      return backendFromServices(withNamespace as unknown as TailscaleServices, new Map(), () => empty, opts);
    }
    const endpoints = withNamespace as unknown as TailscaleEndpoints;
    return backendFromEndpoints(
      endpoints,
      {
        devices: endpoints.status?.devices ?? [],
        statefulSets: endpoints.status?.statefulSets ?? [],
        namespace,
      },
      opts,
    );
  } catch {
    // An object without the fields its schema requires (e.g. from a file provider with a partial spec).
    return emptyBackend(obj.kind, namespace, obj.metadata.name);
  }
}

export function emptyBackend(
  kind: TailscaleBackend['kind'],
  namespace: string,
  name: string,
): TailscaleBackend {
  return { kind, namespace, name, tailnet: '', serviceName: name, labels: {}, ready: false, endpoints: [] };
}
