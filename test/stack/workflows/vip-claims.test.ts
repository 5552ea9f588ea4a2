import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import type { Client } from '@temporalio/client';
import type { TailscaleServices } from '../../../api/v1alpha1';
import { getVipService } from '../../../activities/tailscale/vip-services';
import { readRegistry } from '../../../activities/vip/registry';
import { eventually } from '../../support/eventually';
import { configSecretOf, proxiesOf } from '../../support/proxies';
import {
  advertisedServices,
  createProxyEndpoints,
  createServicesWithProxies,
  createTailscaleServices,
} from '../../support/objects';
import { instanceLabels, startOperator, type TestOperator } from '../../support/operator';
import { recordHistory } from '../../support/record-history';
import { createTestNamespace, temporalClient, testKubeConfig, uniqueName } from '../../support/stack';
import { servicesWorkflowId, vipWorkflowId } from '../../../workflows/ids';
import { startTestTailnet, type TestTailnet } from '../../support/tailscale';
import { conditionOf, isConditionTrue } from '../../support/conditions';

const group = 'gateway.tailscale.com';
const version = 'v1alpha1';

/**
 * One install watching two tenants' namespaces. `attacker-*` sorts before `victim-*`, so a spec chosen
 * by name order (the behaviour this replaces) would be the attacker's.
 */
