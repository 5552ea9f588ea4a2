import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import type { TailscaleServices } from '../../../api/v1alpha1';
import { getVipService, listVipServices, putVipService } from '../../../activities/tailscale/vip-services';
import { readRegistry, tailscaleOwnerReferencesAnnotation } from '../../../activities/vip/registry';
import { startTailscaleSimulator, type TailscaleSimulator } from '../../../simulators/tailscale/server';
import { injectFault } from '../../faults/support/tailscale-faults';
import { eventually } from '../../support/eventually';
import {
  createProxyEndpoints,
  createTailscaleServices,
  waitUntilGone,
  createServicesWithProxies,
} from '../../support/objects';
import { instanceLabels, startOperator, type TestOperator } from '../../support/operator';
import { createTestNamespace, temporalClient, testKubeConfig, uniqueName } from '../../support/stack';
import { servicesWorkflowId, vipWorkflowId } from '../../../workflows/ids';
import { startTestTailnet, type TestTailnet } from '../../support/tailscale';

const group = 'gateway.tailscale.com';
const version = 'v1alpha1';

interface Cluster {
  namespace: string;
  tailnet: TestTailnet;
  operator: TestOperator;
}

/**
 * Two operators (different cluster and operator ids, own Temporal namespaces, workers and task queues)
 * sharing one tailnet, as two clusters would.
 */
