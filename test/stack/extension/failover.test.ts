import { proxiesOf } from '../../support/proxies';
import type * as grpc from '@grpc/grpc-js';
import { join } from 'node:path';
import type { TailscaleServices } from '../../../api/v1alpha1';
import { clusterCodec, rpcCodecs } from '../../../extension/codec';
import { egCustomBackendCluster, extensionResource } from '../../extension/fixtures';
import { callHook, hookClient } from '../../extension/grpc-client';
import { eventually } from '../../support/eventually';
import { startExtensionProcess, type ExtensionProcess } from '../../support/extension-process';
import { createTailscaleServices } from '../../support/objects';
import { uniqueName } from '../../support/stack';
import {
  group,
  proxyParents,
  startProxyHarness,
  version,
  type ProxyHarness,
} from '../workflows/tailscale-endpoints-harness';
import { conditionOf, isConditionTrue } from '../../support/conditions';

interface Tier {
  priority: number;
  tier: string | undefined;
  addresses: string[];
}

/**
 * A failing local backend moves to priority 2, end to end: the real operator (worker + watchers on the
 * Temporal dev server and the kube-apiserver) brings a TailscaleServices Ready over two TailscaleEndpoints
 * whose devices the proxy simulator registers in the Tailscale simulator over HTTP; the extension server
 * process indexes what the workflows publish. A replica is then killed and kept down: its device goes
 * offline in the Tailscale simulator, the operator's device refresh publishes that, and the next
 * PostClusterModify demotes that proxy, and only that one.
 */
