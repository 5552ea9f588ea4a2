import type * as grpc from '@grpc/grpc-js';
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BackendIndex } from '../../../extension/backend-index';
import {
  clusterCodec,
  peekStringField,
  routeCodec,
  rpcCodecs,
  type HookName,
} from '../../../extension/codec';
import { DiscoveryType } from '../../../extension/envoy-types';
import { HookHealth } from '../../../extension/health';
import { IndexFeed } from '../../../extension/index-feed';
import { createExtensionMetrics } from '../../../extension/metrics';
import { createExtensionServer, listen } from '../../../extension/server';
import { createLogger } from '../../../runtime/logger';
import {
  envoyGatewayBinary,
  envoyGatewayXdsPort,
  envoyGatewayLockWaitMs,
  startEnvoyGateway,
  type EnvoyGateway,
} from '../../../tools/stack/envoy-gateway';
import { eventually } from '../../support/eventually';
import { createTestNamespace, stackInfo, testKubeConfig } from '../../support/stack';
import { clusterTypeUrl, readPublished, secretTypeUrl } from './ads-reader';
import { conditionsOf, loggedStatuses } from './eg-log';
import {
  egGatewayClass,
  publishedClusters,
  shippedExtensionManager,
  socketAddresses,
  readyCondition,
} from './eg-fixture';

const group = 'gateway.tailscale.com';
const version = 'v1alpha1';

// Where the simulated proxy pod of `db` runs and the container port its egress entry was given.
const egressPodIP = '10.244.9.10';
const egressMatchPort = 10000;

interface Call {
  hook: HookName;
  request: Buffer;
  response: Buffer | undefined;
}

