/**
 * Where a proxy's target `host:port` lands in the box, as kube-proxy would send it: a Service's
 * ClusterIP (or its `<name>.<namespace>.svc[.cluster.local]` name) → that Service's port → its
 * EndpointSlices' ready endpoints on the slice port of the same name (else `targetPort`) →
 * loopbackFor(endpoint). Any other IPv4 is taken as an endpoint itself.
 */
import { isIPv4 } from 'node:net';
import {
  CoreV1Api,
  DiscoveryV1Api,
  type KubeConfig,
  type V1Service,
  type V1ServicePort,
} from '@kubernetes/client-node';
import { isNotFound } from '../../../activities/kubernetes/errors';
import { loopbackFor } from './addresses';

export interface Address {
  host: string;
  port: number;
}

const serviceNameLabel = 'kubernetes.io/service-name';

export class BackendResolver {
  private readonly core: CoreV1Api;
  private readonly discovery: DiscoveryV1Api;

  constructor(kc: KubeConfig) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.discovery = kc.makeApiClient(DiscoveryV1Api);
  }

  /** The loopback addresses that `host:port` reaches now; empty when nothing backs it. */
  async resolve(host: string, port: number): Promise<Address[]> {
    const service = await this.findService(host);
    if (service) return this.endpointsOf(service, port);
    return isIPv4(host) ? [{ host: loopbackFor(host), port }] : [];
  }

  private async findService(host: string): Promise<V1Service | undefined> {
    if (isIPv4(host)) {
      const all = await this.core.listServiceForAllNamespaces();
      return all.items.find((s) => s.spec?.clusterIP === host);
    }
    const match = /^([a-z0-9-]+)\.([a-z0-9-]+)\.svc(?:\.cluster\.local)?\.?$/i.exec(host);
    if (!match) return undefined;
    try {
      return await this.core.readNamespacedService({ namespace: match[2]!, name: match[1]! });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  private async endpointsOf(service: V1Service, port: number): Promise<Address[]> {
    const servicePort = service.spec?.ports?.find((p) => p.port === port && (p.protocol ?? 'TCP') === 'TCP');
    if (!servicePort) return [];
    const slices = await this.discovery.listNamespacedEndpointSlice({
      namespace: service.metadata!.namespace!,
      labelSelector: `${serviceNameLabel}=${service.metadata!.name}`,
    });
    const out: Address[] = [];
    for (const slice of slices.items) {
      if (slice.addressType !== 'IPv4') continue;
      const targetPort = slicePort(slice.ports, servicePort);
      if (targetPort === undefined) continue;
      for (const endpoint of slice.endpoints ?? []) {
        if (endpoint.conditions?.ready === false) continue;
        for (const address of endpoint.addresses) {
          if (isIPv4(address)) out.push({ host: loopbackFor(address), port: targetPort });
        }
      }
    }
    return out;
  }
}

function slicePort(
  ports: { name?: string; port?: number; protocol?: string }[] | undefined,
  servicePort: V1ServicePort,
): number | undefined {
  const named = ports?.find(
    (p) => (p.name ?? '') === (servicePort.name ?? '') && (p.protocol ?? 'TCP') === 'TCP',
  );
  if (named?.port !== undefined) return named.port;
  const target = servicePort.targetPort;
  if (typeof target === 'number') return target;
  if (target === undefined) return servicePort.port;
  return undefined;
}
