import type * as grpc from '@grpc/grpc-js';
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { BackendIndex } from '../../../extension/backend-index';
import { clusterCodec, peekStringField, rpcCodecs, type HookName } from '../../../extension/codec';
import { DiscoveryType } from '../../../extension/envoy-types';
import { HookHealth } from '../../../extension/health';
import { IndexFeed } from '../../../extension/index-feed';
import { createExtensionMetrics } from '../../../extension/metrics';
import { createExtensionServer, listen } from '../../../extension/server';
import { createLogger } from '../../../runtime/logger';
import { startEnvoyGateway, type EnvoyGateway } from '../../../tools/stack/envoy-gateway';
import { eventually } from '../../support/eventually';
import { createTestNamespace, stackInfo, testKubeConfig } from '../../support/stack';

const group = 'gateway.tailscale.com';
const version = 'v1alpha1';
const ready = {
  type: 'Ready',
  status: 'True',
  reason: 'Ready',
  message: '',
  lastTransitionTime: '2026-01-01T00:00:00Z',
};

interface Call {
  hook: HookName;
  request: Buffer;
  response: Buffer | undefined;
}

/**
 * A real Envoy Gateway (built from its Go module by tools/setup.sh) translates a Gateway + HTTPRoute whose
 * backendRef is a TailscaleServices, calling our server on loopback; the index behind the server is
 * fed from the real API server, as in production.
 */
