/**
 * Issue 14 (d) and (e): bytes from the endpoint a real Envoy Gateway publishes to the tailnet target.
 * Nothing here is written by hand between the user's objects and the socket: the operator renders the
 * proxies and their egress config from spec.egress, the proxy simulator plays tailscaled with that config,
 * the extension server (its own process, as deployed) builds the cluster from what the workflows
 * published, EG v1.9 translates an HTTPRoute with the TailscaleEndpoints backendRef and serves the cluster
 * over ADS. The test connects where that cluster says, as Envoy would, and the answer must come from the
 * target's server (its name; it listens only on the target device's address) through the proxy the
 * endpoint names (the source the target sees is that proxy's tailnet address).
 */
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import type { DeviceStatus } from '../../../api/v1alpha1/proxy';
import type { EgressStatus } from '../../../api/v1alpha1/tailscale-endpoints';
import { createAuthKey } from '../../../activities/tailscale/keys';
import { DiscoveryType } from '../../../extension/envoy-types';
import { loopbackFor } from '../../../simulators/proxy/dataplane/addresses';
import { startEchoServer, type EchoServer } from '../../../tools/echo-server';
import {
  envoyGatewayLockWaitMs,
  startEnvoyGateway,
  type EnvoyGateway,
} from '../../../tools/stack/envoy-gateway';
import { echoGet } from '../../support/echo-client';
import { eventually } from '../../support/eventually';
import { startExtensionProcess, type ExtensionProcess } from '../../support/extension-process';
import { stackInfo, uniqueName } from '../../support/stack';
import {
  group,
  proxyParents,
  startProxyHarness,
  type ProxyHarness,
} from '../workflows/tailscale-endpoints-harness';
import { egGatewayClass, publishedClusters, shippedExtensionManager, socketAddresses } from './eg-fixture';

type Published = { status?: { egress?: EgressStatus; devices?: DeviceStatus[] } };

/** A tailnet device whose server answers as `name`, on its own tailnet address only (loopbackFor). */
interface TailnetTarget {
  name: string;
  ip: string;
  port: number;
  server: EchoServer;
}

