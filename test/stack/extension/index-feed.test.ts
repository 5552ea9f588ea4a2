import type * as grpc from '@grpc/grpc-js';
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { BackendIndex } from '../../../extension/backend-index';
import { clusterCodec, rpcCodecs } from '../../../extension/codec';
import { HookHealth } from '../../../extension/health';
import { IndexFeed } from '../../../extension/index-feed';
import { createExtensionMetrics } from '../../../extension/metrics';
import { createExtensionServer, listen } from '../../../extension/server';
import { createLogger } from '../../../runtime/logger';
import { egCustomBackendCluster, extensionResource } from '../../extension/fixtures';
import { callHook, hookClient } from '../../extension/grpc-client';
import { eventually } from '../../support/eventually';
import { createTestNamespace, testKubeConfig } from '../../support/stack';
import { writeStatus as writeObjectStatus } from '../../support/objects';

const group = 'gateway.tailscale.com';
const version = 'v1alpha1';
const readyCondition = {
  type: 'Ready',
  status: 'True',
  reason: 'Ready',
  message: 'VIP service published',
  lastTransitionTime: '2026-01-01T00:00:00Z',
};

describe('extension index follows the status the workflows publish in the real API server', () => {
  let kc: KubeConfig;
  let objects: CustomObjectsApi;
  let namespace: string;
  let index: BackendIndex;
  let feed: IndexFeed;
  let server: grpc.Server;
  let client: grpc.Client;

  beforeAll(async () => {
    kc = testKubeConfig();
    objects = kc.makeApiClient(CustomObjectsApi);
    namespace = await createTestNamespace(kc, 'ext-index');
    index = new BackendIndex();
    const logger = createLogger({ level: 'warn' });
    feed = new IndexFeed({
      kc,
      index,
      logger,
      clusterDomain: 'cluster.local',
      resyncIntervalMs: 60_000,
      namespaces: [namespace],
      coalesceMs: 5,
    });
    const metrics = createExtensionMetrics({
      size: () => index.current().size,
      ageSeconds: () => index.ageMs() / 1000,
      version: () => index.current().version,
      loaded: () => index.loaded,
    });
    const health = new HookHealth({ windowMs: 60_000, maxFailureRatio: 0.1, staleAfterMs: 600_000 });
    server = createExtensionServer({
      index,
      logger,
      clusterDomain: 'cluster.local',
      metrics,
      health,
      maxMessageBytes: 4 << 20,
    });
    client = hookClient(await listen(server, '127.0.0.1:0'));
  });

  afterAll(async () => {
    client?.close();
    server?.forceShutdown();
    await feed?.stop();
  });

  const create = (plural: string, body: Record<string, unknown>) =>
    objects.createNamespacedCustomObject({ group, version, namespace, plural, body });

  const writeStatus = (plural: string, name: string, status: Record<string, unknown>) =>
    writeObjectStatus(kc, { namespace, plural, name }, status);

  const device = (i: number, online: boolean) => ({
    hostname: `web-ep-${i}`,
    statefulSetPod: `web-ep-${i}`,
    tailscaleIPs: [`100.64.0.${10 + i}`],
    online,
    connected: online,
  });

  const clusterFor = async (name: string) => {
    const cluster = egCustomBackendCluster(`httproute/${namespace}/web/rule/0`);
    const obj = {
      apiVersion: `${group}/${version}`,
      kind: 'TailscaleServices',
      metadata: { name, namespace },
    };
    const req = rpcCodecs.PostClusterModify.request.encode({
      cluster,
      postClusterContext: { backendExtensionResources: [extensionResource(obj)] },
    });
    const res = rpcCodecs.PostClusterModify.response.decode(await callHook(client, 'PostClusterModify', req));
    return clusterCodec.decode(res.cluster!);
  };

  const tiers = (cluster: Awaited<ReturnType<typeof clusterFor>>) =>
    (cluster.loadAssignment?.endpoints ?? []).map((l) => ({
      priority: l.priority ?? 0,
      tier: l.locality?.subZone,
      addresses: l.lbEndpoints.map((e) => e.endpoint.address.socketAddress.address),
    }));

  it('is ready only after every watched kind listed, then serves a Ready TailscaleServices as a cluster and follows failover', async () => {
    expect(index.loaded).toBe(false);
    feed.start();
    await eventually('index loaded', () => Promise.resolve(index.loaded ? true : undefined));

    await create('tailscaleendpoints', {
      apiVersion: `${group}/${version}`,
      kind: 'TailscaleEndpoints',
      metadata: { name: 'web-ep', labels: { app: 'web' } },
      spec: { tailnet: 'corp', tags: ['tag:web'], connectionType: 'egress', ports: [{ port: 8080 }] },
    });
    await create('tailscaleservices', {
      apiVersion: `${group}/${version}`,
      kind: 'TailscaleServices',
      metadata: { name: 'web' },
      spec: {
        tailnet: 'corp',
        selector: { matchLabels: { app: 'web' } },
        vipService: { ports: ['tcp:8080'], tags: ['tag:web'] },
      },
    });
    // Before the workflows publish anything, the backend is known but has no endpoints.
    await eventually('backend indexed', () =>
      Promise.resolve(index.current().backend('TailscaleServices', namespace, 'web')),
    );
    expect(tiers(await clusterFor('web'))).toEqual([]);

    // What the workflows publish: the endpoints' devices, then the VIP service and selection.
    await writeStatus('tailscaleendpoints', 'web-ep', {
      conditions: [readyCondition],
      devices: [device(0, true), device(1, true)],
      statefulSets: [{ name: 'web-ep', replicas: 2, readyReplicas: 2, service: 'web-ep' }],
    });
    await writeStatus('tailscaleservices', 'web', {
      conditions: [readyCondition],
      vipService: {
        name: 'svc:web',
        addresses: ['100.100.7.1', 'fd7a:115c:a1e0::7'],
        dnsName: 'web.tail0.ts.net',
      },
      selectedEndpoints: [{ name: 'web-ep', ready: true, devices: ['web-ep-0', 'web-ep-1'] }],
    });
    const local = (i: number) => `web-ep-${i}.web-ep.${namespace}.svc.cluster.local`;
    await eventually('VIP in the index', () =>
      Promise.resolve(
        index
          .current()
          .backend('TailscaleServices', namespace, 'web')
          ?.endpoints.some((e) => e.address === '100.100.7.1')
          ? true
          : undefined,
      ),
    );
    expect(tiers(await clusterFor('web'))).toEqual([
      { priority: 0, tier: 'healthy-local', addresses: [local(0), local(1)] },
      { priority: 1, tier: 'healthy-remote', addresses: ['100.100.7.1'] },
    ]);

    // A local proxy's device goes offline: it moves to the unhealthy-local tier, priority 2.
    await writeStatus('tailscaleendpoints', 'web-ep', {
      conditions: [readyCondition],
      devices: [device(0, true), device(1, false)],
      statefulSets: [{ name: 'web-ep', replicas: 2, readyReplicas: 1, service: 'web-ep' }],
    });
    await eventually('failover in the next hook call', async () => {
      const t = tiers(await clusterFor('web'));
      return t.length === 3 ? t : undefined;
    });
    expect(tiers(await clusterFor('web'))).toEqual([
      { priority: 0, tier: 'healthy-local', addresses: [local(0)] },
      { priority: 1, tier: 'healthy-remote', addresses: ['100.100.7.1'] },
      { priority: 2, tier: 'unhealthy-local', addresses: [local(1)] },
    ]);

    // Deleted: the index forgets it.
    await objects.deleteNamespacedCustomObject({
      group,
      version,
      namespace,
      plural: 'tailscaleservices',
      name: 'web',
    });
    await eventually('backend gone', () =>
      Promise.resolve(index.current().backend('TailscaleServices', namespace, 'web') ? undefined : true),
    );
  });
});