describe('Envoy Gateway v1.9 (real, standalone) calls the extension server', () => {
  let kc: KubeConfig;
  let namespace: string;
  let index: BackendIndex;
  let feed: IndexFeed;
  let server: grpc.Server;
  let eg: EnvoyGateway | undefined;
  const calls: Call[] = [];

  beforeAll(async () => {
    kc = testKubeConfig();
    namespace = await createTestNamespace(kc, 'ext-eg');
    const objects = kc.makeApiClient(CustomObjectsApi);
    await objects.createNamespacedCustomObject({
      group,
      version,
      namespace,
      plural: 'tailscaleendpoints',
      body: {
        apiVersion: `${group}/${version}`,
        kind: 'TailscaleEndpoints',
        metadata: { name: 'web-ep', labels: { app: 'web' } },
        spec: { tailnet: 'corp', tags: ['tag:web'], connectionType: 'egress', ports: [{ port: 8080 }] },
      },
    });
    const ep = (await objects.getNamespacedCustomObject({
      group,
      version,
      namespace,
      plural: 'tailscaleendpoints',
      name: 'web-ep',
    })) as Record<string, unknown>;
    await objects.replaceNamespacedCustomObjectStatus({
      group,
      version,
      namespace,
      plural: 'tailscaleendpoints',
      name: 'web-ep',
      body: {
        ...ep,
        status: {
          conditions: [ready],
          devices: [
            { hostname: 'web-ep-0', statefulSetPod: 'web-ep-0', tailscaleIPs: ['100.64.0.10'], online: true },
          ],
          statefulSets: [{ name: 'web-ep', replicas: 1, readyReplicas: 1, service: 'web-ep' }],
        },
      },
    });
    const services = {
      apiVersion: `${group}/${version}`,
      kind: 'TailscaleServices',
      metadata: { name: 'web', namespace },
      spec: {
        tailnet: 'corp',
        selector: { matchLabels: { app: 'web' } },
        vipService: { ports: ['tcp:8080'], tags: ['tag:web'] },
      },
    };
    await objects.createNamespacedCustomObject({
      group,
      version,
      namespace,
      plural: 'tailscaleservices',
      body: services,
    });
    const svc = (await objects.getNamespacedCustomObject({
      group,
      version,
      namespace,
      plural: 'tailscaleservices',
      name: 'web',
    })) as Record<string, unknown>;
    await objects.replaceNamespacedCustomObjectStatus({
      group,
      version,
      namespace,
      plural: 'tailscaleservices',
      name: 'web',
      body: {
        ...svc,
        status: {
          conditions: [ready],
          vipService: { name: 'svc:web', addresses: ['100.100.7.1'] },
          selectedEndpoints: [{ name: 'web-ep', ready: true }],
        },
      },
    });

    index = new BackendIndex();
    const logger = createLogger({ level: 'warn' });
    feed = new IndexFeed({
      kc,
      index,
      logger,
      clusterDomain: 'cluster.local',
      resyncIntervalMs: 60_000,
      namespaces: [namespace],
    });
    feed.start();
    await eventually('index has the VIP', () =>
      Promise.resolve(
        index.current().backend('TailscaleServices', namespace, 'web')?.endpoints.length === 2
          ? true
          : undefined,
      ),
    );
    const metrics = createExtensionMetrics({
      size: () => 0,
      ageSeconds: () => 0,
      version: () => 0,
      loaded: () => true,
    });
    const health = new HookHealth({ windowMs: 60_000, maxFailureRatio: 0.1, staleAfterMs: 600_000 });
    server = createExtensionServer({
      index,
      logger,
      clusterDomain: 'cluster.local',
      metrics,
      health,
      maxMessageBytes: 16 << 20,
      observer: (hook, request, response) => calls.push({ hook, request, response }),
    });
    const port = await listen(server, '127.0.0.1:0');

    eg = await startEnvoyGateway({
      dir: mkdtempSync(join(stackInfo().dir, 'envoy-gateway-')),
      extensionPort: port,
      extensionManager: {
        backendResources: [
          { group, version, kind: 'TailscaleServices' },
          { group, version, kind: 'TailscaleEndpoints' },
        ],
        hooks: {
          xdsTranslator: {
            post: ['Route', 'VirtualHost', 'HTTPListener', 'Cluster', 'Translation'],
            translation: {
              listener: { includeAll: true },
              route: { includeAll: true },
              cluster: { includeAll: true },
              secret: { includeAll: false },
            },
          },
        },
        failOpen: false,
      },
      resources: [
        {
          apiVersion: 'gateway.networking.k8s.io/v1',
          kind: 'GatewayClass',
          metadata: { name: 'eg' },
          spec: { controllerName: 'gateway.envoyproxy.io/gatewayclass-controller' },
        },
        {
          apiVersion: 'gateway.networking.k8s.io/v1',
          kind: 'Gateway',
          metadata: { name: 'eg', namespace },
          spec: { gatewayClassName: 'eg', listeners: [{ name: 'http', protocol: 'HTTP', port: 8080 }] },
        },
        {
          apiVersion: 'gateway.networking.k8s.io/v1',
          kind: 'HTTPRoute',
          metadata: { name: 'web', namespace },
          spec: {
            parentRefs: [{ name: 'eg' }],
            hostnames: ['www.example.com'],
            rules: [{ backendRefs: [{ group, kind: 'TailscaleServices', name: 'web', port: 8080 }] }],
          },
        },
        services,
      ],
    });
    await eventually(
      'a PostTranslateModify call',
      () => Promise.resolve(calls.some((c) => c.hook === 'PostTranslateModify') ? true : undefined),
      { timeoutMs: 60_000 },
    );
  }, 180_000);

  afterAll(async () => {
    await eg?.stop();
    server?.forceShutdown();
    await feed?.stop();
  });

  const callsOf = (hook: HookName) => calls.filter((c) => c.hook === hook);

  it('sends PostClusterModify for the route rule with the TailscaleServices as JSON, and gets back a STRICT_DNS cluster', () => {
    const [call] = callsOf('PostClusterModify');
    expect(call).toBeDefined();
    const req = rpcCodecs.PostClusterModify.request.decode(call!.request);
    const sent = clusterCodec.decode(req.cluster!);
    expect(sent.name).toBe(`httproute/${namespace}/web/rule/0`);
    expect(sent.type).toBe(DiscoveryType.EDS);
    const resources = (req.postClusterContext?.backendExtensionResources ?? []).map(
      (r) =>
        JSON.parse(Buffer.from(r.unstructuredBytes).toString()) as {
          kind: string;
          metadata: { name: string };
        },
    );
    expect(resources.map((r) => [r.kind, r.metadata.name])).toEqual([['TailscaleServices', 'web']]);

    const returned = clusterCodec.decode(
      rpcCodecs.PostClusterModify.response.decode(call!.response!).cluster!,
    );
    expect(returned.type).toBe(DiscoveryType.STRICT_DNS);
    expect(
      returned.loadAssignment?.endpoints?.map((l) =>
        l.lbEndpoints.map((e) => e.endpoint.address.socketAddress),
      ),
    ).toEqual([
      [{ address: `web-ep-0.web-ep.${namespace}.svc.cluster.local`, portValue: 8080 }],
      [{ address: '100.100.7.1', portValue: 8080 }],
    ]);
  });

  it('calls the route, virtual host and listener hooks, and PostTranslateModify without secrets', () => {
    const route = rpcCodecs.PostRouteModify.request.decode(callsOf('PostRouteModify')[0]!.request);
    expect(peekStringField(route.route!, 14)).toBe(
      `httproute/${namespace}/web/rule/0/match/0/www_example_com`,
    );
    expect(callsOf('PostVirtualHostModify').length).toBeGreaterThan(0);
    expect(callsOf('PostHTTPListenerModify').length).toBeGreaterThan(0);
    const translate = rpcCodecs.PostTranslateModify.request.decode(
      callsOf('PostTranslateModify')[0]!.request,
    );
    expect((translate.clusters ?? []).map((c) => peekStringField(c, 1))).toContain(
      `httproute/${namespace}/web/rule/0`,
    );
    expect(translate.secrets ?? []).toEqual([]);
    expect((translate.listeners ?? []).length).toBeGreaterThan(0);
  });

  it('logs no extension error and publishes the translation', () => {
    const log = eg!.log();
    expect(log).not.toMatch(
      /Extension Manager .* failure|skipped publishing xds resources|extension server/i,
    );
    expect(log).toMatch(/translated|xds/i);
  });
});
