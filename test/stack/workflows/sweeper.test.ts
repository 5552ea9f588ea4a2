import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import type { TailscaleServices } from '../../../api/v1alpha1';
import { getVipService, putVipService } from '../../../activities/tailscale/vip-services';
import { attachConsumer, readRegistry, writeRegistry } from '../../../activities/vip/registry';
import { eventually } from '../../support/eventually';
import { createProxyEndpoints, createTailscaleServices } from '../../support/objects';
import { instanceLabels, startOperator, type TestOperator } from '../../support/operator';
import { createTestNamespace, testKubeConfig, uniqueName } from '../../support/stack';
import { startTestTailnet, type TestTailnet } from '../../support/tailscale';

const group = 'gateway.tailscale.com';
const version = 'v1alpha1';

describe('the per-tailnet sweeper (a durable timer in the running operator)', () => {
  let kc: KubeConfig;
  let objects: CustomObjectsApi;
  let operator: TestOperator;
  let tailnet: TestTailnet;
  let namespace: string;

  beforeAll(async () => {
    kc = testKubeConfig();
    objects = kc.makeApiClient(CustomObjectsApi);
    namespace = await createTestNamespace(kc, 'sweeper');
    const instance = uniqueName('sweeper');
    tailnet = await startTestTailnet({
      kc,
      namespace,
      name: uniqueName('corp'),
      labels: instanceLabels(instance),
    });
    operator = startOperator({
      instance,
      watchNamespaces: [namespace],
      env: {
        OPERATOR_ID: 'op-a',
        CLUSTER_ID: 'east',
        TAILSCALE_API_BASE_URL: tailnet.sim.url,
        SWEEP_INTERVAL_SECONDS: '1',
      },
    });
  });

  afterAll(async () => {
    await operator?.stop();
    await tailnet?.close();
  });

  it('removes a consumer unseen for over 30 minutes, then makes no Tailscale write while idle', async () => {
    const name = uniqueName('swept');
    const serviceName = `svc:${name}`;
    await createProxyEndpoints(kc, {
      namespace,
      name: `${name}-proxies`,
      labels: { app: name },
      tailnet: tailnet.name,
    });
    await createTailscaleServices(kc, {
      namespace,
      name,
      labels: operator.labels,
      spec: {
        tailnet: tailnet.name,
        selector: { matchLabels: { app: name } },
        vipService: { ports: ['tcp:443'], tags: ['tag:web'] },
      },
    });
    await eventually(
      'Ready',
      async () => {
        const svc = (await objects.getNamespacedCustomObject({
          group,
          version,
          namespace,
          plural: 'tailscaleservices',
          name,
        })) as TailscaleServices;
        return svc.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True' ? true : undefined;
      },
      { timeoutMs: 60_000 },
    );

    // Another cluster's operator that died two hours ago, leaving its entry behind.
    const current = await getVipService(tailnet.api, serviceName);
    const registry = readRegistry(current?.annotations);
    if (!current || !registry) throw new Error('no registry on the created service');
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000).toISOString();
    const withGhost = attachConsumer(registry, 'gone/op-x', { routes: ['services/x/web'] }, twoHoursAgo);
    await putVipService(tailnet.api, {
      ...current,
      annotations: writeRegistry(current.annotations, withGhost),
    });

    await eventually(
      'stale consumer swept',
      async () => {
        const consumers =
          readRegistry((await getVipService(tailnet.api, serviceName))?.annotations)?.consumers ?? {};
        return consumers['gone/op-x'] ? undefined : Object.keys(consumers);
      },
      { timeoutMs: 30_000 },
    ).then((consumers) => expect(consumers).toEqual(['east/op-a']));

    await tailnet.sim.admin.resetRequestCounts();
    await new Promise((r) => setTimeout(r, 5000));
    const counts = await tailnet.sim.admin.requestCounts();
    expect(counts.writes).toBe(0);
    // The sweeper did run meanwhile: one list of services per pass.
    const lists = Object.entries(counts.routes)
      .filter(([route]) => /^GET .*\/vip-services$/.test(route))
      .reduce((n, [, c]) => n + c, 0);
    expect(lists).toBeGreaterThanOrEqual(2);
  });
});
