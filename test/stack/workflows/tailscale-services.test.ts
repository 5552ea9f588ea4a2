import type { TailscaleEndpoints } from '../../../api/v1alpha1';
import type { DeviceStatus } from '../../../api/v1alpha1/proxy';
import { deleteDevice } from '../../../activities/tailscale/devices';
import { createAuthKey } from '../../../activities/tailscale/keys';
import { getVipService, listVipServices } from '../../../activities/tailscale/vip-services';
import { readRegistry } from '../../../activities/vip/registry';
import { servicesWorkflowId, vipWorkflowId } from '../../../workflows/ids';
import { resourceStatusQuery, vipStateQuery } from '../../../workflows/messages';
import { vipServiceNameKey } from '../../../workflows/search-attributes';
import { injectFault } from '../../faults/support/tailscale-faults';
import { eventually } from '../../support/eventually';
import {
  advertisedServices,
  createProxyEndpoints,
  setAdvertisedServices,
  waitUntilGone,
} from '../../support/objects';
import { recordHistory } from '../../support/record-history';
import { useStackOperator } from '../../support/stack-operator';
import { uniqueName } from '../../support/stack';
import { conditionOf, isConditionTrue } from '../../support/conditions';
import {
  signalsSkippedOwnFinalizer,
  signalsSkippedUnchanged,
  watchersMetricsBase,
} from '../../support/metrics';

const group = 'gateway.tailscale.com';
const version = 'v1alpha1';

