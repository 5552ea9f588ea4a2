import { CoreV1Api } from '@kubernetes/client-node';
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
import { recordHistory } from '../../support/record-history';
import { useStackOperator } from '../../support/stack-operator';
import { uniqueName } from '../../support/stack';
import { servicesWorkflowId, vipWorkflowId } from '../../../workflows/ids';
import { conditionOf, isConditionTrue } from '../../support/conditions';

const group = 'gateway.tailscale.com';
const version = 'v1alpha1';

/**
 * One install watching two tenants' namespaces. `attacker-*` sorts before `victim-*`, so a spec chosen
 * by name order (the behaviour this replaces) would be the attacker's.
 */
describe('VIP service claims: the first object created owns the spec, other namespaces need its grant', () => {
  const stack = useStackOperator({ name: 'victim', moreNamespaces: ['attacker'], operatorId: 'op-claims' });

  const ref = (namespace: string, name: string) => ({
    group,
    version,
    namespace,
    plural: 'tailscaleservices',
    name,
  });
  const get = async (namespace: string, name: string) =>
    (await stack.objects.getNamespacedCustomObject(ref(namespace, name))) as TailscaleServices;
  const conditionNow = async (namespace: string, name: string, type: string) =>
    conditionOf(await get(namespace, name), type);
  const create = (namespace: string, name: string, vipService: Record<string, unknown>) =>
    createServicesWithProxies(stack.kc, {
      namespace,
      name,
      operatorLabels: stack.operator.labels,
      tailnet: stack.tailnet.name,
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
    advertisedServices(stack.kc, { namespace, name: `${name}-proxies` }, 0);
  const routesOf = async (serviceName: string) =>
    readRegistry((await getVipService(stack.tailnet.api, serviceName))?.annotations)?.consumers[
      'east/op-claims'
    ]?.routes;
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
    await create(stack.namespace, 'web', { name: serviceName, ports: ['tcp:443'] });
    const owner = await readyTrue(stack.namespace, 'web');
    const before = await shownBy(stack.namespace, 'web');
    expect(await advertisedBy(stack.namespace, 'web')).toEqual([serviceName]);
    await nextSecondAfter(owner);

    await createProxyEndpoints(stack.kc, {
      namespace: stack.moreNamespaces.attacker,
      name: 'aaa-proxies',
      labels: { app: 'aaa' },
      tailnet: stack.tailnet.name,
    });
    const configVersion = async () =>
      (
        await stack.kc
          .makeApiClient(CoreV1Api)
          .readNamespacedSecret(configSecretOf(proxiesOf(stack.moreNamespaces.attacker, 'aaa-proxies'), 0))
      ).metadata?.resourceVersion;
    const untouched = await configVersion();
    await createTailscaleServices(stack.kc, {
      namespace: stack.moreNamespaces.attacker,
      name: 'aaa',
      labels: stack.operator.labels,
      spec: {
        tailnet: stack.tailnet.name,
        selector: { matchLabels: { app: 'aaa' } },
        vipService: { name: serviceName, ports: ['tcp:9999'], tags: ['tag:web'], allowedNamespaces: ['*'] },
      },
    });
    const refused = await readyReason(stack.moreNamespaces.attacker, 'aaa', 'ClaimRefused');
    expect(refused.message).toContain(`TailscaleServices ${stack.namespace}/web`);
    expect(refused.message).toContain('spec.vipService.allowedNamespaces');
    expect(await conditionNow(stack.moreNamespaces.attacker, 'aaa', 'VIPServiceReady')).toMatchObject({
      status: 'False',
      reason: 'ClaimRefused',
    });
    // Told nothing of the service it may not use.
    expect((await get(stack.moreNamespaces.attacker, 'aaa')).status?.vipService).toEqual({
      name: serviceName,
    });
    // Never advertised, not even before the refusal: its proxies' config was not written at all.
    expect(await advertisedBy(stack.moreNamespaces.attacker, 'aaa')).toEqual([]);
    expect(await configVersion()).toBe(untouched);

    const stored = await getVipService(stack.tailnet.api, serviceName);
    expect(stored?.ports).toEqual(['tcp:443']);
    expect(await routesOf(serviceName)).toEqual([`services/${stack.namespace}/web`]);
    expect(await shownBy(stack.namespace, 'web')).toEqual(before);
    expect(await advertisedBy(stack.namespace, 'web')).toEqual([serviceName]);
    await recordHistory(
      'vip-service',
      'claim-refused',
      stack.temporal.workflow.getHandle(vipWorkflowId(stack.tailnet.name, serviceName)),
    );
    await recordHistory(
      'tailscale-services',
      'claim-refused',
      stack.temporal.workflow.getHandle(servicesWorkflowId(stack.moreNamespaces.attacker, 'aaa')),
    );
  });

  it('admits a namespace the owner grants, and withdraws it when the grant is taken back', async () => {
    const serviceName = `svc:${uniqueName('granted')}`;
    const spec = { name: serviceName, ports: ['tcp:443'] };
    await create(stack.namespace, 'granting', {
      ...spec,
      allowedNamespaces: [stack.moreNamespaces.attacker],
    });
    const owner = await readyTrue(stack.namespace, 'granting');
    await nextSecondAfter(owner);

    await create(stack.moreNamespaces.attacker, 'friend', spec);
    const friend = await readyTrue(stack.moreNamespaces.attacker, 'friend');
    expect(friend.status?.vipService?.addresses).toEqual(owner.status?.vipService?.addresses);
    expect(await advertisedBy(stack.moreNamespaces.attacker, 'friend')).toEqual([serviceName]);
    expect(await routesOf(serviceName)).toEqual([
      `services/${stack.moreNamespaces.attacker}/friend`,
      `services/${stack.namespace}/granting`,
    ]);

    await stack.objects.patchNamespacedCustomObject({
      ...ref(stack.namespace, 'granting'),
      body: [{ op: 'remove', path: '/spec/vipService/allowedNamespaces' }],
    });
    await readyReason(stack.moreNamespaces.attacker, 'friend', 'ClaimRefused');
    await eventually('withdrawn from the refused proxies', async () =>
      (await advertisedBy(stack.moreNamespaces.attacker, 'friend')).length === 0 ? true : undefined,
    );
    await readyTrue(stack.namespace, 'granting', 2);
    expect(await routesOf(serviceName)).toEqual([`services/${stack.namespace}/granting`]);
  });

  it('applies the spec of the object created first in a namespace, not of the one whose name sorts first', async () => {
    const serviceName = `svc:${uniqueName('order')}`;
    await create(stack.namespace, 'zzz-first', { name: serviceName, ports: ['tcp:443'] });
    const first = await readyTrue(stack.namespace, 'zzz-first');
    await nextSecondAfter(first);

    await create(stack.namespace, 'aaa-second', { name: serviceName, ports: ['tcp:8443'] });
    const mismatch = await eventually(
      'the later object told its spec is not applied',
      async () => {
        const c = await conditionNow(stack.namespace, 'aaa-second', 'VIPServiceReady');
        return c?.reason === 'SpecMismatch' ? c : undefined;
      },
      { timeoutMs: 60_000 },
    );
    expect(mismatch.message).toContain(`services/${stack.namespace}/zzz-first`);
    expect((await getVipService(stack.tailnet.api, serviceName))?.ports).toEqual(['tcp:443']);
    // Same namespace: it shares the service as before, advertised by its proxies too.
    expect(await advertisedBy(stack.namespace, 'aaa-second')).toEqual([serviceName]);
    expect(await routesOf(serviceName)).toEqual([
      `services/${stack.namespace}/aaa-second`,
      `services/${stack.namespace}/zzz-first`,
    ]);
    expect(await conditionNow(stack.namespace, 'zzz-first', 'Ready')).toMatchObject({ status: 'True' });
  });
});
