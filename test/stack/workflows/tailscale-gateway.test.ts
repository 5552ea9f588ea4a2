import { handMadeConfigSecret } from '../../support/proxies';
import type * as grpc from '@grpc/grpc-js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import type { Condition } from '../../../api/common';
import type { TailscaleGateway, TailscaleServices } from '../../../api/v1alpha1';
import { createAuthKey } from '../../../activities/tailscale/keys';
import { getVipService, listVipServices } from '../../../activities/tailscale/vip-services';
import { readRegistry } from '../../../activities/vip/registry';
import { BackendIndex } from '../../../extension/backend-index';
import { clusterCodec, rpcCodecs } from '../../../extension/codec';
import { HookHealth } from '../../../extension/health';
import { IndexFeed } from '../../../extension/index-feed';
import { createExtensionMetrics } from '../../../extension/metrics';
import { createExtensionServer, listen } from '../../../extension/server';
import { createLogger } from '../../../runtime/logger';
import { gatewayWorkflowId } from '../../../workflows/ids';
import { egCustomBackendCluster, extensionResource } from '../../extension/fixtures';
import { callHook, hookClient } from '../../extension/grpc-client';
import { eventually } from '../../support/eventually';
import { instanceLabels, startOperator } from '../../support/operator';
import { createTailscaleGateway } from '../../support/objects';
import { recordHistory } from '../../support/record-history';
import { useStackOperator } from '../../support/stack-operator';
import { createTestNamespace, stackInfo, uniqueName } from '../../support/stack';
import { startTestTailnet } from '../../support/tailscale';
import { expectCondition, isConditionTrue } from '../../support/conditions';

const group = 'gateway.tailscale.com';
const version = 'v1alpha1';
const gatewayApi = 'gateway.networking.k8s.io';
const routePlural = {
  HTTPRoute: 'httproutes',
  GRPCRoute: 'grpcroutes',
  TCPRoute: 'tcproutes',
  TLSRoute: 'tlsroutes',
  UDPRoute: 'udproutes',
} as const;
type RouteKind = keyof typeof routePlural;