describe('VIP services shared by two operators through the registry', () => {
  let kc: KubeConfig;
  let objects: CustomObjectsApi;
  let sim: TailscaleSimulator;
  let east: Cluster;
  let west: Cluster;

  const startCluster = async (cluster: string, temporalNamespace: string): Promise<Cluster> => {
    const namespace = await createTestNamespace(kc, cluster);
    const instance = uniqueName(cluster);
    const tailnet = await startTestTailnet({
      kc,
      namespace,
      name: uniqueName(`${cluster}-corp`),
      labels: instanceLabels(instance),
      sim,
    });
    const operator = startOperator({
      instance,
      temporalNamespace,
      watchNamespaces: [namespace],
      env: { OPERATOR_ID: `op-${cluster}`, CLUSTER_ID: cluster, TAILSCALE_API_BASE_URL: sim.url },
    });
    return { namespace, tailnet, operator };
  };

  beforeAll(async () => {
    kc = testKubeConfig();
    objects = kc.makeApiClient(CustomObjectsApi);
    sim = await startTailscaleSimulator({ dnsSuffix: 'tail0b1d.ts.net' });
    east = await startCluster('east', 'default');
    west = await startCluster('west', 'operator-b');
  });

  afterAll(async () => {
    await Promise.all([east?.operator.stop(), west?.operator.stop()]);
    await sim?.close();
  });

  const createServices = async (c: Cluster, name: string, serviceName: string, ports = ['tcp:443']) => {
    await createServicesWithProxies(kc, {
      namespace: c.namespace,
      name,
      operatorLabels: c.operator.labels,
      tailnet: c.tailnet.name,
      vipService: { name: serviceName, ports, tags: ['tag:web'] },
    });
  };

  const condition = async (c: Cluster, name: string, type: string) => {
    const svc = (await objects.getNamespacedCustomObject({
      group,
      version,
      namespace: c.namespace,
      plural: 'tailscaleservices',
      name,
    })) as TailscaleServices;
    return svc.status?.conditions?.find((x) => x.type === type);
  };

  const deleted = async (c: Cluster, name: string) => {
    const ref = { group, version, namespace: c.namespace, plural: 'tailscaleservices', name };
    await objects.deleteNamespacedCustomObject(ref);
    await waitUntilGone(name, () => objects.getNamespacedCustomObject(ref));
  };

  const consumersOf = async (serviceName: string) =>
    Object.keys(
      readRegistry((await getVipService(east.tailnet.api, serviceName))?.annotations)?.consumers ?? {},
    ).sort();

  /** Tailscale's own operator's view of who owns the service (docs/tailscale-api-facts.md §2.7), parsed. */
  const ownerReferencesOf = async (serviceName: string): Promise<unknown> => {
    const raw = (await getVipService(east.tailnet.api, serviceName))?.annotations?.[
      tailscaleOwnerReferencesAnnotation
    ];
    return raw === undefined ? undefined : JSON.parse(raw);
  };

  it('the second operator attaches instead of creating; the service lives until both have left', async () => {
    const serviceName = `svc:${uniqueName('shared')}`;
    await createServices(east, 'web', serviceName);
    await eventually(
      'east Ready',
      async () => ((await condition(east, 'web', 'Ready'))?.status === 'True' ? true : undefined),
      { timeoutMs: 60_000 },
    );
    // East created it. Its condition says Created until a later pass (the one that saw its hosts
    // approved, when they advertised after the first look) shows the re-check's outcome, Attached.
    expect(['Created', 'Attached']).toContain((await condition(east, 'web', 'VIPServiceReady'))?.reason);
    expect(
      readRegistry((await getVipService(east.tailnet.api, serviceName))?.annotations)?.ownerOperator,
    ).toBe('east/op-east');
    // In the shape Tailscale's operator writes: an operatorID and no `resource` (which would make it
    // refuse to share), so it appends itself instead of treating the service as someone else's.
    expect(await ownerReferencesOf(serviceName)).toEqual({ ownerRefs: [{ operatorID: 'east/op-east' }] });

    await createServices(west, 'web', serviceName);
    const westVip = await eventually(
      'west attached',
      async () => {
        const c = await condition(west, 'web', 'VIPServiceReady');
        return c?.status === 'True' ? c : undefined;
      },
      { timeoutMs: 60_000 },
    );
    expect(westVip.reason).toBe('Attached');
    expect(await consumersOf(serviceName)).toEqual(['east/op-east', 'west/op-west']);
    // The memo tells the two counts apart: both installs are attached, one object of west's uses it.
    const westTemporal = await temporalClient('operator-b');
    try {
      const memo = await eventually('west VIP memo after the attach', async () => {
        const { memo } = await westTemporal.client.workflow
          .getHandle(vipWorkflowId(west.tailnet.name, serviceName))
          .describe();
        return memo?.outcome === 'Attached' ? memo : undefined;
      });
      expect(memo).toMatchObject({
        operatorsAttached: 2,
        localConsumers: [servicesWorkflowId(west.namespace, 'web')],
      });
      expect(memo).not.toHaveProperty('consumers');
    } finally {
      await westTemporal.close();
    }
    expect((await listVipServices(east.tailnet.api)).filter((s) => s.name === serviceName)).toHaveLength(1);
    // The attaching operator appends its entry and keeps the creator's.
    expect(await ownerReferencesOf(serviceName)).toEqual({
      ownerRefs: [{ operatorID: 'east/op-east' }, { operatorID: 'west/op-west' }],
    });

    await deleted(east, 'web');
    const stored = await getVipService(east.tailnet.api, serviceName);
    expect(stored).not.toBeNull();
    expect(await consumersOf(serviceName)).toEqual(['west/op-west']);
    expect(readRegistry(stored?.annotations)?.ownerOperator).toBe('west/op-west');
    // Detaching takes our entry out of Tailscale's owner references too; the remaining consumer's stays.
    expect(await ownerReferencesOf(serviceName)).toEqual({ ownerRefs: [{ operatorID: 'west/op-west' }] });

    await deleted(west, 'web');
    expect(await getVipService(east.tailnet.api, serviceName)).toBeNull();
  });

  it('leaves a VIP service created outside the registry untouched and says so in status', async () => {
    const serviceName = `svc:${uniqueName('foreign')}`;
    await putVipService(east.tailnet.api, {
      name: serviceName,
      ports: ['tcp:80'],
      tags: ['tag:other'],
      annotations: {
        'tailscale.com/owner-references': '{"ownerRefs":[{"operatorID":"nTailscaleOperator"}]}',
      },
    });
    const before = await getVipService(east.tailnet.api, serviceName);
    await createServices(east, 'foreign', serviceName);
    const refused = await eventually(
      'NotOwned',
      async () => {
        const c = await condition(east, 'foreign', 'VIPServiceReady');
        return c?.status === 'False' ? c : undefined;
      },
      { timeoutMs: 60_000 },
    );
    expect(refused.reason).toBe('NotOwned');
    expect(refused.message).toContain('left untouched');
    expect((await condition(east, 'foreign', 'Ready'))?.status).toBe('False');

    await deleted(east, 'foreign');
    expect(await getVipService(east.tailnet.api, serviceName)).toEqual(before);
  });

  it('converges to the same end state when the worker is killed mid-reconcile, with no duplicate or orphan', async () => {
    const serviceName = `svc:${uniqueName('crash')}`;
    await createServices(east, 'crash', serviceName);
    // Kill as soon as the VIP workflow is creating the service, then bring a new worker up.
    await eventually('VIP service write started', async () =>
      (await sim.admin.requestCounts()).writes > 0 ? true : undefined,
    );
    await east.operator.killWorker();
    east.operator.startWorker();
    await eventually(
      'Ready after the crash',
      async () => ((await condition(east, 'crash', 'Ready'))?.status === 'True' ? true : undefined),
      { timeoutMs: 90_000 },
    );
    expect((await listVipServices(east.tailnet.api)).filter((s) => s.name === serviceName)).toHaveLength(1);

    await objects.deleteNamespacedCustomObject({
      group,
      version,
      namespace: east.namespace,
      plural: 'tailscaleservices',
      name: 'crash',
    });
    await east.operator.killWorker();
    east.operator.startWorker();
    await eventually(
      'deleted after the crash',
      async () => ((await getVipService(east.tailnet.api, serviceName)) ? undefined : true),
      { timeoutMs: 90_000 },
    );
    await waitUntilGone('object', () =>
      objects.getNamespacedCustomObject({
        group,
        version,
        namespace: east.namespace,
        plural: 'tailscaleservices',
        name: 'crash',
      }),
    );
  });

  it('an object joining while the last one is being deleted hears its own answer, and ends Ready', async () => {
    const serviceName = `svc:${uniqueName('handoff')}`;
    await createServices(east, 'leaving', serviceName);
    await eventually(
      'leaving Ready',
      async () => ((await condition(east, 'leaving', 'Ready'))?.status === 'True' ? true : undefined),
      { timeoutMs: 60_000 },
    );
    await createProxyEndpoints(kc, {
      namespace: east.namespace,
      name: 'joining-proxies',
      labels: { app: 'joining' },
      tailnet: east.tailnet.name,
    });
    // Hold the VIP service's deletion so the newcomer's join lands while that activity runs.
    const held = await injectFault(sim.admin, {
      kind: 'latency',
      latencyMs: 8000,
      method: 'DELETE',
      path: `**/vip-services/${serviceName}`,
    });
    await objects.deleteNamespacedCustomObject({
      group,
      version,
      namespace: east.namespace,
      plural: 'tailscaleservices',
      name: 'leaving',
    });
    await held.waitFired();
    await createTailscaleServices(kc, {
      namespace: east.namespace,
      name: 'joining',
      labels: east.operator.labels,
      spec: {
        tailnet: east.tailnet.name,
        selector: { matchLabels: { app: 'joining' } },
        vipService: { name: serviceName, ports: ['tcp:443'], tags: ['tag:web'] },
      },
    });
    // Told the deletion's outcome as its answer, it would publish "not attached" and keep it for 6 h.
    const ready = await eventually(
      'joining Ready',
      async () => {
        const c = await condition(east, 'joining', 'VIPServiceReady');
        return c?.status === 'True' ? c : undefined;
      },
      { timeoutMs: 60_000 },
    );
    expect(ready.reason).toBe('Created');
    expect(await consumersOf(serviceName)).toEqual(['east/op-east']);
    await held.remove();
    await deleted(east, 'joining');
    expect(await getVipService(east.tailnet.api, serviceName)).toBeNull();
  });
});