describe('VIP service claims: the first object created owns the spec, other namespaces need its grant', () => {
  let kc: KubeConfig;
  let objects: CustomObjectsApi;
  let operator: TestOperator;
  let tailnet: TestTailnet;
  let victim: string;
  let attacker: string;
  let temporal: { client: Client; close(): Promise<void> };

  beforeAll(async () => {
    kc = testKubeConfig();
    objects = kc.makeApiClient(CustomObjectsApi);
    victim = await createTestNamespace(kc, 'victim');
    attacker = await createTestNamespace(kc, 'attacker');
    const instance = uniqueName('claims');
    tailnet = await startTestTailnet({
      kc,
      namespace: victim,
      name: uniqueName('corp'),
      labels: instanceLabels(instance),
    });
    operator = startOperator({
      instance,
      watchNamespaces: [victim, attacker],
      env: { OPERATOR_ID: 'op-claims', CLUSTER_ID: 'east', TAILSCALE_API_BASE_URL: tailnet.sim.url },
    });
    temporal = await temporalClient();
  });

  afterAll(async () => {
    await operator?.stop();
    await temporal?.close();
    await tailnet?.close();
  });

  const ref = (namespace: string, name: string) => ({
    group,
    version,
    namespace,
    plural: 'tailscaleservices',
    name,
  });
  const get = async (namespace: string, name: string) =>
    (await objects.getNamespacedCustomObject(ref(namespace, name))) as TailscaleServices;
  const conditionNow = async (namespace: string, name: string, type: string) =>
    conditionOf(await get(namespace, name), type);
  const create = (namespace: string, name: string, vipService: Record<string, unknown>) =>
    createServicesWithProxies(kc, {
      namespace,
      name,
      operatorLabels: operator.labels,
      tailnet: tailnet.name,
      vipService: { tags: ['tag:web'], ...vipService },
    });
  const readyTrue = (namespace: string, name: string, generation = 1) =>
    eventually(
      `${namespace}/${name} Ready`,
      async () => {
        const svc = await get(namespace, name);
        return svc.status?.observedGeneration === generation && isConditionTrue(svc) ? svc : undefined;
      },
      { timeoutMs: 60_000 },
    );
  const readyReason = (namespace: string, name: string, reason: string) =>
    eventually(
      `${namespace}/${name} Ready=False ${reason}`,
      async () => {
        const c = await conditionNow(namespace, name, 'Ready');
        return c?.status === 'False' && c.reason === reason ? c : undefined;
      },
      { timeoutMs: 60_000 },
    );
  /** Creation times have a one-second resolution: the next object must be created in a later second. */
  const nextSecondAfter = async (svc: TailscaleServices) => {
    const created = Date.parse(svc.metadata.creationTimestamp ?? '');
    await eventually('a later second', () => (Date.now() >= created + 1000 ? true : undefined));
  };
  const advertisedBy = (namespace: string, name: string) =>
    advertisedServices(kc, { namespace, name: `${name}-proxies` }, 0);
  const routesOf = async (serviceName: string) =>
    readRegistry((await getVipService(tailnet.api, serviceName))?.annotations)?.consumers['east/op-claims']
      ?.routes;
  /** What the owner shows: its conditions without their transition times, and its VIP service status. */
  const shownBy = async (namespace: string, name: string) => {
    const svc = await get(namespace, name);
    return {
      conditions: (svc.status?.conditions ?? []).map(({ type, status, reason, message }) => ({
        type,
        status,
        reason,
        message,
      })),
      vipService: svc.status?.vipService,
    };
  };

  it("refuses another namespace's claim on a VIP service: the owner keeps its spec, status and Ready, and the claimer's proxies never advertise it", async () => {
    const serviceName = `svc:${uniqueName('web')}`;
    await create(victim, 'web', { name: serviceName, ports: ['tcp:443'] });
    const owner = await readyTrue(victim, 'web');
    const before = await shownBy(victim, 'web');
    expect(await advertisedBy(victim, 'web')).toEqual([serviceName]);
    await nextSecondAfter(owner);

    await createProxyEndpoints(kc, {
      namespace: attacker,
      name: 'aaa-proxies',
      labels: { app: 'aaa' },
      tailnet: tailnet.name,
    });
    const configVersion = async () =>
      (
        await kc
          .makeApiClient(CoreV1Api)
          .readNamespacedSecret(configSecretOf(proxiesOf(attacker, 'aaa-proxies'), 0))
      ).metadata?.resourceVersion;
    const untouched = await configVersion();
    await createTailscaleServices(kc, {
      namespace: attacker,
      name: 'aaa',
      labels: operator.labels,
      spec: {
        tailnet: tailnet.name,
        selector: { matchLabels: { app: 'aaa' } },
        vipService: { name: serviceName, ports: ['tcp:9999'], tags: ['tag:web'], allowedNamespaces: ['*'] },
      },
    });
    const refused = await readyReason(attacker, 'aaa', 'ClaimRefused');
    expect(refused.message).toContain(`TailscaleServices ${victim}/web`);
    expect(refused.message).toContain('spec.vipService.allowedNamespaces');
    expect(await conditionNow(attacker, 'aaa', 'VIPServiceReady')).toMatchObject({
      status: 'False',
      reason: 'ClaimRefused',
    });
    // Told nothing of the service it may not use.
    expect((await get(attacker, 'aaa')).status?.vipService).toEqual({ name: serviceName });
    // Never advertised, not even before the refusal: its proxies' config was not written at all.
    expect(await advertisedBy(attacker, 'aaa')).toEqual([]);
    expect(await configVersion()).toBe(untouched);

    const stored = await getVipService(tailnet.api, serviceName);
    expect(stored?.ports).toEqual(['tcp:443']);
    expect(await routesOf(serviceName)).toEqual([`services/${victim}/web`]);
    expect(await shownBy(victim, 'web')).toEqual(before);
    expect(await advertisedBy(victim, 'web')).toEqual([serviceName]);
    await recordHistory(
      'vip-service',
      'claim-refused',
      temporal.client.workflow.getHandle(vipWorkflowId(tailnet.name, serviceName)),
    );
    await recordHistory(
      'tailscale-services',
      'claim-refused',
      temporal.client.workflow.getHandle(servicesWorkflowId(attacker, 'aaa')),
    );
  });

  it('admits a namespace the owner grants, and withdraws it when the grant is taken back', async () => {
    const serviceName = `svc:${uniqueName('granted')}`;
    const spec = { name: serviceName, ports: ['tcp:443'] };
    await create(victim, 'granting', { ...spec, allowedNamespaces: [attacker] });
    const owner = await readyTrue(victim, 'granting');
    await nextSecondAfter(owner);

    await create(attacker, 'friend', spec);
    const friend = await readyTrue(attacker, 'friend');
    expect(friend.status?.vipService?.addresses).toEqual(owner.status?.vipService?.addresses);
    expect(await advertisedBy(attacker, 'friend')).toEqual([serviceName]);
    expect(await routesOf(serviceName)).toEqual([
      `services/${attacker}/friend`,
      `services/${victim}/granting`,
    ]);

    await objects.patchNamespacedCustomObject({
      ...ref(victim, 'granting'),
      body: [{ op: 'remove', path: '/spec/vipService/allowedNamespaces' }],
    });
    await readyReason(attacker, 'friend', 'ClaimRefused');
    await eventually('withdrawn from the refused proxies', async () =>
      (await advertisedBy(attacker, 'friend')).length === 0 ? true : undefined,
    );
    await readyTrue(victim, 'granting', 2);
    expect(await routesOf(serviceName)).toEqual([`services/${victim}/granting`]);
  });

  it('applies the spec of the object created first in a namespace, not of the one whose name sorts first', async () => {
    const serviceName = `svc:${uniqueName('order')}`;
    await create(victim, 'zzz-first', { name: serviceName, ports: ['tcp:443'] });
    const first = await readyTrue(victim, 'zzz-first');
    await nextSecondAfter(first);

    await create(victim, 'aaa-second', { name: serviceName, ports: ['tcp:8443'] });
    const mismatch = await eventually(
      'the later object told its spec is not applied',
      async () => {
        const c = await conditionNow(victim, 'aaa-second', 'VIPServiceReady');
        return c?.reason === 'SpecMismatch' ? c : undefined;
      },
      { timeoutMs: 60_000 },
    );
    expect(mismatch.message).toContain(`services/${victim}/zzz-first`);
    expect((await getVipService(tailnet.api, serviceName))?.ports).toEqual(['tcp:443']);
    // Same namespace: it shares the service as before, advertised by its proxies too.
    expect(await advertisedBy(victim, 'aaa-second')).toEqual([serviceName]);
    expect(await routesOf(serviceName)).toEqual([
      `services/${victim}/aaa-second`,
      `services/${victim}/zzz-first`,
    ]);
    expect(await conditionNow(victim, 'zzz-first', 'Ready')).toMatchObject({ status: 'True' });
  });
});