describe('TailscaleGateway: routes attached to a Gateway, their Tailscale backends, and routes published as VIP services', () => {
  const stack = useStackOperator({ name: 'gateway', moreNamespaces: ['routes'] });

  const createGateway = (name: string, listeners: Record<string, unknown>[]) =>
    stack.objects.createNamespacedCustomObject({
      group: gatewayApi,
      version: 'v1',
      namespace: stack.namespace,
      plural: 'gateways',
      body: {
        apiVersion: `${gatewayApi}/v1`,
        kind: 'Gateway',
        metadata: { name },
        spec: { gatewayClassName: 'eg', listeners },
      },
    });

  /** Routes are user objects: no operator label, as in a real cluster. */
  const createRoute = (
    kind: RouteKind,
    name: string,
    spec: Record<string, unknown>,
    labels: Record<string, string> = {},
    routeNamespace = stack.namespace,
  ) =>
    stack.objects.createNamespacedCustomObject({
      group: gatewayApi,
      version: 'v1',
      namespace: routeNamespace,
      plural: routePlural[kind],
      body: { apiVersion: `${gatewayApi}/v1`, kind, metadata: { name, labels }, spec },
    });

  const deleteRoute = (kind: RouteKind, name: string) =>
    stack.objects.deleteNamespacedCustomObject({
      group: gatewayApi,
      version: 'v1',
      namespace: stack.namespace,
      plural: routePlural[kind],
      name,
    });

  const tsBackend = (kind: 'TailscaleServices' | 'TailscaleEndpoints', name: string) => ({
    group,
    kind,
    name,
  });

  const createOurGateway = (name: string, spec: Record<string, unknown>) =>
    createTailscaleGateway(stack.kc, {
      namespace: stack.namespace,
      name,
      labels: stack.operator.labels,
      spec,
    });

  const getTailscaleGateway = async (name: string) =>
    (await stack.objects.getNamespacedCustomObject({
      group,
      version,
      namespace: stack.namespace,
      plural: 'tailscalegateways',
      name,
    })) as TailscaleGateway;

  const conditionOf = (gw: TailscaleGateway, type: string): Condition | undefined =>
    gw.status?.conditions?.find((c) => c.type === type);

  /** Polls until the TailscaleGateway's status satisfies `accept`. */
  const statusWhere = (name: string, what: string, accept: (gw: TailscaleGateway) => boolean) =>
    eventually(
      what,
      async () => {
        const gw = await getTailscaleGateway(name);
        return accept(gw) ? gw : undefined;
      },
      { timeoutMs: 60_000 },
    );

  const gone = (what: string, read: () => Promise<unknown>) =>
    eventually(
      what,
      async () => {
        try {
          await read();
          return undefined;
        } catch {
          return true;
        }
      },
      { timeoutMs: 60_000 },
    );

  /** A TailscaleServices the services workflow makes Ready: endpoints + their config Secret, then the object. */
  const createReadyServices = async (name: string, serviceName: string) => {
    await stack.objects.createNamespacedCustomObject({
      group,
      version,
      namespace: stack.namespace,
      plural: 'tailscaleendpoints',
      body: {
        apiVersion: `${group}/${version}`,
        kind: 'TailscaleEndpoints',
        metadata: { name: `${name}-proxies`, labels: { app: name } },
        spec: { tailnet: stack.tailnet.name, tags: ['tag:k8s'], proxy: { replicas: 1 } },
      },
    });
    const configSecret = handMadeConfigSecret({ namespace: stack.namespace, name: `${name}-proxies` }, 0, {
      Version: 'alpha0',
      AdvertiseServices: [],
    });
    await stack.core.createNamespacedSecret({
      namespace: configSecret.metadata!.namespace!,
      body: configSecret,
    });
    await stack.objects.createNamespacedCustomObject({
      group,
      version,
      namespace: stack.namespace,
      plural: 'tailscaleservices',
      body: {
        apiVersion: `${group}/${version}`,
        kind: 'TailscaleServices',
        metadata: { name, labels: stack.operator.labels },
        spec: {
          tailnet: stack.tailnet.name,
          selector: { matchLabels: { app: name } },
          vipService: { name: serviceName, ports: ['tcp:80'], tags: ['tag:web'] },
        },
      },
    });
    return eventually(
      `${name} Ready`,
      async () => {
        const svc = (await stack.objects.getNamespacedCustomObject({
          group,
          version,
          namespace: stack.namespace,
          plural: 'tailscaleservices',
          name,
        })) as TailscaleServices;
        return isConditionTrue(svc) ? svc : undefined;
      },
      { timeoutMs: 60_000 },
    );
  };

  it('maps attached routes to their Tailscale backends, follows route changes, and names what is wrong', async () => {
    const web = uniqueName('web');
    const webService = `svc:${web}`;
    const ready = await createReadyServices(web, webService);
    const gw = uniqueName('eg');
    await createGateway(gw, [
      { name: 'http', port: 80, protocol: 'HTTP' },
      { name: 'db', port: 5432, protocol: 'TCP' },
    ]);
    const tsgw = uniqueName('tsgw');
    await createOurGateway(tsgw, { gatewayRef: { name: gw }, tailnets: [stack.tailnet.name] });

    const empty = await statusWhere(
      tsgw,
      'Ready without routes',
      (g) => conditionOf(g, 'Ready')?.status === 'True',
    );
    expectCondition(empty, 'ServicesReady', {
      status: 'True',
      reason: 'NoTailscaleBackends',
    });
    expect(empty.status?.routes ?? []).toEqual([]);
    expect(empty.metadata.finalizers).toContain('gateway.tailscale.com/finalizer');

    // Routes created after the TailscaleGateway: the route watchers re-trigger its workflow.
    const route = uniqueName('route');
    await createRoute('HTTPRoute', route, {
      parentRefs: [{ name: gw }],
      rules: [
        {
          matches: [{ path: { type: 'PathPrefix', value: '/web' } }],
          backendRefs: [tsBackend('TailscaleServices', web)],
        },
      ],
    });
    const grpc = uniqueName('grpc');
    await createRoute('GRPCRoute', grpc, {
      parentRefs: [{ name: gw, sectionName: 'http' }],
      rules: [{ backendRefs: [{ name: 'plain-service', port: 9000 }] }],
    });
    // Not attached: a TCP listener admits no HTTPRoute, and another Gateway is not ours.
    const wrongListener = uniqueName('wrong-listener');
    await createRoute('HTTPRoute', wrongListener, {
      parentRefs: [{ name: gw, sectionName: 'db' }],
      rules: [{ backendRefs: [tsBackend('TailscaleServices', web)] }],
    });
    const otherGateway = uniqueName('other-gw');
    await createRoute('HTTPRoute', otherGateway, {
      parentRefs: [{ name: 'someone-elses-gateway' }],
      rules: [{ backendRefs: [tsBackend('TailscaleServices', web)] }],
    });

    const mapped = await statusWhere(
      tsgw,
      'the HTTPRoute and GRPCRoute mapped',
      (g) =>
        (g.status?.routes ?? []).length === 2 && conditionOf(g, 'ServicesReady')?.reason === 'ServicesReady',
    );
    expect(mapped.status?.routes).toEqual([
      {
        kind: 'HTTPRoute',
        namespace: stack.namespace,
        name: route,
        backends: [{ kind: 'TailscaleServices', name: web, vipService: webService, ready: true }],
      },
      { kind: 'GRPCRoute', namespace: stack.namespace, name: grpc, backends: [] },
    ]);
    expectCondition(mapped, 'Ready', { status: 'True', reason: 'Ready' });
    expect(conditionOf(mapped, 'Ready')?.observedGeneration).toBe(1);

    // A TCPRoute whose backend does not exist: both conditions say which route and which backendRef.
    const db = uniqueName('db');
    await createRoute('TCPRoute', db, {
      parentRefs: [{ name: gw, sectionName: 'db' }],
      rules: [{ backendRefs: [tsBackend('TailscaleServices', 'no-such-backend')] }],
    });
    const broken = await statusWhere(
      tsgw,
      'BackendNotFound',
      (g) => conditionOf(g, 'ServicesReady')?.reason === 'BackendNotFound',
    );
    const servicesReady = conditionOf(broken, 'ServicesReady');
    expect(servicesReady?.status).toBe('False');
    expect(servicesReady?.message).toContain(
      `TCPRoute ${stack.namespace}/${db} spec.rules[0].backendRefs[0]: TailscaleServices ${stack.namespace}/no-such-backend does not exist`,
    );
    expectCondition(broken, 'Ready', { status: 'False', reason: 'BackendNotFound' });
    expect(broken.status?.routes?.map((r) => `${r.kind}/${r.name}`)).toEqual([
      `HTTPRoute/${route}`,
      `GRPCRoute/${grpc}`,
      `TCPRoute/${db}`,
    ]);

    // End to end with the extension server: its index, fed by the same API server, resolves the route's
    // backend to the VIP service the mapping names, and the route's cluster reaches that VIP.
    const index = new BackendIndex();
    const logger = createLogger({ level: 'warn' });
    const feed = new IndexFeed({
      kc: stack.kc,
      index,
      logger,
      clusterDomain: 'cluster.local',
      resyncIntervalMs: 60_000,
      namespaces: [stack.namespace],
      coalesceMs: 5,
    });
    const server = createExtensionServer({
      index,
      logger,
      clusterDomain: 'cluster.local',
      metrics: createExtensionMetrics({
        size: () => index.current().size,
        ageSeconds: () => index.ageMs() / 1000,
        version: () => index.current().version,
        loaded: () => index.loaded,
      }),
      health: new HookHealth({ windowMs: 60_000, maxFailureRatio: 0.1, staleAfterMs: 600_000 }),
      maxMessageBytes: 4 << 20,
    });
    let client: grpc.Client | undefined;
    try {
      feed.start();
      client = hookClient(await listen(server, '127.0.0.1:0'));
      await eventually('index loaded', () => Promise.resolve(index.loaded ? true : undefined));
      const mapping = broken.status?.routes?.[0]?.backends?.[0];
      const backend = index.current().backend('TailscaleServices', stack.namespace, mapping?.name ?? '');
      expect(`svc:${backend?.serviceName}`).toBe(mapping?.vipService);
      expect(
        index
          .current()
          .gatewayBindings(stack.namespace, gw)
          .map((b) => b.name),
      ).toEqual([tsgw]);

      const request = rpcCodecs.PostClusterModify.request.encode({
        cluster: egCustomBackendCluster(`httproute/${stack.namespace}/${route}/rule/0`),
        postClusterContext: {
          backendExtensionResources: [
            extensionResource({
              apiVersion: `${group}/${version}`,
              kind: 'TailscaleServices',
              metadata: { name: web, namespace: stack.namespace },
            }),
          ],
        },
      });
      const response = rpcCodecs.PostClusterModify.response.decode(
        await callHook(client, 'PostClusterModify', request),
      );
      const cluster = clusterCodec.decode(response.cluster!);
      const addresses = (cluster.loadAssignment?.endpoints ?? []).flatMap((l) =>
        l.lbEndpoints.map((e) => e.endpoint.address.socketAddress.address),
      );
      const vipV4 = ready.status?.vipService?.addresses?.find((a) => !a.includes(':'));
      expect(vipV4).toBeDefined();
      expect(addresses).toContain(vipV4);
    } finally {
      client?.close();
      server.forceShutdown();
      await feed.stop();
    }

    // The route goes: back to Ready, and the mapping forgets it.
    await deleteRoute('TCPRoute', db);
    const healed = await statusWhere(tsgw, 'Ready again', (g) => conditionOf(g, 'Ready')?.status === 'True');
    expect(healed.status?.routes?.map((r) => r.name)).toEqual([route, grpc]);
  }, 240_000);

  it('publishes routes as VIP services: attaches instead of duplicating, detaches when a route goes, deletes with the last consumer', async () => {
    const shared = `svc:${uniqueName('shared')}`;
    const gwA = uniqueName('eg-a');
    const gwB = uniqueName('eg-b');
    await createGateway(gwA, [{ name: 'http', port: 8080, protocol: 'HTTP' }]);
    await createGateway(gwB, [{ name: 'http', port: 8080, protocol: 'HTTP' }]);
    const routeA = uniqueName('ra');
    const routeB = uniqueName('rb');
    const labelled = uniqueName('rl');
    await createRoute('HTTPRoute', routeA, { parentRefs: [{ name: gwA }], rules: [{}] });
    await createRoute('HTTPRoute', routeB, { parentRefs: [{ name: gwB }], rules: [{}] });
    await createRoute(
      'HTTPRoute',
      labelled,
      { parentRefs: [{ name: gwA }], rules: [{}] },
      { tailnet: 'yes' },
    );

    const tsgwA = uniqueName('tsgw-a');
    const tsgwB = uniqueName('tsgw-b');
    await createOurGateway(tsgwA, {
      gatewayRef: { name: gwA },
      tailnets: [stack.tailnet.name],
      publish: [
        { route: { name: routeA }, vipService: { name: shared, tags: ['tag:gw'] } },
        { routeSelector: { matchLabels: { tailnet: 'yes' } }, vipService: { tags: ['tag:gw'] } },
      ],
    });
    await createOurGateway(tsgwB, {
      gatewayRef: { name: gwB },
      publish: [
        {
          route: { name: routeB },
          tailnet: stack.tailnet.name,
          vipService: { name: shared, tags: ['tag:gw'] },
        },
      ],
    });

    // Published, but nothing hosts the services yet: no traffic can flow, so not Ready.
    const unhosted = await statusWhere(
      tsgwA,
      'A NoHosts',
      (g) => conditionOf(g, 'Ready')?.reason === 'NoHosts',
    );
    expect(conditionOf(unhosted, 'Ready')?.status).toBe('False');
    expectCondition(unhosted, 'ServicesReady', { status: 'False', reason: 'NoHosts' });
    expect(conditionOf(unhosted, 'ServicesReady')?.message).toContain(`no device advertises ${shared} yet`);
    await statusWhere(tsgwB, 'B NoHosts', (g) => conditionOf(g, 'Ready')?.reason === 'NoHosts');

    // A proxy serving them comes up (tag:k8s, approved for tag:gw services by the test tailnet's policy).
    const ownService = `svc:${labelled}`;
    const hostKey = await createAuthKey(stack.tailnet.api, { preauthorized: true, tags: ['tag:k8s'] });
    const host = await stack.tailnet.sim.admin.registerDevice({
      authKey: hostKey.key,
      hostname: uniqueName('gw-host'),
    });
    await stack.tailnet.sim.admin.advertiseServices({ nodeId: host.nodeId, services: [shared, ownService] });

    const readyA = await statusWhere(tsgwA, 'A Ready', (g) => conditionOf(g, 'Ready')?.status === 'True');
    await statusWhere(tsgwB, 'B Ready', (g) => conditionOf(g, 'Ready')?.status === 'True');
    const services = await listVipServices(stack.tailnet.api);
    expect(services.filter((s) => s.name === shared)).toHaveLength(1);
    const stored = await getVipService(stack.tailnet.api, shared);
    expect(stored).toMatchObject({ ports: ['tcp:8080'], tags: ['tag:gw'] });
    expect(readRegistry(stored?.annotations)?.consumers['east/op-a']?.routes).toEqual(
      [
        `gateway/${stack.namespace}/${tsgwA}/HTTPRoute/${stack.namespace}/${routeA}`,
        `gateway/${stack.namespace}/${tsgwB}/HTTPRoute/${stack.namespace}/${routeB}`,
      ].sort(),
    );
    expect(await getVipService(stack.tailnet.api, ownService)).toMatchObject({
      name: ownService,
      ports: ['tcp:8080'],
    });

    const publishedA = Object.fromEntries((readyA.status?.routes ?? []).map((r) => [r.name, r.published]));
    expect(publishedA[routeA]).toEqual({
      tailnet: stack.tailnet.name,
      vipService: shared,
      addresses: stored?.addrs,
      dnsName: `${shared.slice(4)}.${stack.tailnet.dnsSuffix}`,
    });
    expect(publishedA[labelled]?.vipService).toBe(ownService);
    expect(conditionOf(readyA, 'ServicesReady')?.message).toContain('2 VIP service(s) published');

    // The route goes: A leaves the shared service, B keeps it alive.
    await deleteRoute('HTTPRoute', routeA);
    await eventually(
      'A detached from the shared service',
      async () => {
        const routes = readRegistry((await getVipService(stack.tailnet.api, shared))?.annotations)?.consumers[
          'east/op-a'
        ]?.routes;
        return routes?.length === 1 ? routes : undefined;
      },
      { timeoutMs: 60_000 },
    );
    expect(
      readRegistry((await getVipService(stack.tailnet.api, shared))?.annotations)?.consumers['east/op-a']
        ?.routes,
    ).toEqual([`gateway/${stack.namespace}/${tsgwB}/HTTPRoute/${stack.namespace}/${routeB}`]);
    await statusWhere(
      tsgwA,
      'A forgot the route',
      (g) => !(g.status?.routes ?? []).some((r) => r.name === routeA),
    );

    // B is deleted: its finalizer holds it until it left; the shared service had no other consumer.
    await stack.objects.deleteNamespacedCustomObject({
      group,
      version,
      namespace: stack.namespace,
      plural: 'tailscalegateways',
      name: tsgwB,
    });
    await gone('B gone', () => getTailscaleGateway(tsgwB));
    expect(await getVipService(stack.tailnet.api, shared)).toBeNull();
    expect(await getVipService(stack.tailnet.api, ownService)).not.toBeNull();

    await stack.objects.deleteNamespacedCustomObject({
      group,
      version,
      namespace: stack.namespace,
      plural: 'tailscalegateways',
      name: tsgwA,
    });
    await gone('A gone', () => getTailscaleGateway(tsgwA));
    expect(await getVipService(stack.tailnet.api, ownService)).toBeNull();

    for (const name of [tsgwA, tsgwB]) {
      const handle = stack.temporal.workflow.getHandle(gatewayWorkflowId(stack.namespace, name));
      await eventually('gateway workflow completed', async () =>
        (await handle.describe()).status.name === 'COMPLETED' ? true : undefined,
      );
    }
    await recordHistory(
      'tailscale-gateway',
      'publish-detach-delete',
      stack.temporal.workflow.getHandle(gatewayWorkflowId(stack.namespace, tsgwA)),
    );
  }, 240_000);

  it('maps TLSRoutes and UDPRoutes to their Tailscale backends, each only on a listener of its protocol', async () => {
    const dns = uniqueName('dns');
    const dnsService = `svc:${dns}`;
    await createReadyServices(dns, dnsService);
    const gw = uniqueName('eg-l4');
    await createGateway(gw, [
      { name: 'tls', port: 443, protocol: 'TLS', tls: { mode: 'Passthrough' } },
      { name: 'udp', port: 53, protocol: 'UDP' },
    ]);
    const tsgw = uniqueName('tsgw-l4');
    await createOurGateway(tsgw, { gatewayRef: { name: gw }, tailnets: [stack.tailnet.name] });
    await statusWhere(tsgw, 'Ready without routes', (g) => conditionOf(g, 'Ready')?.status === 'True');

    // Created after the TailscaleGateway: the TLSRoute and UDPRoute watchers must re-trigger its workflow.
    const tls = uniqueName('tls');
    await createRoute('TLSRoute', tls, {
      parentRefs: [{ name: gw, sectionName: 'tls' }],
      hostnames: ['db.example.com'],
      rules: [{ backendRefs: [tsBackend('TailscaleServices', dns)] }],
    });
    const udp = uniqueName('udp');
    await createRoute('UDPRoute', udp, {
      parentRefs: [{ name: gw, sectionName: 'udp' }],
      rules: [{ backendRefs: [tsBackend('TailscaleServices', dns)] }],
    });
    // Not attached: a UDPRoute on the TLS listener.
    const wrong = uniqueName('udp-on-tls');
    await createRoute('UDPRoute', wrong, {
      parentRefs: [{ name: gw, sectionName: 'tls' }],
      rules: [{ backendRefs: [tsBackend('TailscaleServices', dns)] }],
    });

    const mapped = await statusWhere(
      tsgw,
      'the TLSRoute and UDPRoute mapped',
      (g) => (g.status?.routes ?? []).length === 2,
    );
    const backends = [{ kind: 'TailscaleServices', name: dns, vipService: dnsService, ready: true }];
    expect([...(mapped.status?.routes ?? [])].sort((a, b) => a.kind.localeCompare(b.kind))).toEqual([
      { kind: 'TLSRoute', namespace: stack.namespace, name: tls, backends },
      { kind: 'UDPRoute', namespace: stack.namespace, name: udp, backends },
    ]);
    expectCondition(mapped, 'ServicesReady', { status: 'True', reason: 'ServicesReady' });

    await deleteRoute('UDPRoute', udp);
    const left = await statusWhere(
      tsgw,
      'the deleted UDPRoute unmapped',
      (g) => (g.status?.routes ?? []).length === 1,
    );
    expect(left.status?.routes?.map((r) => `${r.kind}/${r.name}`)).toEqual([`TLSRoute/${tls}`]);
  });

  it('reports a missing Gateway and a published route that is not attached, by field', async () => {
    const missing = uniqueName('tsgw-missing');
    await createOurGateway(missing, {
      gatewayRef: { name: 'no-such-gateway' },
      tailnets: [stack.tailnet.name],
    });
    const notFound = await statusWhere(
      missing,
      'GatewayNotFound',
      (g) => conditionOf(g, 'Ready')?.reason === 'GatewayNotFound',
    );
    expect(conditionOf(notFound, 'Ready')?.message).toBe(
      `spec.gatewayRef: Gateway ${stack.namespace}/no-such-gateway does not exist`,
    );

    const gw = uniqueName('eg-c');
    await createGateway(gw, [{ name: 'http', port: 80, protocol: 'HTTP' }]);
    const unattached = uniqueName('tsgw-unattached');
    await createOurGateway(unattached, {
      gatewayRef: { name: gw },
      tailnets: [stack.tailnet.name],
      publish: [{ route: { name: 'not-a-route' }, vipService: { tags: ['tag:gw'] } }],
    });
    const problem = await statusWhere(
      unattached,
      'PublishedRouteNotAttached',
      (g) => conditionOf(g, 'ServicesReady')?.reason === 'PublishedRouteNotAttached',
    );
    expect(conditionOf(problem, 'ServicesReady')?.message).toContain(
      `spec.publish[0].route: HTTPRoute ${stack.namespace}/not-a-route is not attached to the Gateway`,
    );
    expectCondition(problem, 'Ready', {
      status: 'False',
      reason: 'PublishedRouteNotAttached',
    });

    // A tailnet that does not exist yet: named by field, and Ready as soon as it appears (the watchers
    // re-trigger the workflow on the tailnet's change, not at its recheck timer).
    const laterTailnet = uniqueName('later-corp');
    const waiting = uniqueName('tsgw-waiting');
    await createOurGateway(waiting, { gatewayRef: { name: gw }, tailnets: [laterTailnet] });
    const noTailnet = await statusWhere(
      waiting,
      'TailnetNotFound',
      (g) => conditionOf(g, 'Ready')?.reason === 'TailnetNotFound',
    );
    expect(conditionOf(noTailnet, 'Ready')?.message).toContain(
      `spec.tailnets[0]: TailscaleTailnet ${laterTailnet} does not exist`,
    );
    await startTestTailnet({
      kc: stack.kc,
      namespace: stack.namespace,
      name: laterTailnet,
      labels: stack.operator.labels,
      sim: stack.tailnet.sim,
    });
    await statusWhere(
      waiting,
      'Ready once the tailnet is',
      (g) => conditionOf(g, 'Ready')?.status === 'True',
    );
  });

  it("follows Gateway API's cross-namespace rules: a listener's namespace selector admits routes, a ReferenceGrant permits backends", async () => {
    const team = uniqueName('team');
    await stack.core.patchNamespace({
      name: stack.moreNamespaces.routes,
      body: [{ op: 'add', path: '/metadata/labels', value: { team } }],
    });
    const gw = uniqueName('eg-shared');
    await createGateway(gw, [
      {
        name: 'http',
        port: 80,
        protocol: 'HTTP',
        allowedRoutes: { namespaces: { from: 'Selector', selector: { matchLabels: { team } } } },
      },
      { name: 'local', port: 81, protocol: 'HTTP' },
    ]);
    const createForeignRoute = (name: string, sectionName: string) =>
      createRoute(
        'HTTPRoute',
        name,
        {
          parentRefs: [{ name: gw, namespace: stack.namespace, sectionName }],
          rules: [
            {
              backendRefs: [
                { group, kind: 'TailscaleServices', name: 'cross-backend', namespace: stack.namespace },
              ],
            },
          ],
        },
        {},
        stack.moreNamespaces.routes,
      );
    const admitted = uniqueName('admitted');
    const refused = uniqueName('refused');
    await createForeignRoute(admitted, 'http');
    await createForeignRoute(refused, 'local'); // that listener admits its own namespace only

    const tsgw = uniqueName('tsgw-cross');
    await createOurGateway(tsgw, { gatewayRef: { name: gw } });
    const notPermitted = await statusWhere(
      tsgw,
      'RefNotPermitted',
      (g) => conditionOf(g, 'ServicesReady')?.reason === 'RefNotPermitted',
    );
    expect(notPermitted.status?.routes).toEqual([
      {
        kind: 'HTTPRoute',
        namespace: stack.moreNamespaces.routes,
        name: admitted,
        backends: [
          { kind: 'TailscaleServices', name: 'cross-backend', namespace: stack.namespace, ready: false },
        ],
      },
    ]);
    expect(conditionOf(notPermitted, 'ServicesReady')?.message).toContain(
      `HTTPRoute ${stack.moreNamespaces.routes}/${admitted} spec.rules[0].backendRefs[0]: TailscaleServices ${stack.namespace}/cross-backend is in another namespace and no ReferenceGrant there allows HTTPRoutes from ${stack.moreNamespaces.routes}`,
    );

    await stack.objects.createNamespacedCustomObject({
      group: gatewayApi,
      version: 'v1beta1',
      namespace: stack.namespace,
      plural: 'referencegrants',
      body: {
        apiVersion: `${gatewayApi}/v1beta1`,
        kind: 'ReferenceGrant',
        metadata: { name: uniqueName('grant') },
        spec: {
          from: [{ group: gatewayApi, kind: 'HTTPRoute', namespace: stack.moreNamespaces.routes }],
          to: [{ group, kind: 'TailscaleServices' }],
        },
      },
    });
    // ReferenceGrants are not watched: a spec change of the TailscaleGateway re-resolves.
    await stack.objects.patchNamespacedCustomObject({
      group,
      version,
      namespace: stack.namespace,
      plural: 'tailscalegateways',
      name: tsgw,
      body: [{ op: 'add', path: '/spec/tailnets', value: [stack.tailnet.name] }],
    });
    const permitted = await statusWhere(
      tsgw,
      'permitted, now simply missing',
      (g) => conditionOf(g, 'ServicesReady')?.reason === 'BackendNotFound',
    );
    expect(conditionOf(permitted, 'ServicesReady')?.message).toContain(
      `TailscaleServices ${stack.namespace}/cross-backend does not exist`,
    );
  });

  it('reads nothing outside the watched namespaces: routes there are not attached, backends and Gateways there are reported', async () => {
    const unwatched = await createTestNamespace(stack.kc, 'gateway-unwatched');
    const gw = uniqueName('eg-open');
    await createGateway(gw, [
      { name: 'http', port: 80, protocol: 'HTTP', allowedRoutes: { namespaces: { from: 'All' } } },
    ]);
    const routeIn = (routeNamespace: string, name: string, backendNamespace: string) =>
      createRoute(
        'HTTPRoute',
        name,
        {
          parentRefs: [{ name: gw, namespace: stack.namespace }],
          rules: [
            {
              backendRefs: [
                { group, kind: 'TailscaleServices', name: 'far-backend', namespace: backendNamespace },
              ],
            },
          ],
        },
        {},
        routeNamespace,
      );
    const outside = uniqueName('outside');
    const inside = uniqueName('inside');
    await routeIn(unwatched, outside, unwatched); // admitted by the listener, but not ours to read
    await routeIn(stack.namespace, inside, unwatched); // ours, pointing at a backend we may not read

    const tsgw = uniqueName('tsgw-open');
    await createOurGateway(tsgw, { gatewayRef: { name: gw } });
    const reported = await statusWhere(
      tsgw,
      'NamespaceNotWatched',
      (g) => conditionOf(g, 'ServicesReady')?.reason === 'NamespaceNotWatched',
    );
    expect(reported.status?.routes?.map((r) => `${r.namespace}/${r.name}`)).toEqual([
      `${stack.namespace}/${inside}`,
    ]);
    expect(conditionOf(reported, 'ServicesReady')?.message).toContain(
      `HTTPRoute ${stack.namespace}/${inside} spec.rules[0].backendRefs[0]: TailscaleServices ${unwatched}/far-backend: namespace ${unwatched} is not one this operator watches`,
    );

    const elsewhere = uniqueName('tsgw-elsewhere');
    await createOurGateway(elsewhere, { gatewayRef: { name: gw, namespace: unwatched } });
    const missing = await statusWhere(
      elsewhere,
      'GatewayNotFound',
      (g) => conditionOf(g, 'Ready')?.reason === 'GatewayNotFound',
    );
    expect(conditionOf(missing, 'Ready')?.message).toContain(
      `Gateway ${unwatched}/${gw}: namespace ${unwatched} is not one this operator watches`,
    );
  });

  it('reports Forbidden as a condition when the operator may not read Gateway API objects', async () => {
    // A second operator whose ServiceAccount may do everything except read gateway.networking.k8s.io.
    const rbac = stack.kc.makeApiClient(RbacAuthorizationV1Api);
    const account = uniqueName('limited');
    await stack.core.createNamespacedServiceAccount({
      namespace: stack.namespace,
      body: { metadata: { name: account } },
    });
    await rbac.createClusterRole({
      body: {
        metadata: { name: account },
        rules: [
          { apiGroups: ['', 'apps', group], resources: ['*'], verbs: ['*'] },
          { nonResourceURLs: ['*'], verbs: ['get'] },
        ],
      },
    });
    await rbac.createClusterRoleBinding({
      body: {
        metadata: { name: account },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: account },
        subjects: [{ kind: 'ServiceAccount', name: account, namespace: stack.namespace }],
      },
    });
    const token = await stack.core.createNamespacedServiceAccountToken({
      namespace: stack.namespace,
      name: account,
      body: { spec: { audiences: [], expirationSeconds: 3600 } },
    });
    const limited = new KubeConfig();
    limited.loadFromClusterAndUser(
      { name: 'test', server: stack.kc.getCurrentCluster()?.server ?? '', skipTLSVerify: true },
      { name: account, token: token.status?.token },
    );
    const kubeconfigPath = join(stackInfo().dir, `${account}.kubeconfig`);
    writeFileSync(kubeconfigPath, limited.exportConfig());
    const instance = uniqueName('limited-op');
    const limitedOperator = startOperator({
      instance,
      watchNamespaces: [stack.namespace],
      env: {
        KUBECONFIG: kubeconfigPath,
        OPERATOR_ID: 'op-limited',
        CLUSTER_ID: 'east',
        TAILSCALE_API_BASE_URL: stack.tailnet.sim.url,
      },
    });
    try {
      const name = uniqueName('tsgw-forbidden');
      await createTailscaleGateway(stack.kc, {
        namespace: stack.namespace,
        name,
        labels: instanceLabels(instance),
        spec: { gatewayRef: { name: 'eg' } },
      });
      const forbidden = await statusWhere(
        name,
        'Forbidden',
        (g) => conditionOf(g, 'Ready')?.reason === 'Forbidden',
      );
      expect(conditionOf(forbidden, 'Ready')?.message).toContain('grant it get/list/watch on Gateways');
      expectCondition(forbidden, 'ServicesReady', {
        status: 'Unknown',
        reason: 'Forbidden',
      });
    } finally {
      await limitedOperator.stop();
    }
  });
});
