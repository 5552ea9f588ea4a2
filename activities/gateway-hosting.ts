/**
 * A TailscaleGateway's published VIP services hosted on a TailscaleProxyGroup (spec.publish[].proxyGroup):
 * the pool's proxies advertise each service and forward its ports to the Envoy data-plane Service that
 * Envoy Gateway runs for the Gateway. The pool is used from the TailscaleGateway's namespace, as a
 * TailscaleEndpoints uses its pool.
 */
import { CoreV1Api, type V1Service } from '@kubernetes/client-node';
import type { ActivityContext } from './context';
import { kubeStatusCode, toKubeActivityFailure } from './kubernetes/errors';
import { createVipHosting } from './proxies/vip-hosting';
import { serviceServeConfig, type ServiceConfig } from './specs/serve-config';

/** Labels Envoy Gateway puts on the infrastructure (Deployment, Service) of each Gateway it runs. */
export const envoyOwnerLabels = {
  name: 'gateway.envoyproxy.io/owning-gateway-name',
  namespace: 'gateway.envoyproxy.io/owning-gateway-namespace',
} as const;

export interface PoolHosting {
  serviceName: string;
  proxyGroup: string;
}

export interface HostPublicationsInput {
  /** The TailscaleGateway's namespace: where its pools are. */
  namespace: string;
  /** The Gateway API Gateway whose Envoy data plane the services forward to. */
  gateway: { namespace: string; name: string };
  host: (PoolHosting & { ports: string[] })[];
  withdraw: PoolHosting[];
}

export interface HostPublicationsResult {
  /** `<svc>` → why the pool does not host it (no data-plane Service yet, a port it lacks). */
  problems: Record<string, string>;
}

export function createGatewayHostingActivities(ctx: ActivityContext) {
  const core = ctx.kube.makeApiClient(CoreV1Api);
  const hosting = createVipHosting(ctx);
  const pool = (namespace: string, name: string) =>
    ({ kind: 'TailscaleProxyGroup', namespace, name }) as const;

  async function dataPlaneService(gateway: { namespace: string; name: string }): Promise<V1Service | string> {
    try {
      const list = await core.listServiceForAllNamespaces({
        labelSelector: `${envoyOwnerLabels.name}=${gateway.name},${envoyOwnerLabels.namespace}=${gateway.namespace}`,
      });
      const [first] = [...list.items].sort((a, b) =>
        (a.metadata?.name ?? '') < (b.metadata?.name ?? '') ? -1 : 1,
      );
      return (
        first ??
        `Envoy Gateway runs no data-plane Service for Gateway ${gateway.namespace}/${gateway.name} yet`
      );
    } catch (err) {
      if (kubeStatusCode(err) === 403)
        return 'the operator may not list Services, so it cannot find the Envoy data-plane Service';
      throw toKubeActivityFailure(
        err,
        `finding the Envoy Service of Gateway ${gateway.namespace}/${gateway.name}`,
      );
    }
  }

  return {
    /** Advertises each hosted publication on its pool (serving it to Envoy), withdraws the others. */
    async hostGatewayPublications(input: HostPublicationsInput): Promise<HostPublicationsResult> {
      const problems: Record<string, string> = {};
      const hosted = new Set(input.host.map((h) => `${h.proxyGroup}/${h.serviceName}`));
      for (const w of input.withdraw) {
        if (hosted.has(`${w.proxyGroup}/${w.serviceName}`)) continue;
        await hosting.apply(
          [{ parent: pool(input.namespace, w.proxyGroup), advertise: false }],
          w.serviceName,
          null,
        );
      }
      if (!input.host.length) return { problems };
      const envoy = await dataPlaneService(input.gateway);
      for (const h of input.host) {
        let serve: ServiceConfig | null = null;
        if (typeof envoy === 'string') {
          problems[h.serviceName] = envoy;
        } else {
          const ports = h.ports.flatMap((p) => (/^tcp:\d+$/.test(p) ? [Number(p.slice(4))] : []));
          const result = serviceServeConfig({
            vipService: h.serviceName,
            dnsSuffix: '',
            vipPorts: h.ports,
            backend: {
              serviceName: envoy.metadata?.name ?? '',
              ports: ports.map((port) => ({ port, servicePort: port })),
            },
            service: {
              clusterIP: envoy.spec?.clusterIP,
              ports: (envoy.spec?.ports ?? []).map((p) => ({ name: p.name, port: p.port })),
            },
          });
          if (result.ok) serve = result.config;
          else
            problems[h.serviceName] =
              `Envoy Service ${envoy.metadata?.namespace}/${envoy.metadata?.name}: ${result.problem}`;
        }
        await hosting.apply(
          // A proxy advertising what it cannot forward would count as a host and blackhole the traffic.
          [{ parent: pool(input.namespace, h.proxyGroup), advertise: serve !== null }],
          h.serviceName,
          serve,
        );
      }
      for (const [service, problem] of Object.entries(problems))
        ctx.logger.info('published VIP service not hosted on its pool', { service, problem });
      return { problems };
    },
  };
}
