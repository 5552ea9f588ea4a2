/**
 * PostTranslateModify: the returned lists REPLACE Envoy Gateway's for every included type, so every
 * cluster, secret, listener and route configuration received goes back, as the bytes EG sent. Added:
 * the `tailscale/...` clusters our generated routes and policy Route actions point at (one per backend,
 * rebuilt from the index on each translation), unless EG already has a cluster of that name. Changed:
 * TCPRoute/TLSRoute/UDPRoute clusters with Tailscale backends (stream-route-clusters.ts).
 */
import type { IndexSnapshot } from './backend-index';
import {
  clusterCodec,
  peekStringField,
  type PostTranslateModifyRequest,
  type PostTranslateModifyResponse,
} from './codec';
import { emptyBackend } from './backend-from-object';
import type { HookDeps } from './hook-context';
import { allGeneratedRouteBackends } from './route-generation';
import { policyRouteBackends } from './route-policy';
import { hasStreamRouteBackends, rewriteStreamRouteCluster } from './stream-route-clusters';
import { newTailscaleCluster, tailscaleClusterName } from './tailscale-cluster';

export const clusterNameField = 1; // envoy.config.cluster.v3.Cluster.name

export function postTranslateModify(
  req: PostTranslateModifyRequest,
  deps: HookDeps,
): PostTranslateModifyResponse {
  const snapshot = deps.index.current();
  let received = req.clusters ?? [];
  if (hasStreamRouteBackends(snapshot)) {
    received = received.map(
      (c) => rewriteStreamRouteCluster(snapshot, peekStringField(c, clusterNameField), c) ?? c,
    );
  }
  const ours = ourClusters(snapshot);
  let added: Uint8Array[] = [];
  if (ours.size > 0) {
    const present = new Set(received.map((c) => peekStringField(c, clusterNameField)));
    added = [...ours].filter(([name]) => !present.has(name)).map(([, bytes]) => bytes);
  }
  return {
    clusters: added.length ? [...received, ...added] : received,
    secrets: req.secrets ?? [],
    listeners: req.listeners ?? [],
    routes: req.routes ?? [],
  };
}

/** Encoded once per index snapshot: translation after translation reuses the bytes. */
export function ourClusters(snapshot: IndexSnapshot): Map<string, Uint8Array> {
  return snapshot.memoize('tailscale-clusters', () => {
    const out = new Map<string, Uint8Array>();
    for (const backend of allGeneratedRouteBackends(snapshot)) {
      const name = tailscaleClusterName(backend);
      if (!out.has(name)) out.set(name, clusterCodec.encode(newTailscaleCluster(backend)));
    }
    for (const ref of policyRouteBackends(snapshot)) {
      const name = tailscaleClusterName(ref);
      if (out.has(name)) continue;
      // A policy may name a backend the index does not have (yet): an empty cluster answers 503
      // instead of EG rejecting a route that points at a missing cluster.
      const backend =
        snapshot.backend(ref.kind, ref.namespace, ref.name) ??
        emptyBackend(ref.kind, ref.namespace, ref.name);
      out.set(name, clusterCodec.encode(newTailscaleCluster(backend)));
    }
    return out;
  });
}