describe('Envoy Gateway v1.9 (real): the egress endpoint it publishes over xDS reaches the tailnet target', () => {
  let h: ProxyHarness;
  let extension: ExtensionProcess | undefined;
  let eg: EnvoyGateway | undefined;
  const targets: TailnetTarget[] = [];
  // (d) proxies of its own; (e) the pool of a TailscaleProxyGroup.
  const direct = uniqueName('db');
  const pool = uniqueName('pool');
  const pooled = uniqueName('cache');

  const startTarget = async (name: string): Promise<TailnetTarget> => {
    const key = await createAuthKey(h.tailnet.api, { preauthorized: true, tags: ['tag:k8s'] });
    const device = await h.tailnet.sim.admin.registerDevice({ authKey: key.key, hostname: name });
    const ip = device.addresses[0]!;
    const server = await startEchoServer({ name, http: `${loopbackFor(ip)}:0` });
    const target = { name, ip, port: Number(server.http!.split(':').pop()), server };
    targets.push(target);
    return target;
  };

  beforeAll(async () => {
    h = await startProxyHarness('eg-egress');
    const endpoints = proxyParents(h, 'TailscaleEndpoints');
    const groups = proxyParents(h, 'TailscaleProxyGroup');
    const db = await startTarget(uniqueName('db-server'));
    const cache = await startTarget(uniqueName('cache-server'));

    // (d) by MagicDNS host name, (e) by tailnet IP: the two ways a device target is named.
    await endpoints.create(direct, {
      connectionType: 'egress',
      proxy: { replicas: 1 },
      ports: [{ port: 80 }],
      egress: { tailnetTarget: { host: db.name }, ports: [{ port: 80, targetPort: db.port }] },
    });
    await groups.create(pool, { type: 'egress', proxy: { replicas: 2 } });
    await endpoints.create(pooled, {
      proxyGroup: pool,
      connectionType: 'egress',
      ports: [{ port: 80 }],
      egress: { tailnetTarget: { ip: cache.ip }, ports: [{ port: 80, targetPort: cache.port }] },
    });
    await endpoints.waitReady(direct);
    await groups.waitReady(pool);
    await eventually('the pooled endpoints publish status.egress', async () => {
      const obj = (await endpoints.get(pooled)) as Published;
      return obj.status?.egress;
    });

    // EG re-translates only on a generation change, so it starts once the workflows have published.
    extension = await startExtensionProcess({
      namespace: h.namespace,
      logFile: join(h.operator.logDir, 'extension.log'),
    });
    const backendObject = async (name: string) => {
      const obj = await endpoints.get(name);
      return {
        apiVersion: obj.apiVersion,
        kind: obj.kind,
        metadata: { name, namespace: h.namespace },
        spec: obj.spec,
      };
    };
    const route = (name: string) => ({
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name, namespace: h.namespace },
      spec: {
        parentRefs: [{ name: 'eg', sectionName: 'http' }],
        rules: [{ backendRefs: [{ group, kind: 'TailscaleEndpoints', name, port: 80 }] }],
      },
    });
    eg = await startEnvoyGateway({
      dir: mkdtempSync(join(stackInfo().dir, 'envoy-gateway-egress-')),
      extensionPort: extension.grpcPort,
      extensionManager: shippedExtensionManager(),
      resources: [
        egGatewayClass,
        {
          apiVersion: 'gateway.networking.k8s.io/v1',
          kind: 'Gateway',
          metadata: { name: 'eg', namespace: h.namespace },
          spec: { gatewayClassName: 'eg', listeners: [{ name: 'http', protocol: 'HTTP', port: 8080 }] },
        },
        route(direct),
        route(pooled),
        await backendObject(direct),
        await backendObject(pooled),
      ],
    });
  }, envoyGatewayLockWaitMs + 240_000);

  afterAll(async () => {
    await eg?.stop();
    await extension?.process.stop();
    await Promise.all(targets.map((t) => t.server.close()));
    await h?.close();
  });

  /** The endpoints EG serves for the route's cluster, once it serves that cluster. */
  const publishedEndpoints = (route: string) =>
    eventually(
      `EG publishes the cluster of HTTPRoute ${route}`,
      async () => {
        const cluster = (await publishedClusters(eg!, h.namespace)).find(
          (c) => c.name === `httproute/${h.namespace}/${route}/rule/0`,
        );
        const addresses = cluster && socketAddresses(cluster)?.flatMap((l) => l.addresses);
        return cluster && addresses?.length ? { cluster, addresses } : undefined;
      },
      { timeoutMs: 60_000 },
    );

  /** `<tailnet IPv4 on loopback>` of each Ready proxy by its pod IP, from the status of its parent. */
  const proxiesByPodIP = async (plural: string, name: string) => {
    const obj = (await h.objects.getNamespacedCustomObject({
      group,
      version: 'v1alpha1',
      namespace: h.namespace,
      plural,
      name,
    })) as Published;
    return new Map(
      (obj.status?.devices ?? []).flatMap((d) => {
        const ip = d.tailscaleIPs?.find((a) => !a.includes(':'));
        return d.podIP && ip ? [[d.podIP, loopbackFor(ip)] as const] : [];
      }),
    );
  };

  /** An HTTP request to each published endpoint: who answered, and whom it saw connecting. */
  const sendThrough = async (addresses: { address: string; portValue?: number }[], path: string) =>
    Promise.all(
      addresses.map(async (a) => {
        const { answer } = await echoGet({ host: loopbackFor(a.address), port: a.portValue!, path });
        return { podIP: a.address, server: answer.server, path: answer.path, remote: answer.remote };
      }),
    );

  it('(d) a route to TailscaleEndpoints with spec.egress: each <pod IP>:<port> EG publishes answers from the target, through that proxy', async () => {
    const { cluster, addresses } = await publishedEndpoints(direct);
    expect(cluster.type ?? DiscoveryType.STATIC).toBe(DiscoveryType.STATIC);
    const proxies = await proxiesByPodIP('tailscaleendpoints', direct);
    expect(addresses.map((a) => a.address).sort()).toEqual([...proxies.keys()].sort());
    expect(proxies.size).toBe(1);

    const answers = await sendThrough(addresses, '/through-envoy-gateway');
    expect(answers).toEqual(
      addresses.map((a) => ({
        podIP: a.address,
        server: targets[0]!.name,
        path: '/through-envoy-gateway',
        remote: proxies.get(a.address),
      })),
    );
  });

  it('(e) a route to TailscaleEndpoints on a TailscaleProxyGroup: every pool replica EG publishes carries it to the target', async () => {
    const { cluster, addresses } = await publishedEndpoints(pooled);
    expect(cluster.type ?? DiscoveryType.STATIC).toBe(DiscoveryType.STATIC);
    const proxies = await proxiesByPodIP('tailscaleproxygroups', pool);
    expect(proxies.size).toBe(2);
    expect(addresses.map((a) => a.address).sort()).toEqual([...proxies.keys()].sort());

    const answers = await sendThrough(addresses, '/through-the-pool');
    expect(answers).toEqual(
      addresses.map((a) => ({
        podIP: a.address,
        server: targets[1]!.name,
        path: '/through-the-pool',
        remote: proxies.get(a.address),
      })),
    );
    expect(new Set(answers.map((a) => a.remote)).size).toBe(2);
  });
});
