/**
 * Which version of each Gateway API kind the API server serves. Clusters differ: Gateway API v1.6
 * serves TCPRoute, TLSRoute and UDPRoute as v1 in its standard channel, older installs only as
 * v1alpha2 (TLSRoute also v1alpha3) from the experimental channel, and some have no such CRD at all.
 * Asking discovery instead of pinning a version lets the same operator read all of them.
 */
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { kubeStatusCode } from '../kubernetes/errors';
import { gatewayApiGroup, type RouteKind } from './types';

export type GatewayApiKind = RouteKind | 'Gateway' | 'ReferenceGrant';

export interface GatewayApiResource {
  kind: GatewayApiKind;
  plural: string;
  /** Versions to look for, preferred first. */
  versions: readonly string[];
}

export const gatewayApiResources: Record<GatewayApiKind, GatewayApiResource> = {
  Gateway: { kind: 'Gateway', plural: 'gateways', versions: ['v1', 'v1beta1'] },
  ReferenceGrant: { kind: 'ReferenceGrant', plural: 'referencegrants', versions: ['v1', 'v1beta1'] },
  HTTPRoute: { kind: 'HTTPRoute', plural: 'httproutes', versions: ['v1', 'v1beta1'] },
  GRPCRoute: { kind: 'GRPCRoute', plural: 'grpcroutes', versions: ['v1', 'v1alpha2'] },
  TCPRoute: { kind: 'TCPRoute', plural: 'tcproutes', versions: ['v1', 'v1alpha2'] },
  TLSRoute: { kind: 'TLSRoute', plural: 'tlsroutes', versions: ['v1', 'v1alpha3', 'v1alpha2'] },
  UDPRoute: { kind: 'UDPRoute', plural: 'udproutes', versions: ['v1', 'v1alpha2'] },
};

/** A served kind: enough to list, get and watch it. */
export interface ServedResource {
  kind: GatewayApiKind;
  group: string;
  version: string;
  plural: string;
}

/**
 * Discovery of the gateway.networking.k8s.io group, cached for `ttlMs` (CRDs are installed or upgraded
 * rarely; a stale answer costs at most one failed call, after which the cache is dropped).
 */
export class GatewayApiDiscovery {
  private readonly api: CustomObjectsApi;
  private cache: { at: number; byVersion: Map<string, Set<string>> } | undefined;

  constructor(
    kc: KubeConfig,
    private readonly ttlMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {
    this.api = kc.makeApiClient(CustomObjectsApi);
  }

  /** The served version of `kind`, or undefined when the API server does not serve it at all. */
  async resolve(kind: GatewayApiKind): Promise<ServedResource | undefined> {
    const resource = gatewayApiResources[kind];
    const served = await this.servedPlurals();
    const version = resource.versions.find((v) => served.get(v)?.has(resource.plural));
    return version ? { kind, group: gatewayApiGroup, version, plural: resource.plural } : undefined;
  }

  invalidate(): void {
    this.cache = undefined;
  }

  private async servedPlurals(): Promise<Map<string, Set<string>>> {
    if (this.cache && this.now() - this.cache.at < this.ttlMs) return this.cache.byVersion;
    const versions = [...new Set(Object.values(gatewayApiResources).flatMap((r) => r.versions))];
    const byVersion = new Map<string, Set<string>>();
    await Promise.all(
      versions.map(async (version) => {
        try {
          const list = await this.api.getAPIResources({ group: gatewayApiGroup, version });
          byVersion.set(version, new Set(list.resources.map((r) => r.name)));
        } catch (err) {
          // A version nobody installed is a 404: simply not served.
          if (kubeStatusCode(err) !== 404) throw err;
        }
      }),
    );
    this.cache = { at: this.now(), byVersion };
    return byVersion;
  }
}
