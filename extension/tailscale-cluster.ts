/**
 * Turns a cluster into one that reaches a Tailscale backend: the proxies that carry traffic to the
 * tailnet target, grouped by failover priority, with outlier detection. Used for the EDS clusters
 * Envoy Gateway emits for our backendRefs (PostClusterModify) and for the clusters our own generated
 * and policy routes point at (PostTranslateModify).
 */
import type { TailscaleBackend } from './backend-index';
import { DiscoveryType, DnsLookupFamily, type Cluster } from './envoy-types';
import { localityEndpoints, outlierDetection } from './failover';

const ipv4 = /^\d{1,3}(\.\d{1,3}){3}$/;
const isIp = (address: string) => ipv4.test(address) || address.includes(':');

/** Mutates `cluster` in place and returns it; fields we do not manage (and unknown ones) are kept. */
export function makeTailscaleCluster(cluster: Cluster, backends: readonly TailscaleBackend[]): Cluster {
  const endpoints = backends.flatMap((b) => b.endpoints);
  // Names (pod DNS of the proxies) keep working when pods move, without a re-translation: Envoy
  // re-resolves them. See extension/README.md, "Keeping clusters correct without re-translation".
  cluster.type = endpoints.some((e) => !isIp(e.address)) ? DiscoveryType.STRICT_DNS : DiscoveryType.STATIC;
  delete cluster.edsClusterConfig;
  delete cluster.clusterType;
  cluster.loadAssignment = { clusterName: cluster.name, endpoints: localityEndpoints(endpoints) };
  cluster.outlierDetection = outlierDetection();
  cluster.connectTimeout ??= { seconds: 10 };
  if (cluster.dnsLookupFamily === undefined) cluster.dnsLookupFamily = DnsLookupFamily.V4_PREFERRED;
  return cluster;
}

/** Name of the cluster our generated and policy routes use for a backend. */
export function tailscaleClusterName(backend: Pick<TailscaleBackend, 'kind' | 'namespace' | 'name'>): string {
  return `tailscale/${backend.kind.toLowerCase()}/${backend.namespace}/${backend.name}`;
}

export function newTailscaleCluster(backend: TailscaleBackend): Cluster {
  return makeTailscaleCluster({ name: tailscaleClusterName(backend), ignoreHealthOnHostRemoval: true }, [
    backend,
  ]);
}
