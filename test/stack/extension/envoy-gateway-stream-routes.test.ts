import type * as grpc from '@grpc/grpc-js';
import type { KubeConfig } from '@kubernetes/client-node';
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
import {
  envoyGatewayXdsPort,
  envoyGatewayLockWaitMs,
  startEnvoyGateway,
  type EnvoyGateway,
} from '../../../tools/stack/envoy-gateway';
import { eventually } from '../../support/eventually';
import { createTestNamespace, stackInfo, testKubeConfig } from '../../support/stack';
import { clusterTypeUrl, readPublished } from './ads-reader';
import { conditionsOf, loggedStatuses } from './eg-log';
import { egGatewayClass, shippedExtensionManager, readyCondition } from './eg-fixture';
import { createWithStatus } from '../../support/objects';

const group = 'gateway.tailscale.com';
const version = 'v1alpha1';
const gatewayApi = 'gateway.networking.k8s.io';

const streamKinds = [
  { kind: 'TCPRoute', prefix: 'tcproute', listener: 'tcp' },
  { kind: 'TLSRoute', prefix: 'tlsroute', listener: 'tls' },
  { kind: 'UDPRoute', prefix: 'udproute', listener: 'udp' },
] as const;

interface Call {
  hook: HookName;
  request: Buffer;
  response: Buffer | undefined;
}

/**
 * A real Envoy Gateway (v1.9, standalone, the extensionManager block we ship) translates a Gateway with
 * TCP, TLS (passthrough) and UDP listeners whose TCPRoute, TLSRoute and UDPRoute each have a
 * TailscaleServices backendRef, next to an HTTPRoute to the same backend. EG names those clusters
 * `<kind>/<ns>/<route>/rule/-1` and calls PostClusterModify for the HTTPRoute's only; the extension
 * rewrites the others in PostTranslateModify from the TailscaleGateway's status.routes (written here as
 * the TailscaleGateway workflow writes it; test/stack/workflows/tailscale-gateway.test.ts proves that
 * part). What EG then publishes over ADS for each must reach the backend exactly as the HTTPRoute does.
 */