describe('TailscaleServices: a VIP service whose lifecycle is a durable workflow', () => {
  const stack = useStackOperator({
    name: 'services',
    // For the watchers' /metrics: their count of dropped changes is the quiet point of a no-signal check.
    env: { HEALTH_ADDRESS: '127.0.0.1:0' },
    // Plays the replicas of the endpoints the operator provisions (labelled for it by their template).
    proxies: true,
  });

  const createEndpoints = (name: string, labels: Record<string, string>, replicas = 2) =>
    createProxyEndpoints(stack.kc, {
      namespace: stack.namespace,
      name,
      labels,
      tailnet: stack.tailnet.name,
      replicas,
    });
  const advertisedBy = (endpoints: string, replica: number) =>
    advertisedServices(stack.kc, { namespace: stack.namespace, name: endpoints }, replica);

  const setEndpointsStatus = (endpoints: string, devices: DeviceStatus[]) =>
    stack.objects.patchNamespacedCustomObjectStatus({
      group,
      version,
      namespace: stack.namespace,
      plural: 'tailscaleendpoints',
      name: endpoints,
      body: [
        {
          op: 'add',
          path: '/status',
          value: {
            observedGeneration: 1,
            devices,
            conditions: [
              {
                type: 'Ready',
                status: 'True',
                reason: 'Ready',
                message: 'set by the test',
                observedGeneration: 1,
                lastTransitionTime: new Date().toISOString(),
              },
            ],
          },
        },
      ],
    });

  const readyAt = async (name: string, generation: number) => {
    const svc = await stack.tailscaleServices.get(name);
    const ready = conditionOf(svc);
    return svc.status?.observedGeneration === generation && ready?.status === 'True' ? svc : undefined;
  };

  it('creates the VIP service, advertises it on the selected proxies, follows spec changes, and deletes it', async () => {
    const name = uniqueName('web');
    const serviceName = `svc:${name}`;
    await createEndpoints(`${name}-proxies`, { app: name });
    // The device status the endpoints workflow would publish: one replica online, one down.
    const proxyDevices = [
      { hostname: `${name}-proxies-0`, statefulSetPod: `${name}-proxies-0`, nodeID: 'nProxy0', online: true },
      {
        hostname: `${name}-proxies-1`,
        statefulSetPod: `${name}-proxies-1`,
        nodeID: 'nProxy1',
        online: false,
      },
    ];
    await setEndpointsStatus(`${name}-proxies`, proxyDevices);
    // The tailnet first, so this object's passes below are its own and not the tailnet's.
    await eventually('tailnet Ready', async () => {
      const t = (await stack.objects.getClusterCustomObject({
        group,
        version,
        plural: 'tailscaletailnets',
        name: stack.tailnet.name,
      })) as { status?: { conditions?: { type: string; status: string }[] } };
      return isConditionTrue(t) || undefined;
    });
    // The proxies advertise the name already (replicas restarted with it would): Tailscale lists them as
    // approved hosts (policy) at the VIP workflow's first look, so the creation's one pass is Ready.
    for (const i of [0, 1]) {
      await setAdvertisedServices(stack.kc, { namespace: stack.namespace, name: `${name}-proxies` }, i, [
        serviceName,
      ]);
    }
    await eventually('the stand-in proxies advertise the name', async () => {
      const devices = (await stack.tailnet.sim.admin.dumpState()).tailnets.flatMap((t) => t.devices);
      const hosts = devices.filter((d) => Object.hasOwn(d.advertisedServices, serviceName));
      return hosts.length === 2 || undefined;
    });
    await stack.tailscaleServices.create(name, {
      tailnet: stack.tailnet.name,
      selector: { matchLabels: { app: name } },
      vipService: { ports: ['tcp:443'], tags: ['tag:web'] },
    });

    const ready = await eventually('Ready', () => readyAt(name, 1), { timeoutMs: 60_000 });
    const stored = await getVipService(stack.tailnet.api, serviceName);
    expect(stored).toMatchObject({ name: serviceName, ports: ['tcp:443'], tags: ['tag:web'] });
    const registry = readRegistry(stored?.annotations);
    expect(registry?.ownerOperator).toBe('east/op-a');
    expect(registry?.consumers['east/op-a']?.routes).toEqual([`services/${stack.namespace}/${name}`]);
    // Our proxies' node IDs vouch for us to peers' sweepers.
    expect(registry?.consumers['east/op-a']?.devices).toEqual(['nProxy0', 'nProxy1']);
    expect(stored?.annotations?.['gateway.tailscale.com/schema-version']).toBe('v1');
    // The simulator allocates one Tailscale IPv4 (CGNAT range) and one IPv6 (Tailscale ULA) per service.
    expect(stored?.addrs).toHaveLength(2);
    expect(
      stored?.addrs.filter((a) => /^100\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\.\d+\.\d+$/.test(a)),
    ).toHaveLength(1);
    expect(stored?.addrs.filter((a) => /^fd7a:115c:a1e0:/i.test(a))).toHaveLength(1);
    expect(ready.status?.vipService).toEqual({
      name: serviceName,
      addresses: stored?.addrs,
      dnsName: `${name}.${stack.tailnet.dnsSuffix}`,
      ownerOperator: 'east/op-a',
      consumers: 1,
    });
    // Which machines serve it, and how many of them are up.
    expect(ready.status?.selectedEndpoints).toEqual([
      {
        name: `${name}-proxies`,
        autoProvisioned: false,
        devices: [`${name}-proxies-0`, `${name}-proxies-1`],
        ready: true,
      },
    ]);
    expect(ready.status?.totalBackends).toBe(2);
    expect(ready.status?.healthyBackends).toBe(1);
    expect(ready.metadata.finalizers).toContain('gateway.tailscale.com/finalizer');
    expect(await advertisedBy(`${name}-proxies`, 0)).toEqual([serviceName]);
    expect(await advertisedBy(`${name}-proxies`, 1)).toEqual([serviceName]);

    // Our own status writes and unrelated metadata edits reach no workflow: signals cost Temporal actions.
    const servicesHandle = stack.temporal.workflow.getHandle(servicesWorkflowId(stack.namespace, name));
    const signalCount = async () =>
      ((await servicesHandle.fetchHistory()).events ?? []).filter(
        (e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'objectChanged',
      ).length;
    const signalsBefore = await signalCount();
    const metrics = await watchersMetricsBase(stack.operator);
    // The creation was one signal: our finalizer write, echoed back by the watch, was dropped, as the
    // workflow holds the finalizer its pass added.
    expect(signalsBefore).toBe(1);
    expect(await signalsSkippedOwnFinalizer(metrics)).toBeGreaterThan(0);
    const skippedBefore = await signalsSkippedUnchanged(metrics);
    await stack.objects.patchNamespacedCustomObject({
      group,
      version,
      namespace: stack.namespace,
      plural: 'tailscaleservices',
      name,
      body: [{ op: 'add', path: '/metadata/annotations', value: { 'example.com/note': 'irrelevant' } }],
    });
    // The quiet point: the watchers saw the edit and dropped it as changing nothing the workflow uses.
    await eventually('the watchers drop the edit', async () =>
      (await signalsSkippedUnchanged(metrics)) > skippedBefore ? true : undefined,
    );
    expect(await signalCount()).toBe(signalsBefore);
    // Nor does the VIP workflow's settle check (news that changes nothing shown): the creation cost one pass.
    expect((await servicesHandle.query(resourceStatusQuery)).reconciles).toBe(1);

    // The Temporal UI shows the VIP service's own workflow, searchable by name.
    const vip = await stack.temporal.workflow
      .getHandle(vipWorkflowId(stack.tailnet.name, serviceName))
      .describe();
    expect(vip.typedSearchAttributes.get(vipServiceNameKey)).toBe(serviceName);
    expect(vip.memo).toMatchObject({ vipService: serviceName, addresses: stored?.addrs });

    await stack.objects.patchNamespacedCustomObject({
      group,
      version,
      namespace: stack.namespace,
      plural: 'tailscaleservices',
      name,
      body: [
        {
          op: 'replace',
          path: '/spec/vipService',
          value: { ports: ['tcp:443', 'tcp:8443'], tags: ['tag:web', 'tag:api'] },
        },
      ],
    });
    await eventually('Ready at generation 2', () => readyAt(name, 2), { timeoutMs: 60_000 });
    const updated = await getVipService(stack.tailnet.api, serviceName);
    expect(updated?.ports).toEqual(['tcp:443', 'tcp:8443']);
    expect(updated?.tags).toEqual(['tag:web', 'tag:api']);
    expect(updated?.addrs).toEqual(stored?.addrs);

    await stack.objects.deleteNamespacedCustomObject({
      group,
      version,
      namespace: stack.namespace,
      plural: 'tailscaleservices',
      name,
    });
    await waitUntilGone('object (finalizer removed)', () => stack.tailscaleServices.get(name));
    expect(await getVipService(stack.tailnet.api, serviceName)).toBeNull();
    expect(await advertisedBy(`${name}-proxies`, 0)).toEqual([]);
    const handle = stack.temporal.workflow.getHandle(servicesWorkflowId(stack.namespace, name));
    await eventually('services workflow completed', async () =>
      (await handle.describe()).status.name === 'COMPLETED' ? true : undefined,
    );
    await recordHistory('tailscale-services', 'create-update-delete', handle);
    await recordHistory(
      'vip-service',
      'create-update-delete',
      stack.temporal.workflow.getHandle(vipWorkflowId(stack.tailnet.name, serviceName)),
    );
  });

  it('auto-provisions endpoints from the template and deletes them once nothing selects them', async () => {
    const name = uniqueName('auto');
    await stack.tailscaleServices.create(name, {
      tailnet: stack.tailnet.name,
      selector: { matchLabels: { app: name, tier: 'frontend' } },
      vipService: { ports: ['tcp:80'], tags: ['tag:web'] },
      endpointTemplate: { tags: ['tag:k8s'], replicas: 1, nameSuffix: '-proxies' },
    });
    const provisioned = await eventually(
      'auto-provisioned endpoints',
      async () =>
        (await stack.objects.getNamespacedCustomObject({
          group,
          version,
          namespace: stack.namespace,
          plural: 'tailscaleendpoints',
          name: `${name}-proxies`,
        })) as TailscaleEndpoints,
    );
    expect(provisioned.metadata.annotations?.['tailscale-gateway.com/auto-provisioned']).toBe('true');
    expect(provisioned.metadata.labels).toMatchObject({ app: name, tier: 'frontend' });
    expect(provisioned.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'TailscaleServices', name });
    expect(provisioned.spec).toMatchObject({
      tailnet: stack.tailnet.name,
      tags: ['tag:k8s'],
      proxy: { replicas: 1 },
    });

    // A hand-made endpoints object with the same labels is never deleted by the cleanup.
    await createEndpoints(`${name}-manual`, { app: name, tier: 'frontend' }, 1);
    await stack.objects.deleteNamespacedCustomObject({
      group,
      version,
      namespace: stack.namespace,
      plural: 'tailscaleservices',
      name,
    });
    await waitUntilGone('auto-provisioned endpoints', () =>
      stack.objects.getNamespacedCustomObject({
        group,
        version,
        namespace: stack.namespace,
        plural: 'tailscaleendpoints',
        name: `${name}-proxies`,
      }),
    );
    await stack.objects.getNamespacedCustomObject({
      group,
      version,
      namespace: stack.namespace,
      plural: 'tailscaleendpoints',
      name: `${name}-manual`,
    });
  });

  it('reports invalid input as conditions that name the field, and keeps reconciling other objects', async () => {
    const noTailnet = uniqueName('notailnet');
    await stack.tailscaleServices.create(noTailnet, {
      tailnet: 'does-not-exist',
      selector: { matchLabels: { app: noTailnet } },
      vipService: { ports: ['tcp:80'], tags: ['tag:web'] },
    });
    const noMatch = uniqueName('nomatch');
    await stack.tailscaleServices.create(noMatch, {
      tailnet: stack.tailnet.name,
      selector: { matchLabels: { app: 'nothing-has-this' } },
      vipService: { ports: ['tcp:80'], tags: ['tag:web'] },
    });
    const reason = async (name: string) => {
      const ready = conditionOf(await stack.tailscaleServices.get(name));
      return ready?.status === 'False' ? ready : undefined;
    };
    const missing = await eventually('TailnetNotFound', () => reason(noTailnet));
    expect(missing).toMatchObject({ reason: 'TailnetNotFound' });
    expect(missing.message).toContain('spec.tailnet');
    const nothing = await eventually('NoEndpointsSelected', () => reason(noMatch));
    expect(nothing).toMatchObject({ reason: 'NoEndpointsSelected' });
    expect(nothing.message).toContain('spec.selector');

    const good = uniqueName('good');
    await createEndpoints(`${good}-proxies`, { app: good }, 1);
    await stack.tailscaleServices.create(good, {
      tailnet: stack.tailnet.name,
      selector: { matchLabels: { app: good } },
      vipService: { ports: ['tcp:80'], tags: ['tag:web'] },
    });
    await eventually('valid object Ready beside the invalid ones', () => readyAt(good, 1), {
      timeoutMs: 60_000,
    });
    const names = (await listVipServices(stack.tailnet.api)).map((s) => s.name);
    expect(names).toContain(`svc:${good}`);
    expect(names).not.toContain(`svc:${noTailnet}`);
  });
  const getEndpoints = async (name: string) =>
    (await stack.objects.getNamespacedCustomObject({
      group,
      version,
      namespace: stack.namespace,
      plural: 'tailscaleendpoints',
      name,
    })) as TailscaleEndpoints;
  const patchServices = (name: string, body: object[]) =>
    stack.objects.patchNamespacedCustomObject({
      group,
      version,
      namespace: stack.namespace,
      plural: 'tailscaleservices',
      name,
      body,
    });
  /** Selects `app: <name>`, with a template for one replica the test operator runs. */
  const createTemplateServices = (name: string) =>
    stack.tailscaleServices.create(name, {
      tailnet: stack.tailnet.name,
      selector: { matchLabels: { app: name } },
      vipService: { ports: ['tcp:80'], tags: ['tag:web'] },
      endpointTemplate: { replicas: 1, tags: ['tag:k8s'], labels: stack.operator.labels },
    });
  const condition = async (name: string, type: string) =>
    (await stack.tailscaleServices.get(name)).status?.conditions?.find((c) => c.type === type);

  it('follows a selector change of an auto-provisioned TailscaleServices: its endpoints take the new labels and keep advertising', async () => {
    const name = uniqueName('resel');
    const serviceName = `svc:${name}`;
    const endpoints = `${name}-endpoints`;
    await createTemplateServices(name);
    await eventually('Ready with its auto-provisioned endpoints', () => readyAt(name, 1), {
      timeoutMs: 90_000,
    });
    const provisioned = await getEndpoints(endpoints);
    expect(await advertisedBy(endpoints, 0)).toEqual([serviceName]);

    await patchServices(name, [
      { op: 'replace', path: '/spec/selector', value: { matchLabels: { app: `${name}-v2` } } },
    ]);
    // The same object, relabelled for the new selector: its proxy stays up and keeps advertising.
    const ready = await eventually('Ready at generation 2', () => readyAt(name, 2), { timeoutMs: 30_000 });
    expect(ready.status?.selectedEndpoints).toEqual([
      expect.objectContaining({ name: endpoints, autoProvisioned: true }),
    ]);
    const relabelled = await getEndpoints(endpoints);
    expect(relabelled.metadata.uid).toBe(provisioned.metadata.uid);
    expect(relabelled.metadata.labels).toMatchObject({ app: `${name}-v2` });
    expect(await advertisedBy(endpoints, 0)).toEqual([serviceName]);
    const registry = readRegistry((await getVipService(stack.tailnet.api, serviceName))?.annotations);
    expect(registry?.consumers['east/op-a']?.routes).toEqual([`services/${stack.namespace}/${name}`]);

    await stack.tailscaleServices.delete(name);
    await waitUntilGone('auto-provisioned endpoints', () => getEndpoints(endpoints), 90_000);
  });

  it('says which object holds the name its template would provision, and provisions once that is gone', async () => {
    const name = uniqueName('taken');
    const endpoints = `${name}-endpoints`;
    // Made by hand under the template's name, with labels the selector does not match.
    await createEndpoints(endpoints, { app: `${name}-other` }, 1);
    await createTemplateServices(name);
    const taken = await eventually('EndpointsNameTaken', async () => {
      const c = await condition(name, 'EndpointsSelected');
      return c?.reason === 'EndpointsNameTaken' ? c : undefined;
    });
    expect(taken.message).toContain(`TailscaleEndpoints ${endpoints} already exists`);
    expect(taken.message).toContain('spec.endpointTemplate');

    await stack.objects.deleteNamespacedCustomObject({
      group,
      version,
      namespace: stack.namespace,
      plural: 'tailscaleendpoints',
      name: endpoints,
    });
    await eventually('Ready with endpoints of its own', () => readyAt(name, 1), { timeoutMs: 90_000 });
    const own = await getEndpoints(endpoints);
    expect(own.metadata.annotations?.['tailscale-gateway.com/auto-provisioned']).toBe('true');
    expect(own.metadata.labels).toMatchObject({ app: name });
    await stack.tailscaleServices.delete(name);
    await waitUntilGone('auto-provisioned endpoints', () => getEndpoints(endpoints), 90_000);
  });

  it('leaves its VIP service and withdraws the name when deleted with its finalizer stripped by hand', async () => {
    const name = uniqueName('stripped');
    const serviceName = `svc:${name}`;
    await createEndpoints(`${name}-proxies`, { app: name });
    await stack.tailscaleServices.create(name, {
      tailnet: stack.tailnet.name,
      selector: { matchLabels: { app: name } },
      vipService: { ports: ['tcp:443'], tags: ['tag:web'] },
    });
    await eventually('Ready', () => readyAt(name, 1), { timeoutMs: 60_000 });
    expect(await advertisedBy(`${name}-proxies`, 0)).toEqual([serviceName]);

    // With no worker to clean up first, the finalizer goes and then the object: the workflow only
    // learns of it afterwards, from the watchers' objectDeleted signal.
    await stack.operator.killWorker();
    await patchServices(name, [{ op: 'replace', path: '/metadata/finalizers', value: [] }]);
    await stack.tailscaleServices.delete(name);
    await waitUntilGone('object', () => stack.tailscaleServices.get(name));
    stack.operator.startWorker();

    const handle = stack.temporal.workflow.getHandle(servicesWorkflowId(stack.namespace, name));
    await eventually(
      'services workflow completed',
      async () => ((await handle.describe()).status.name === 'COMPLETED' ? true : undefined),
      { timeoutMs: 60_000 },
    );
    await eventually(
      'VIP service deleted',
      async () => ((await getVipService(stack.tailnet.api, serviceName)) === null ? true : undefined),
      { timeoutMs: 60_000 },
    );
    expect(await advertisedBy(`${name}-proxies`, 0)).toEqual([]);
    expect(await advertisedBy(`${name}-proxies`, 1)).toEqual([]);
    const vip = stack.temporal.workflow.getHandle(vipWorkflowId(stack.tailnet.name, serviceName));
    expect((await vip.query(vipStateQuery)).localConsumers).toEqual([]);
  });

  it('withholds a VIP service name that is a device name, and asks Tailscale again only when the spec changes', async () => {
    const name = uniqueName('clash');
    const host = uniqueName('host');
    const serviceName = `svc:${host}`;
    const key = await createAuthKey(stack.tailnet.api, { preauthorized: true, tags: ['tag:k8s'] });
    const device = await stack.tailnet.sim.admin.registerDevice({ authKey: key.key, hostname: host });
    await createEndpoints(`${name}-proxies`, { app: name });
    await stack.tailscaleServices.create(name, {
      tailnet: stack.tailnet.name,
      selector: { matchLabels: { app: name } },
      vipService: { name: serviceName, ports: ['tcp:443'], tags: ['tag:web'] },
    });
    const refusedAt = (generation: number) => async () => {
      const svc = await stack.tailscaleServices.get(name);
      const vip = svc.status?.conditions?.find((c) => c.type === 'VIPServiceReady');
      return svc.status?.observedGeneration === generation && vip?.message.includes('TailscaleNameClash')
        ? svc
        : undefined;
    };
    const refused = await eventually('name refused', refusedAt(1), { timeoutMs: 60_000 });
    expect(refused.status?.conditions?.find((c) => c.type === 'ProxyConfigReady')?.reason).toBe('Withheld');
    expect(await advertisedBy(`${name}-proxies`, 0)).toEqual([]);
    expect(await advertisedBy(`${name}-proxies`, 1)).toEqual([]);

    // A pass that changes nothing the refusal depends on (a proxy comes online): answered at once, and
    // Tailscale is not asked again. Only this service's requests count: other tests' workflows share
    // the tailnet. A rule with rate 0 only counts.
    const probe = await injectFault(stack.tailnet.sim.admin, {
      kind: 'error',
      status: 500,
      rate: 0,
      path: `**/vip-services/${serviceName}**`,
    });
    const vipCalls = probe.matched;
    await setEndpointsStatus(`${name}-proxies`, [
      { hostname: `${name}-proxies-0`, statefulSetPod: `${name}-proxies-0`, nodeID: 'nClash0', online: true },
    ]);
    await eventually('the pass that saw the proxy', async () => {
      const svc = await refusedAt(1)();
      return svc?.status?.healthyBackends === 1 ? svc : undefined;
    });
    expect(await vipCalls()).toBe(0);
    expect(await advertisedBy(`${name}-proxies`, 0)).toEqual([]);

    // Positive control: a spec change is tried again (and refused again).
    await patchServices(name, [{ op: 'replace', path: '/spec/vipService/ports', value: ['tcp:8443'] }]);
    await eventually('refused again at generation 2', refusedAt(2), { timeoutMs: 60_000 });
    expect(await vipCalls()).toBeGreaterThan(0);
    expect(await advertisedBy(`${name}-proxies`, 0)).toEqual([]);

    // The device goes; the next spec change gets the service, advertised again.
    await deleteDevice(stack.tailnet.api, device.id);
    await patchServices(name, [{ op: 'replace', path: '/spec/vipService/ports', value: ['tcp:443'] }]);
    await eventually('Ready at generation 3', () => readyAt(name, 3), { timeoutMs: 60_000 });
    expect(await advertisedBy(`${name}-proxies`, 0)).toEqual([serviceName]);
    expect(await advertisedBy(`${name}-proxies`, 1)).toEqual([serviceName]);
    expect((await getVipService(stack.tailnet.api, serviceName))?.ports).toEqual(['tcp:443']);
    await probe.remove();
  });

  it('is deleted while its VIP service name is refused as a device name', async () => {
    const name = uniqueName('clashdel');
    await createEndpoints(`${name}-proxies`, { app: name }, 1);
    await stack.tailscaleServices.create(name, {
      tailnet: stack.tailnet.name,
      selector: { matchLabels: { app: name } },
      vipService: { name: 'svc:seed-device', ports: ['tcp:443'], tags: ['tag:web'] },
    });
    await eventually('name refused', async () => {
      const c = await condition(name, 'VIPServiceReady');
      return c?.message.includes('TailscaleNameClash') ? c : undefined;
    });
    await stack.tailscaleServices.delete(name);
    // Nothing can exist under a name Tailscale refuses: nothing holds the deletion.
    await waitUntilGone('object', () => stack.tailscaleServices.get(name));
  });
});
