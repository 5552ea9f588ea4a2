/**
 * The backend of the examples' `web` VIP service for the local stack: a real echo server on loopback, and
 * the EndpointSlice that points the `web-backend` Service (examples/04-services.yaml) at it. No kubelet
 * runs here, so the slice is written by hand with the address the proxy simulator maps to the server
 * (10.250.80.1 → 127.250.80.1, simulators/proxy/README.md).
 */
import { CustomObjectsApi, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import type { TailscaleEndpoints } from '../api/v1alpha1/tailscale-endpoints';
import type { TailscaleServices } from '../api/v1alpha1/tailscale-services';
import { loopbackFor } from '../simulators/proxy/dataplane/addresses';
import type { TailscaleSimulatorAdmin } from '../simulators/tailscale/admin';
import { startEchoServer, type EchoServer } from './echo-server';
import { applyManifests } from './stack/apply';

const namespace = 'tailscale-gateway';
const clusterAddress = '10.250.80.1';

export async function startExampleBackend(kc: KubeConfig): Promise<EchoServer> {
  const server = await startEchoServer({ name: 'web-backend', http: `${loopbackFor(clusterAddress)}:0` });
  const slice: KubernetesObject & Record<string, unknown> = {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: 'web-backend-local',
      namespace,
      labels: { 'kubernetes.io/service-name': 'web-backend' },
    },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: Number(server.http!.split(':').pop()), protocol: 'TCP' }],
    endpoints: [{ addresses: [clusterAddress], conditions: { ready: true } }],
  };
  await applyManifests(kc, [slice]);
  return server;
}

/**
 * The egress example's target (examples/09-egress.yaml): an echo server as the backend of the tailnet
 * device `web-service` on port 8080, listening where the box puts that device (loopbackFor its IP).
 */
export async function startEgressTarget(
  admin: Pick<TailscaleSimulatorAdmin, 'dumpState'>,
): Promise<EchoServer> {
  const device = (await admin.dumpState()).tailnets
    .flatMap((t) => t.devices)
    .find((d) => d.hostname === 'web-service');
  if (!device) throw new Error('the example tailnet has no device web-service');
  return startEchoServer({ name: 'web-service', http: `${loopbackFor(device.addresses[0])}:8080` });
}

/** Polls `read` every 500 ms until it returns something or `timeoutMs` passes; errors count as nothing yet. */
async function poll<T>(read: () => Promise<T | undefined>, timeoutMs: number): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const value = await read();
      if (value !== undefined) return value;
    } catch {
      // Not created or not reconciled yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return undefined;
}

const getExample = (kc: KubeConfig, plural: string, name: string) =>
  kc.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({
    group: 'gateway.tailscale.com',
    version: 'v1alpha1',
    namespace,
    plural,
    name,
  });

/** The loopback address a tailnet client reaches `svc:web` at, once the service has its VIP. */
export function exampleBackendVip(kc: KubeConfig, timeoutMs: number): Promise<string | undefined> {
  return poll(async () => {
    const web = (await getExample(kc, 'tailscaleservices', 'web')) as TailscaleServices;
    const ipv4 = web.status?.vipService?.addresses?.find((a) => !a.includes(':'));
    return ipv4 ? loopbackFor(ipv4) : undefined;
  }, timeoutMs);
}

/**
 * `host:port` of a Ready `web-service` proxy's egress port on the box: what the extension server gives
 * Envoy for a route to TailscaleEndpoints web-service (`<pod IP>:<matchPort>`), on loopback.
 */
export function exampleEgressAddress(kc: KubeConfig, timeoutMs: number): Promise<string | undefined> {
  return poll(async () => {
    const ep = (await getExample(kc, 'tailscaleendpoints', 'web-service')) as TailscaleEndpoints;
    const matchPort = ep.status?.egress?.ports[0]?.matchPort;
    const podIP = ep.status?.devices?.find((d) => d.podIP)?.podIP;
    return matchPort && podIP ? `${loopbackFor(podIP)}:${matchPort}` : undefined;
  }, timeoutMs);
}