/**
 * A real Envoy Gateway (built from its Go module by tools/setup.sh) translates a Gateway + HTTPRoute whose
 * backendRef is a TailscaleServices, calling our server on loopback; the index behind the server is
 * fed from the real API server, as in production. EG runs with the extensionManager block we ship, so a
 * mistake in it (a kind, a hook, an include) fails here.
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
          conditions: [readyCondition],
          devices: [
            { hostname: 'web-ep-0', statefulSetPod: 'web-ep-0', tailscaleIPs: ['100.64.0.10'], online: true },
          ],
          statefulSets: [{ name: 'web-ep', replicas: 1, readyReplicas: 1, service: 'web-ep' }],
        },
      },
    });
    // Egress: what the endpoints workflow publishes once its proxies carry db:5432 (status.egress, pod IPs).
    await objects.createNamespacedCustomObject({
      group,
      version,
      namespace,
      plural: 'tailscaleendpoints',
      body: {
        apiVersion: `${group}/${version}`,
        kind: 'TailscaleEndpoints',
        metadata: { name: 'db' },
        spec: {
          tailnet: 'corp',
          tags: ['tag:k8s'],
          connectionType: 'egress',
          ports: [{ port: 5432 }],
          egress: { tailnetTarget: { host: 'db' }, ports: [{ port: 5432 }] },
        },
      },
    });
    const db = (await objects.getNamespacedCustomObject({
      group,
      version,
      namespace,
      plural: 'tailscaleendpoints',
      name: 'db',
    })) as Record<string, unknown>;
    await objects.replaceNamespacedCustomObjectStatus({
      group,
      version,
      namespace,
      plural: 'tailscaleendpoints',
      name: 'db',
      body: {
        ...db,
        status: {
          conditions: [readyCondition],
          egress: {
            configMap: 'db-proxies',
            namespace,
            ports: [{ port: 5432, matchPort: egressMatchPort, targetPort: 5432 }],
          },
          devices: [
            {
              hostname: 'db-0',
              statefulSetPod: 'db-0',
              tailscaleIPs: ['100.64.0.20'],
              podIP: egressPodIP,
              online: true,
              connected: true,
            },
          ],
          statefulSets: [{ name: 'db', replicas: 1, readyReplicas: 1, service: 'db' }],
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
          conditions: [readyCondition],
          vipService: { name: 'svc:web', addresses: ['100.100.7.1'] },
          selectedEndpoints: [{ name: 'web-ep', ready: true }],
        },
      },
    });

    // In EG's resources only, not in the API server: the index never sees it, so the extension applies
    // it only if EG hands it over with the route (the shipped block's policyResources).
    const policy = {
      apiVersion: `${group}/${version}`,
      kind: 'TailscaleRoutePolicy',
      metadata: { name: 'web-policy', namespace },
      spec: {
        targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: 'web' }],
        rules: [{ responseHeaderModifier: { set: [{ name: 'x-served-by', value: 'eg-standalone' }] } }],
      },
    };

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
    await eventually('index has the VIP and the egress pod', () =>
      Promise.resolve(
        index.current().backend('TailscaleServices', namespace, 'web')?.endpoints.length === 2 &&
          index.current().backend('TailscaleEndpoints', namespace, 'db')?.endpoints.length === 1
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

    // A TLS listener, so that EG has a secret it could hand to PostTranslateModify; the shipped block
    // must keep it out (secret.includeAll: false). Any PEM pair EG can parse will do: certgen's own.
    const certs = mkdtempSync(join(stackInfo().dir, 'listener-cert-'));
    execFileSync(envoyGatewayBinary(), ['certgen', '--local', '--config-home', certs], { stdio: 'pipe' });
    const pem = (file: string) =>
      readFileSync(join(certs, 'certs', 'envoy-gateway', file)).toString('base64');

    eg = await startEnvoyGateway({
      dir: mkdtempSync(join(stackInfo().dir, 'envoy-gateway-')),
      extensionPort: port,
      extensionManager: shippedExtensionManager(),
      resources: [
        egGatewayClass,
        {
          apiVersion: 'gateway.networking.k8s.io/v1',
          kind: 'Gateway',
          metadata: { name: 'eg', namespace },
          spec: {
            gatewayClassName: 'eg',
            listeners: [
              { name: 'http', protocol: 'HTTP', port: 8080 },
              {
                name: 'https',
                protocol: 'HTTPS',
                port: 8443,
                tls: { mode: 'Terminate', certificateRefs: [{ kind: 'Secret', name: 'eg-tls' }] },
              },
            ],
          },
        },
        {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: 'eg-tls', namespace },
          type: 'kubernetes.io/tls',
          data: { 'tls.crt': pem('tls.crt'), 'tls.key': pem('tls.key') },
        },
        {
          apiVersion: 'gateway.networking.k8s.io/v1',
          kind: 'HTTPRoute',
          metadata: { name: 'web', namespace },
          spec: {
            parentRefs: [{ name: 'eg', sectionName: 'http' }],
            hostnames: ['www.example.com'],
            rules: [{ backendRefs: [{ group, kind: 'TailscaleServices', name: 'web', port: 8080 }] }],
          },
        },
        {
          apiVersion: 'gateway.networking.k8s.io/v1',
          kind: 'HTTPRoute',
          metadata: { name: 'db', namespace },
          spec: {
            parentRefs: [{ name: 'eg', sectionName: 'http' }],
            hostnames: ['db.example.com'],
            rules: [{ backendRefs: [{ group, kind: 'TailscaleEndpoints', name: 'db', port: 5432 }] }],
          },
        },
        { ...db, metadata: { name: 'db', namespace } },
        services,
        policy,
      ],
    });
    await eventually(
      'a PostTranslateModify call',
      () => Promise.resolve(calls.some((c) => c.hook === 'PostTranslateModify') ? true : undefined),
      { timeoutMs: 60_000 },
    );
  }, envoyGatewayLockWaitMs + 180_000);

  afterAll(async () => {
    await eg?.stop();
    server?.forceShutdown();
    await feed?.stop();
  });

  const callsOf = (hook: HookName) => calls.filter((c) => c.hook === hook);
  /** The PostClusterModify call for one route rule's cluster (there is one per route). */
  const clusterCall = (name: string) =>
    callsOf('PostClusterModify').find(
      (c) =>
        clusterCodec.decode(rpcCodecs.PostClusterModify.request.decode(c.request).cluster!).name === name,
    );
  /** The PostRouteModify call for one route. */
  const routeCall = (name: string) =>
    callsOf('PostRouteModify').find((c) =>
      (peekStringField(rpcCodecs.PostRouteModify.request.decode(c.request).route!, 14) ?? '').startsWith(
        `${name}/`,
      ),
    );

  const routeCluster = () => `httproute/${namespace}/web/rule/0`;

  it('sends PostClusterModify for the route rule with the TailscaleServices as JSON, and gets back a STRICT_DNS cluster', () => {
    const call = clusterCall(routeCluster());
    expect(call).toBeDefined();
    const req = rpcCodecs.PostClusterModify.request.decode(call!.request);
    const sent = clusterCodec.decode(req.cluster!);
    expect(sent.name).toBe(routeCluster());
    expect(sent.type).toBe(DiscoveryType.EDS);
    // EG resolved the backendRef through the shipped backendResources and sent the object along.
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
    expect(returned.edsClusterConfig?.length ?? 0).toBe(0);
    expect(returned.outlierDetection).toBeDefined();
    expect(socketAddresses(returned)).toEqual([
      {
        priority: 0,
        addresses: [{ address: `web-ep-0.web-ep.${namespace}.svc.cluster.local`, portValue: 8080 }],
      },
      { priority: 1, addresses: [{ address: '100.100.7.1', portValue: 8080 }] },
    ]);
  });

  it('hands the TailscaleRoutePolicy to PostRouteModify (policyResources), and the route comes back with its header', () => {
    const call = routeCall(routeCluster());
    expect(call).toBeDefined();
    const req = rpcCodecs.PostRouteModify.request.decode(call!.request);
    expect(peekStringField(req.route!, 14)).toBe(`${routeCluster()}/match/0/www_example_com`);
    const policies = (req.postRouteContext?.extensionPolicies ?? []).map(
      (r) =>
        JSON.parse(Buffer.from(r.unstructuredBytes).toString()) as {
          kind: string;
          metadata: { name: string; namespace: string };
        },
    );
    expect(policies.map((p) => [p.kind, p.metadata.namespace, p.metadata.name])).toEqual([
      ['TailscaleRoutePolicy', namespace, 'web-policy'],
    ]);
    const route = routeCodec.decode(rpcCodecs.PostRouteModify.response.decode(call!.response!).route!);
    expect(route.responseHeadersToAdd?.map((h) => [h.header?.key, h.header?.value])).toEqual([
      ['x-served-by', 'eg-standalone'],
    ]);
  });

  it('calls the virtual host and listener hooks, and PostTranslateModify with what the shipped translation block includes', () => {
    expect(callsOf('PostVirtualHostModify').length).toBeGreaterThan(0);
    expect(callsOf('PostHTTPListenerModify').length).toBeGreaterThan(0);
    const translate = rpcCodecs.PostTranslateModify.request.decode(
      callsOf('PostTranslateModify')[0]!.request,
    );
    // cluster.includeAll: true; secret, listener and route includeAll: false. EG has a secret (the
    // TLS listener's, published below) and listeners and routes, but none of them is sent.
    expect((translate.clusters ?? []).map((c) => peekStringField(c, 1))).toContain(routeCluster());
    expect(translate.secrets ?? []).toEqual([]);
    expect(translate.listeners ?? []).toEqual([]);
    expect(translate.routes ?? []).toEqual([]);
  });

  it('logs the HTTPRoute with its Tailscale backend resolved, the policy accepted, and no extension error', () => {
    const log = eg!.log();
    expect(log).not.toMatch(
      /Extension Manager .* failure|skipped publishing xds resources|extension server/i,
    );
    // A backendRef of a kind EG does not know as a backendResource would be ResolvedRefs=False.
    const route = loggedStatuses(log, 'HTTPRoute', `${namespace}/web`).at(-1);
    expect(conditionsOf(route?.parents?.[0]?.conditions)).toEqual(
      expect.arrayContaining([
        ['Accepted', 'True', 'Accepted'],
        ['ResolvedRefs', 'True', 'ResolvedRefs'],
      ]),
    );
    // EG keeps (and reports on) a TailscaleRoutePolicy only as one of the policyResources.
    const policyStatus = loggedStatuses(log, 'TailscaleRoutePolicy', `${namespace}/web-policy`).at(-1);
    expect(conditionsOf(policyStatus?.ancestors?.[0]?.conditions)).toEqual([
      ['Accepted', 'True', 'Accepted'],
    ]);
  });

  it('publishes the cluster we returned, and the secret PostTranslateModify never saw, over its ADS port', async () => {
    const call = clusterCall(routeCluster());
    const returned = clusterCodec.decode(
      rpcCodecs.PostClusterModify.response.decode(call!.response!).cluster!,
    );
    const read = (typeUrl: string) =>
      readPublished({
        port: envoyGatewayXdsPort,
        configHome: eg!.configHome,
        irKey: `${namespace}/eg`,
        typeUrl,
      });
    const published = (await read(clusterTypeUrl)).map((bytes) => clusterCodec.decode(bytes));
    const ours = published.find((c) => c.name === routeCluster());
    expect(ours).toBeDefined();
    expect(ours!.type).toBe(DiscoveryType.STRICT_DNS);
    expect(ours!.edsClusterConfig?.length ?? 0).toBe(0);
    expect(socketAddresses(ours!)).toEqual(socketAddresses(returned));
    expect(ours!.outlierDetection).toEqual(returned.outlierDetection);

    // Secret.name is field 1.
    const secrets = (await read(secretTypeUrl)).map((bytes) => peekStringField(bytes, 1));
    expect(secrets).toContain(`${namespace}/eg-tls`);
  });

  it('publishes the egress route cluster over ADS as <Ready proxy pod IP>:<matchPort>, where the proxy forwards to the tailnet target', async () => {
    const egressCluster = `httproute/${namespace}/db/rule/0`;
    const call = clusterCall(egressCluster);
    expect(call).toBeDefined();
    const req = rpcCodecs.PostClusterModify.request.decode(call!.request);
    const resources = (req.postClusterContext?.backendExtensionResources ?? []).map(
      (r) => (JSON.parse(Buffer.from(r.unstructuredBytes).toString()) as { kind: string }).kind,
    );
    expect(resources).toEqual(['TailscaleEndpoints']);
    const published = await publishedClusters(eg!, namespace);
    const ours = published.find((c) => c.name === egressCluster);
    expect(ours).toBeDefined();
    expect(ours!.type ?? DiscoveryType.STATIC).toBe(DiscoveryType.STATIC);
    expect(socketAddresses(ours!)).toEqual([
      { priority: 0, addresses: [{ address: egressPodIP, portValue: egressMatchPort }] },
    ]);
  });
});