describe('extension failover driven by the real operator loop', () => {
  let h: ProxyHarness;
  let endpoints: ReturnType<typeof proxyParents>;
  let extension: ExtensionProcess;
  let client: grpc.Client;

  beforeAll(async () => {
    h = await startProxyHarness('ext-failover');
    endpoints = proxyParents(h, 'TailscaleEndpoints');
    extension = await startExtensionProcess({
      namespace: h.namespace,
      logFile: join(h.operator.logDir, 'extension.log'),
      env: { WATCH_LABEL_SELECTOR: h.operator.labelSelector },
    });
    client = hookClient(extension.grpcPort);
  }, 120_000);

  afterAll(async () => {
    client?.close();
    await extension?.process.stop();
    await h?.close();
  });

  const getServices = async (name: string) =>
    (await h.objects.getNamespacedCustomObject({
      group,
      version,
      namespace: h.namespace,
      plural: 'tailscaleservices',
      name,
    })) as TailscaleServices;

  /** What Envoy Gateway sends for a route rule whose backendRef is the TailscaleServices, and our answer. */
  const clusterTiers = async (services: string): Promise<Tier[]> => {
    const request = rpcCodecs.PostClusterModify.request.encode({
      cluster: egCustomBackendCluster(`httproute/${h.namespace}/web/rule/0`),
      postClusterContext: {
        backendExtensionResources: [
          extensionResource({
            apiVersion: `${group}/${version}`,
            kind: 'TailscaleServices',
            metadata: { name: services, namespace: h.namespace },
          }),
        ],
      },
    });
    const response = rpcCodecs.PostClusterModify.response.decode(
      await callHook(client, 'PostClusterModify', request),
    );
    const cluster = clusterCodec.decode(response.cluster!);
    return (cluster.loadAssignment?.endpoints ?? []).map((l) => ({
      priority: l.priority ?? 0,
      tier: l.locality?.subZone,
      addresses: l.lbEndpoints.map((e) => e.endpoint.address.socketAddress.address),
    }));
  };

  /** The DNS name of a pod of the proxies of TailscaleEndpoints `name` (in the operator namespace). */
  const local = (name: string, replica = 0) => {
    const p = proxiesOf(h.namespace, name);
    return `${p.name}-${replica}.${p.name}.${p.namespace}.svc.cluster.local`;
  };

  const createServices = async (app: string) => {
    const name = uniqueName('web');
    await createTailscaleServices(h.kc, {
      namespace: h.namespace,
      name,
      labels: h.operator.labels,
      spec: {
        tailnet: h.tailnet.name,
        selector: { matchLabels: { app } },
        vipService: { ports: ['tcp:8080'], tags: ['tag:k8s'] },
      },
    });
    return name;
  };

  it('puts a proxy whose device went offline at priority 2, and back at 0 once it is up again', async () => {
    const app = uniqueName('app');
    const [a, b] = [uniqueName('a'), uniqueName('b')];
    for (const name of [a, b]) {
      await endpoints.create(name, { proxy: { replicas: 1 }, ports: [{ port: 8080 }] }, { app });
    }
    await endpoints.waitReady(a);
    await endpoints.waitReady(b);

    const services = await createServices(app);
    const ready = await eventually(
      'TailscaleServices Ready with both endpoints selected and ready',
      async () => {
        const svc = await getServices(services);
        const readyCondition = conditionOf(svc);
        return readyCondition?.status === 'True' &&
          svc.status?.selectedEndpoints?.length === 2 &&
          svc.status.selectedEndpoints.every((e) => e.ready)
          ? svc
          : undefined;
      },
      { timeoutMs: 60_000 },
    );
    const vip = ready.status?.vipService?.addresses?.find((address) => !address.includes(':'));
    expect(vip).toBeDefined();

    const healthy: Tier[] = [
      { priority: 0, tier: 'healthy-local', addresses: [local(a), local(b)] },
      { priority: 1, tier: 'healthy-remote', addresses: [vip!] },
    ];
    // The index follows the API server's watch events: poll until the hook answers from them.
    await eventually('both proxies at priority 0 in the hook answer', async () =>
      JSON.stringify(await clusterTiers(services)) === JSON.stringify(healthy) ? true : undefined,
    );
    expect(await clusterTiers(services)).toEqual(healthy);

    // A real failure: b's pod is deleted and stays down, so its device goes offline in the Tailscale
    // simulator; nothing here writes a status.
    await h.proxies.killReplica(proxiesOf(h.namespace, b).namespace, proxiesOf(h.namespace, b).name, 0, {
      restart: false,
    });
    const demoted = await eventually(
      `${b}-0 at priority 2 in the next hook call`,
      async () => {
        const tiers = await clusterTiers(services);
        return tiers.some((t) => t.priority === 2 && t.addresses.includes(local(b))) ? tiers : undefined;
      },
      { timeoutMs: 90_000 },
    );
    expect(demoted).toEqual([
      { priority: 0, tier: 'healthy-local', addresses: [local(a)] },
      { priority: 1, tier: 'healthy-remote', addresses: [vip!] },
      { priority: 2, tier: 'unhealthy-local', addresses: [local(b)] },
    ]);
    // What the operator observed and published, the only input the extension had.
    const device = (await endpoints.get(b)).status?.devices?.find(
      (d) => d.statefulSetPod === `${proxiesOf(h.namespace, b).name}-0`,
    );
    expect(device).toMatchObject({ online: false, connected: false });

    h.proxies.restartReplica(proxiesOf(h.namespace, b).namespace, proxiesOf(h.namespace, b).name, 0);
    await eventually(
      `${b}-0 back at priority 0`,
      async () =>
        JSON.stringify(await clusterTiers(services)) === JSON.stringify(healthy) ? true : undefined,
      { timeoutMs: 90_000 },
    );
  }, 300_000);
  it('demotes only the failed replica of an endpoints object, though the object is no longer Ready', async () => {
    const app = uniqueName('app');
    const pool = uniqueName('c');
    await endpoints.create(pool, { proxy: { replicas: 2 }, ports: [{ port: 8080 }] }, { app });
    await endpoints.waitReady(pool);
    const services = await createServices(app);
    const vip = await eventually('TailscaleServices Ready with its VIP address', async () => {
      const svc = await getServices(services);
      const readyNow = isConditionTrue(svc);
      return readyNow && svc.status?.selectedEndpoints?.[0]?.ready
        ? svc.status.vipService?.addresses?.find((address) => !address.includes(':'))
        : undefined;
    });
    const healthy: Tier[] = [
      {
        priority: 0,
        tier: 'healthy-local',
        addresses: [local(pool, 0), local(pool, 1)],
      },
      { priority: 1, tier: 'healthy-remote', addresses: [vip] },
    ];
    await eventually('both replicas at priority 0 in the hook answer', async () =>
      JSON.stringify(await clusterTiers(services)) === JSON.stringify(healthy) ? true : undefined,
    );

    const pooled = proxiesOf(h.namespace, pool);
    await h.proxies.killReplica(pooled.namespace, pooled.name, 1, { restart: false });
    // The object turns not Ready (1 of 2 devices) and the services' status says so: the state in which a
    // healthy sibling was once demoted with the failed replica.
    await eventually(
      `${pool} published as not ready in the services' status`,
      async () =>
        (await getServices(services)).status?.selectedEndpoints?.[0]?.ready === false ? true : undefined,
      { timeoutMs: 90_000 },
    );
    const expected: Tier[] = [
      { priority: 0, tier: 'healthy-local', addresses: [local(pool, 0)] },
      { priority: 1, tier: 'healthy-remote', addresses: [vip] },
      { priority: 2, tier: 'unhealthy-local', addresses: [local(pool, 1)] },
    ];
    let seen: Tier[] = [];
    await eventually('only the failed replica at priority 2', async () => {
      seen = await clusterTiers(services);
      return JSON.stringify(seen) === JSON.stringify(expected) ? true : undefined;
    }).catch(() => undefined);
    expect(seen).toEqual(expected);
  }, 300_000);
});
