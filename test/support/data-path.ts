/**
 * The set-up of tests that carry bytes through a VIP service: a proxy harness (operator, tailnet, proxy
 * simulator) with a real echo backend beside it, proxies for a TailscaleServices (their own or a pool's),
 * and the TailscaleServices itself, serving the echo backend.
 */
import type { TailscaleServices } from '../../api/v1alpha1/tailscale-services';
import { loopbackFor } from '../../simulators/proxy/dataplane/addresses';
import type { EchoServer } from '../../tools/echo-server';
import {
  group,
  proxyParents,
  startProxyHarness,
  version,
  type ProxyHarness,
} from '../stack/workflows/tailscale-endpoints-harness';
import { echoBackendService, startEchoBackend } from '../../tools/echo-backend';
import { eventually } from './eventually';
import { createTailscaleServices } from './objects';

export interface DataPath {
  h: ProxyHarness;
  backend: EchoServer;
  close(): Promise<void>;
}

/** A proxy harness in a namespace named after `prefix`, and the echo backend on 10.250.<octet>.1. */
export async function startDataPath(prefix: string, octet: number): Promise<DataPath> {
  const h = await startProxyHarness(prefix);
  const backend = await startEchoBackend(h.kc, h.namespace, octet);
  return {
    h,
    backend,
    close: async () => {
      await backend.close();
      await h.close();
    },
  };
}

/** The TailscaleServices `name` as the API server has it. */
export const servicesOf = async (h: ProxyHarness, name: string) =>
  (await h.objects.getNamespacedCustomObject({
    group,
    version,
    namespace: h.namespace,
    plural: 'tailscaleservices',
    name,
  })) as TailscaleServices;

/**
 * A shared pool of `replicas` proxies and TailscaleEndpoints `user` (labelled app: `user`) that uses it;
 * resolves once the pool is Ready.
 */
export async function poolWithEndpoints(h: ProxyHarness, pool: string, user: string, replicas: number) {
  const groups = proxyParents(h, 'TailscaleProxyGroup');
  await groups.create(pool, { type: 'ingress', proxy: { replicas } });
  await groups.waitReady(pool);
  await proxyParents(h, 'TailscaleEndpoints').create(
    user,
    { proxyGroup: pool, connectionType: 'ingress' },
    { app: user },
  );
}

export interface EchoServicesOptions {
  /** The proxies' label (app: `selects`): TailscaleEndpoints made by poolWithEndpoints, or `proxies`. */
  selects: string;
  /** Also create TailscaleEndpoints `<name>-proxies` with this many replicas of their own. */
  proxies?: number;
  tags?: string[];
  /** VIP port → the echo backend's `http` or `raw` port. Default: 80 over HTTP. */
  ports?: { port: number; servicePort: 'http' | 'raw'; mode: 'http' | 'tcp' }[];
}

/** A TailscaleServices `svc:<name>` on the selected proxies, serving the echo backend. */
export async function createEchoServices(h: ProxyHarness, name: string, opts: EchoServicesOptions) {
  const ports = opts.ports ?? [{ port: 80, servicePort: 'http', mode: 'http' }];
  if (opts.proxies !== undefined) {
    await proxyParents(h, 'TailscaleEndpoints').create(
      `${name}-proxies`,
      { proxy: { replicas: opts.proxies } },
      { app: opts.selects },
    );
  }
  await createTailscaleServices(h.kc, {
    namespace: h.namespace,
    name,
    labels: h.operator.labels,
    spec: {
      tailnet: h.tailnet.name,
      selector: { matchLabels: { app: opts.selects } },
      vipService: {
        name: `svc:${name}`,
        ports: ports.map((p) => `tcp:${p.port}`),
        tags: opts.tags ?? ['tag:web'],
      },
      backend: { serviceName: echoBackendService, ports },
    },
  });
}

/** Where the stand-in tailnet client reaches the service's IPv4 VIP address, once it has one. */
export async function vipAddressOf(h: ProxyHarness, name: string): Promise<string> {
  return loopbackFor(
    await eventually(
      `${name} has a VIP address`,
      async () => (await servicesOf(h, name)).status?.vipService?.addresses?.find((a) => !a.includes(':')),
      { timeoutMs: 120_000 },
    ),
  );
}
