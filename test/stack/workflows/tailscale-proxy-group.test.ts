import { advertisedServices, createTailscaleGateway, createTailscaleServices } from '../../support/objects';
import { poolWithEndpoints, servicesOf } from '../../support/data-path';
import type { TailscaleGateway } from '../../../api/v1alpha1/tailscale-gateway';
import { envoyOwnerLabels } from '../../../activities/gateway-hosting';
import { proxiesOf } from '../../support/proxies';
import { serveConfigKey } from '../../../activities/specs/proxy-group';
import { checkTailscaleConfig } from '../../support/tailscale-config-check';
import { proxyGroupWorkflowId, endpointsWorkflowId, gatewayWorkflowId } from '../../../workflows/ids';
import { eventually } from '../../support/eventually';
import { recordHistory } from '../../support/record-history';
import { uniqueName } from '../../support/stack';
import {
  configOf,
  devicesNamed,
  group,
  proxyParents,
  startProxyHarness,
  type ProxyHarness,
  version,
} from './tailscale-endpoints-harness';
import { isConditionTrue } from '../../support/conditions';

describe('TailscaleProxyGroup: a shared pool on the same proxy machinery, and endpoints that use it', () => {
  let h: ProxyHarness;
  let groups: ReturnType<typeof proxyParents>;
  let endpoints: ReturnType<typeof proxyParents>;

  beforeAll(async () => {
    h = await startProxyHarness('proxygroup');
    groups = proxyParents(h, 'TailscaleProxyGroup');
    endpoints = proxyParents(h, 'TailscaleEndpoints');
  });

  afterAll(async () => {
    await h?.close();
  });

  it('provisions the pool, lends its devices to endpoints that name it, and deletes its devices with it', async () => {
    const pool = uniqueName('pool');
    await groups.create(pool, { type: 'ingress', proxy: { replicas: 2, hostnamePrefix: `${pool}-edge` } });
    const pg = await groups.waitReady(pool);
    const devices = await devicesNamed(h, `${pool}-edge`);
    expect(devices.map((d) => d.hostname).sort()).toEqual([`${pool}-edge-0`, `${pool}-edge-1`]);
    expect(pg.status?.devices?.map((d) => d.nodeID).sort()).toEqual(devices.map((d) => d.nodeId).sort());
    expect(pg.status?.devices?.map((d) => d.hostname).sort()).toEqual([`${pool}-edge-0`, `${pool}-edge-1`]);
    const placed = proxiesOf(h.namespace, pool, 'TailscaleProxyGroup');
    const sts = await h.apps.readNamespacedStatefulSet(placed);
    expect(sts.metadata?.labels).toMatchObject({
      'gateway.tailscale.com/parent-kind': 'proxygroup',
      'gateway.tailscale.com/parent-namespace': h.namespace,
      'gateway.tailscale.com/parent-name': pool,
      'gateway.tailscale.com/parent-uid': pg.metadata.uid,
    });
    expect((await configOf(h, pool, 0, 'TailscaleProxyGroup')).Hostname).toBe(`${pool}-edge-0`);

    // Endpoints using the pool have no StatefulSet of their own and report the pool's devices.
    const user = uniqueName('user');
    await endpoints.create(user, { proxyGroup: pool, connectionType: 'ingress' });
    const ep = await eventually('endpoints Ready through the pool', async () => {
      const obj = await endpoints.get(user);
      return isConditionTrue(obj) ? obj : undefined;
    });
    expect(ep.status?.devices).toEqual((await groups.get(pool)).status?.devices);
    expect(ep.metadata.finalizers ?? []).not.toContain('gateway.tailscale.com/finalizer');
    await expect(h.apps.readNamespacedStatefulSet(proxiesOf(h.namespace, user))).rejects.toThrow();

    // A direction the pool does not serve is reported on the field to fix.
    const egress = uniqueName('egress');
    await endpoints.create(egress, { proxyGroup: pool, connectionType: 'egress' });
    expect((await endpoints.waitReason(egress, 'InvalidSpec')).message).toContain('spec.connectionType');
    const missing = uniqueName('missing');
    await endpoints.create(missing, { proxyGroup: 'no-such-pool', connectionType: 'ingress' });
    expect((await endpoints.waitReason(missing, 'ProxyGroupNotFound')).message).toContain('spec.proxyGroup');

    await recordHistory(
      'tailscale-proxy-group',
      'ready',
      h.temporal.workflow.getHandle(proxyGroupWorkflowId(h.namespace, pool)),
    );
    await recordHistory(
      'tailscale-endpoints',
      'via-proxy-group',
      h.temporal.workflow.getHandle(endpointsWorkflowId(h.namespace, user)),
    );

    await groups.delete(pool);
    const handle = h.temporal.workflow.getHandle(proxyGroupWorkflowId(h.namespace, pool));
    await eventually('proxy group workflow completed', async () =>
      (await handle.describe()).status.name === 'COMPLETED' ? true : undefined,
    );
    expect(await devicesNamed(h, `${pool}-edge`)).toEqual([]);
    const secrets = await h.core.listNamespacedSecret({
      namespace: placed.namespace,
      labelSelector: `gateway.tailscale.com/parent-namespace=${h.namespace},gateway.tailscale.com/parent-name=${pool}`,
    });
    expect(secrets.items).toEqual([]);
    await eventually(
      'endpoints report the pool gone',
      async () => ((await endpoints.ready(user))?.reason === 'ProxyGroupNotFound' ? true : undefined),
      { timeoutMs: 90_000 },
    );
    await recordHistory('tailscale-proxy-group', 'deleted', handle);
  }, 180_000);

  it('serves and advertises a TailscaleServices on the pool of the endpoints it selects, in the pool’s ConfigMap', async () => {
    const pool = uniqueName('pool');
    const user = uniqueName('user');
    await poolWithEndpoints(h, pool, user, 1);
    const backend = await h.core.createNamespacedService({
      namespace: h.namespace,
      body: { metadata: { name: `${user}-backend` }, spec: { ports: [{ name: 'pg', port: 5432 }] } },
    });
    const name = uniqueName('db');
    await createTailscaleServices(h.kc, {
      namespace: h.namespace,
      name,
      labels: h.operator.labels,
      spec: {
        tailnet: h.tailnet.name,
        selector: { matchLabels: { app: user } },
        vipService: { ports: ['tcp:5432'], tags: ['tag:k8s'] },
        backend: { serviceName: `${user}-backend`, ports: [{ port: 5432, servicePort: 'pg' }] },
      },
    });
    const placed = proxiesOf(h.namespace, pool, 'TailscaleProxyGroup');
    const served = async () => {
      const cm = await h.core.readNamespacedConfigMap({
        namespace: placed.namespace,
        name: `${placed.name}-proxies`,
      });
      return cm.data?.[serveConfigKey];
    };
    await eventually('advertised by the pool', async () =>
      (
        (await configOf(h, pool, 0, 'TailscaleProxyGroup')).AdvertiseServices as string[] | undefined
      )?.includes(`svc:${name}`)
        ? true
        : undefined,
    );
    const text = await served();
    expect(JSON.parse(text ?? '{}')).toEqual({
      Services: { [`svc:${name}`]: { TCP: { '5432': { TCPForward: `${backend.spec?.clusterIP}:5432` } } } },
    });
    expect(await checkTailscaleConfig('serve', text)).toEqual({ ok: true, error: '' });

    await h.objects.deleteNamespacedCustomObject({
      group: 'gateway.tailscale.com',
      version: 'v1alpha1',
      namespace: h.namespace,
      plural: 'tailscaleservices',
      name,
    });
    await eventually('withdrawn and unserved', async () =>
      ((await configOf(h, pool, 0, 'TailscaleProxyGroup')).AdvertiseServices as string[] | undefined)
        ?.length === 0 && (await served()) === undefined
        ? true
        : undefined,
    );
  });

  it('TailscaleServices over endpoints that use a pool advertise on the pool and become Ready', async () => {
    const pool = uniqueName('svcpool');
    const user = uniqueName('svcuser');
    await poolWithEndpoints(h, pool, user, 2);
    await endpoints.waitReady(user);

    const name = uniqueName('svc');
    await createTailscaleServices(h.kc, {
      namespace: h.namespace,
      name,
      labels: h.operator.labels,
      spec: {
        tailnet: h.tailnet.name,
        selector: { matchLabels: { app: user } },
        vipService: { ports: ['tcp:443'], tags: ['tag:k8s'] },
      },
    });
    const conditions = await eventually(
      'TailscaleServices Ready over the pool',
      async () => {
        const svc = await servicesOf(h, name);
        return isConditionTrue(svc) ? (svc.status?.conditions ?? []) : undefined;
      },
      { timeoutMs: 90_000 },
    );
    expect(conditions.find((c) => c.type === 'ProxyConfigReady')).toMatchObject({
      status: 'True',
      reason: 'Advertised',
      message: 'advertised by 2 proxy replica(s)',
    });
    for (const i of [0, 1])
      expect(
        await advertisedServices(
          h.kc,
          { kind: 'TailscaleProxyGroup', namespace: h.namespace, name: pool },
          i,
        ),
      ).toEqual([`svc:${name}`]);
  }, 180_000);

  it('hosts a TailscaleGateway publication on the pool it names: advertised, served to the Envoy Service, Ready', async () => {
    const pool = uniqueName('gwpool');
    await groups.create(pool, { type: 'ingress', proxy: { replicas: 1 } });
    await groups.waitReady(pool);
    const gatewayApi = { group: 'gateway.networking.k8s.io', version: 'v1', namespace: h.namespace };
    const gw = uniqueName('eg');
    const route = uniqueName('web');
    await h.objects.createNamespacedCustomObject({
      ...gatewayApi,
      plural: 'gateways',
      body: {
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'Gateway',
        metadata: { name: gw },
        spec: { gatewayClassName: 'eg', listeners: [{ name: 'http', port: 8080, protocol: 'HTTP' }] },
      },
    });
    await h.objects.createNamespacedCustomObject({
      ...gatewayApi,
      plural: 'httproutes',
      body: {
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'HTTPRoute',
        metadata: { name: route },
        spec: { parentRefs: [{ name: gw }], rules: [{}] },
      },
    });
    // The Service Envoy Gateway runs for the Gateway's data plane, labelled as it labels it.
    const envoy = await h.core.createNamespacedService({
      namespace: h.namespace,
      body: {
        metadata: {
          name: `envoy-${gw}`,
          labels: { [envoyOwnerLabels.name]: gw, [envoyOwnerLabels.namespace]: h.namespace },
        },
        spec: { ports: [{ name: 'http-8080', port: 8080, targetPort: 10080 }] },
      },
    });
    const service = `svc:${route}`;
    const name = uniqueName('tsgw');
    await createTailscaleGateway(h.kc, {
      namespace: h.namespace,
      name,
      labels: h.operator.labels,
      spec: {
        gatewayRef: { name: gw },
        tailnets: [h.tailnet.name],
        publish: [{ route: { name: route }, proxyGroup: pool, vipService: { tags: ['tag:k8s'] } }],
      },
    });
    const get = async () =>
      (await h.objects.getNamespacedCustomObject({
        group,
        version,
        namespace: h.namespace,
        plural: 'tailscalegateways',
        name,
      })) as TailscaleGateway;
    await eventually(
      'TailscaleGateway Ready on the pool',
      async () => (isConditionTrue(await get()) ? true : undefined),
      {
        timeoutMs: 90_000,
      },
    );
    const parent = { kind: 'TailscaleProxyGroup', namespace: h.namespace, name: pool } as const;
    expect(await advertisedServices(h.kc, parent, 0)).toEqual([service]);
    const placed = proxiesOf(h.namespace, pool, 'TailscaleProxyGroup');
    const served = async () =>
      (await h.core.readNamespacedConfigMap({ namespace: placed.namespace, name: `${placed.name}-proxies` }))
        .data?.[serveConfigKey];
    expect(JSON.parse((await served()) ?? '{}')).toEqual({
      Services: { [service]: { TCP: { '8080': { TCPForward: `${envoy.spec?.clusterIP}:8080` } } } },
    });

    // The gateway goes: the pool stops advertising and serving it.
    await h.objects.deleteNamespacedCustomObject({
      group,
      version,
      namespace: h.namespace,
      plural: 'tailscalegateways',
      name,
    });
    await eventually('withdrawn from the pool', async () =>
      (await advertisedServices(h.kc, parent, 0)).length === 0 && (await served()) === undefined
        ? true
        : undefined,
    );
    const handle = h.temporal.workflow.getHandle(gatewayWorkflowId(h.namespace, name));
    await eventually('gateway workflow completed', async () =>
      (await handle.describe()).status.name === 'COMPLETED' ? true : undefined,
    );
    await recordHistory('tailscale-gateway', 'publish-on-pool', handle);
  }, 240_000);
});
