/**
 * A real echo backend behind a Kubernetes Service `web-backend` (ports `http` 8080, `raw` 9000), for the
 * data-path tests and bench/data-path.ts. No kubelet or kube-proxy runs here: the stand-in resolves the
 * Service through the EndpointSlice written here, and the endpoint 10.250.<octet>.1 through the box's
 * address rule (loopbackFor) to the server.
 */
import { CoreV1Api, DiscoveryV1Api, type KubeConfig } from '@kubernetes/client-node';
import { startEchoServer, type EchoServer } from './echo-server';

export const echoBackendService = 'web-backend';
/** The Service's port numbers by name. */
export const echoBackendPorts = { http: 8080, raw: 9000 } as const;

export async function startEchoBackend(
  kc: KubeConfig,
  namespace: string,
  octet: number,
): Promise<EchoServer> {
  const backend = await startEchoServer({
    name: echoBackendService,
    http: `127.250.${octet}.1:0`,
    tcp: `127.250.${octet}.1:0`,
  });
  await kc.makeApiClient(CoreV1Api).createNamespacedService({
    namespace,
    body: {
      metadata: { name: echoBackendService },
      spec: {
        ports: [
          { name: 'http', port: echoBackendPorts.http, targetPort: 'http' },
          { name: 'raw', port: echoBackendPorts.raw, targetPort: 'raw' },
        ],
      },
    },
  });
  await kc.makeApiClient(DiscoveryV1Api).createNamespacedEndpointSlice({
    namespace,
    body: {
      metadata: {
        name: `${echoBackendService}-1`,
        labels: { 'kubernetes.io/service-name': echoBackendService },
      },
      addressType: 'IPv4',
      ports: [
        { name: 'http', port: Number(backend.http!.split(':')[1]), protocol: 'TCP' },
        { name: 'raw', port: Number(backend.tcp!.split(':')[1]), protocol: 'TCP' },
      ],
      endpoints: [{ addresses: [`10.250.${octet}.1`], conditions: { ready: true } }],
    },
  });
  return backend;
}