describe('Envoy Gateway v1.9 (real, standalone): TCPRoute, TLSRoute and UDPRoute to Tailscale backends', () => {
  let kc: KubeConfig;
  let namespace: string;
  let feed: IndexFeed;
  let server: grpc.Server;
  let eg: EnvoyGateway | undefined;
  const calls: Call[] = [];

  const routeName = (prefix: string) => `db-${prefix.slice(0, 3)}`;
  const clusterOf = (prefix: string) => `${prefix}/${namespace}/${routeName(prefix)}/rule/-1`;
  const httpCluster = () => `httproute/${namespace}/web/rule/0`;

  beforeAll(async () => {
    kc = testKubeConfig();
    namespace = await createTestNamespace(kc, 'ext-eg-l4');
    // What the workflows publish for a ready backend: a proxy and a VIP service.
    await createWithStatus(
      kc,
      namespace,
      'tailscaleendpoints',
      {
        apiVersion: `${group}/${version}`,
        kind: 'TailscaleEndpoints',
        metadata: { name: 'db-ep', labels: { app: 'db' } },
        spec: { tailnet: 'corp', tags: ['tag:db'], connectionType: 'egress', ports: [{ port: 8080 }] },
      },
      {
        conditions: [readyCondition],
        devices: [
          { hostname: 'db-ep-0', statefulSetPod: 'db-ep-0', tailscaleIPs: ['100.64.0.20'], online: true },
        ],
        statefulSets: [{ name: 'db-ep', replicas: 1, readyReplicas: 1, service: 'db-ep' }],
      },
    );
    const services = {
      apiVersion: `${group}/${version}`,
      kind: 'TailscaleServices',
      metadata: { name: 'db', namespace },
      spec: {
        tailnet: 'corp',
        selector: { matchLabels: { app: 'db' } },
        vipService: { ports: ['tcp:8080'], tags: ['tag:db'] },
      },
    };
    await createWithStatus(kc, namespace, 'tailscaleservices', services, {
      conditions: [readyCondition],
      vipService: { name: 'svc:db', addresses: ['100.100.7.2'] },
      selectedEndpoints: [{ name: 'db-ep', ready: true }],
    });
    const backendRef = { group, kind: 'TailscaleServices', name: 'db', port: 8080 };
    const backends = [{ kind: 'TailscaleServices', name: 'db', vipService: 'svc:db', ready: true }];
    await createWithStatus(
      kc,
      namespace,
      'tailscalegateways',
      {
        apiVersion: `${group}/${version}`,
        kind: 'TailscaleGateway',
        metadata: { name: 'tsgw', namespace },
        spec: { gatewayRef: { name: 'eg' }, tailnets: ['corp'] },
      },
      {
        conditions: [readyCondition],
        routes: [
          { kind: 'HTTPRoute', namespace, name: 'web', backends },
          ...streamKinds.map(({ kind, prefix }) => ({ kind, namespace, name: routeName(prefix), backends })),
        ],
      },
    );

    const index = new BackendIndex();
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
    await eventually('the index has the backend and the routes', () => {
      const snapshot = index.current();
      return snapshot.backend('TailscaleServices', namespace, 'db')?.endpoints.length === 2 &&
        snapshot.backendsOfRoute('UDPRoute', namespace, routeName('udproute')).length === 1
        ? true
        : undefined;
    });
    const metrics = createExtensionMetrics({
      size: () => 0,
      ageSeconds: () => 0,
      version: () => 0,
      loaded: () => true,
    });
    server = createExtensionServer({
      index,
      logger,
      clusterDomain: 'cluster.local',
      metrics,
      health: new HookHealth({ windowMs: 60_000, maxFailureRatio: 0.1, staleAfterMs: 600_000 }),
      maxMessageBytes: 16 << 20,
      observer: (hook, request, response) => calls.push({ hook, request, response }),
    });
    const port = await listen(server, '127.0.0.1:0');

    eg = await startEnvoyGateway({
      dir: mkdtempSync(join(stackInfo().dir, 'envoy-gateway-l4-')),
      extensionPort: port,
      extensionManager: shippedExtensionManager(),
      resources: [
        egGatewayClass,
        {
          apiVersion: `${gatewayApi}/v1`,
          kind: 'Gateway',
          metadata: { name: 'eg', namespace },
          spec: {
            gatewayClassName: 'eg',
            listeners: [
              { name: 'http', protocol: 'HTTP', port: 8080 },
              { name: 'tcp', protocol: 'TCP', port: 5432 },
              {
                name: 'tls',
                protocol: 'TLS',
                port: 8443,
                hostname: 'db.example.com',
                tls: { mode: 'Passthrough' },
              },
              { name: 'udp', protocol: 'UDP', port: 5353 },
            ],
          },
        },
        {
          apiVersion: `${gatewayApi}/v1`,
          kind: 'HTTPRoute',
          metadata: { name: 'web', namespace },
          spec: {
            parentRefs: [{ name: 'eg', sectionName: 'http' }],
            hostnames: ['www.example.com'],
            rules: [{ backendRefs: [backendRef] }],
          },
        },
        ...streamKinds.map(({ kind, prefix, listener }) => ({
          apiVersion: `${gatewayApi}/v1`,
          kind,
          metadata: { name: routeName(prefix), namespace },
          spec: {
            parentRefs: [{ name: 'eg', sectionName: listener }],
            ...(kind === 'TLSRoute' ? { hostnames: ['db.example.com'] } : {}),
            rules: [{ backendRefs: [backendRef] }],
          },
        })),
        services,
      ],
    });
    await eventually(
      'a PostTranslateModify call with the three stream route clusters',
      () => {
        const translated = calls.filter((c) => c.hook === 'PostTranslateModify').at(-1);
        if (!translated) return undefined;
        const names = (rpcCodecs.PostTranslateModify.request.decode(translated.request).clusters ?? []).map(
          (c) => peekStringField(c, 1),
        );
        return streamKinds.every(({ prefix }) => names.includes(clusterOf(prefix))) ? true : undefined;
      },
      { timeoutMs: 90_000 },
    );
  }, envoyGatewayLockWaitMs + 240_000);

  afterAll(async () => {
    await eg?.stop();
    server?.forceShutdown();
    await feed?.stop();
  });

  const socketAddresses = (cluster: ReturnType<typeof clusterCodec.decode>) =>
    cluster.loadAssignment?.endpoints?.map((l) => ({
      priority: l.priority ?? 0,
      addresses: l.lbEndpoints.map((e) => e.endpoint.address.socketAddress),
    }));

  it('EG calls PostClusterModify for the HTTPRoute rule only, and hands the others to PostTranslateModify as empty EDS clusters', () => {
    const clusterHooked = calls
      .filter((c) => c.hook === 'PostClusterModify')
      .map((c) => clusterCodec.decode(rpcCodecs.PostClusterModify.request.decode(c.request).cluster!).name);
    expect(new Set(clusterHooked)).toEqual(new Set([httpCluster()]));

    const translated = calls.filter((c) => c.hook === 'PostTranslateModify').at(-1)!;
    const sent = (rpcCodecs.PostTranslateModify.request.decode(translated.request).clusters ?? []).map((c) =>
      clusterCodec.decode(c),
    );
    for (const { prefix } of streamKinds) {
      const cluster = sent.find((c) => c.name === clusterOf(prefix));
      expect([prefix, cluster?.type]).toEqual([prefix, DiscoveryType.EDS]);
      expect(cluster?.loadAssignment?.endpoints ?? []).toEqual([]);
    }
  });

  it('logs every route Accepted with its Tailscale backend resolved, and no extension error', () => {
    const log = eg!.log();
    expect(log).not.toMatch(
      /Extension Manager .* failure|skipped publishing xds resources|extension server/i,
    );
    for (const { kind, prefix } of streamKinds) {
      const route = loggedStatuses(log, kind, `${namespace}/${routeName(prefix)}`).at(-1);
      expect([kind, conditionsOf(route?.parents?.[0]?.conditions)]).toEqual([
        kind,
        expect.arrayContaining([
          ['Accepted', 'True', 'Accepted'],
          ['ResolvedRefs', 'True', 'ResolvedRefs'],
        ]),
      ]);
    }
  });

  it('publishes each over ADS reaching the Tailscale backend exactly as the HTTPRoute cluster does', async () => {
    const published = (
      await readPublished({
        port: envoyGatewayXdsPort,
        configHome: eg!.configHome,
        irKey: `${namespace}/eg`,
        typeUrl: clusterTypeUrl,
      })
    ).map((bytes) => clusterCodec.decode(bytes));
    const http = published.find((c) => c.name === httpCluster());
    expect(http?.type).toBe(DiscoveryType.STRICT_DNS);
    expect(socketAddresses(http!)).toEqual([
      {
        priority: 0,
        addresses: [{ address: `db-ep-0.db-ep.${namespace}.svc.cluster.local`, portValue: 8080 }],
      },
      { priority: 1, addresses: [{ address: '100.100.7.2', portValue: 8080 }] },
    ]);
    for (const { prefix } of streamKinds) {
      const cluster = published.find((c) => c.name === clusterOf(prefix));
      expect([prefix, cluster?.type]).toEqual([prefix, http!.type]);
      expect([prefix, cluster?.edsClusterConfig?.length ?? 0]).toEqual([prefix, 0]);
      expect([prefix, socketAddresses(cluster!)]).toEqual([prefix, socketAddresses(http!)]);
      expect([prefix, cluster?.outlierDetection]).toEqual([prefix, http!.outlierDetection]);
    }
  });
});
