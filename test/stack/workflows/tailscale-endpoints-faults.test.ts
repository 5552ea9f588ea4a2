import { configSecretOf, proxiesOf, stateSecretOf } from '../../support/proxies';
import { CoreV1Api } from '@kubernetes/client-node';
import { deleteKey, listKeys } from '../../../activities/tailscale/keys';
import { listVipServiceHosts, putVipService } from '../../../activities/tailscale/vip-services';
import { startProxySimulator } from '../../../simulators/proxy/simulator';
import { snapshotOf } from '../../../watchers/watched-kind';
import { endpointsWorkflowId } from '../../../workflows/ids';
import { objectChangedSignal } from '../../../workflows/messages';
import { injectFault } from '../../faults/support/tailscale-faults';
import { eventually } from '../../support/eventually';
import { recordHistory } from '../../support/record-history';
import { createTestNamespace, uniqueName } from '../../support/stack';
import { startTestTailnet } from '../../support/tailscale';
import {
  configKey,
  configOf,
  devicesNamed,
  editConfig,
  proxyParents,
  secretData,
  startProxyHarness,
  type ProxyHarness,
} from './tailscale-endpoints-harness';
import { conditionOf, isConditionTrue } from '../../support/conditions';

describe('TailscaleEndpoints under faults: advertised services, lost state, restarts, key reissue, bad specs', () => {
  let h: ProxyHarness;
  let endpoints: ReturnType<typeof proxyParents>;

  beforeAll(async () => {
    h = await startProxyHarness('endpoints-faults');
    endpoints = proxyParents(h, 'TailscaleEndpoints');
  });

  afterAll(async () => {
    await h?.close();
  });

  /** The state Secret of replica `ordinal` of endpoints `name` (in the operator namespace). */
  const stateOf = async (name: string, ordinal: number) =>
    h.core.readNamespacedSecret(stateSecretOf(proxiesOf(h.namespace, name), ordinal));
  const at = (name: string) => proxiesOf(h.namespace, name);

  const keysOf = async (replica: string) =>
    (await listKeys(h.tailnet.api, { all: true })).filter((k) => k.description.startsWith(`${replica} `));

  it('reflects AdvertiseServices edits as service hosts, and keeps them across re-renders of the config', async () => {
    const name = uniqueName('adv');
    await endpoints.create(name, { proxy: { replicas: 2 } });
    await endpoints.waitReady(name);
    const devices = await devicesNamed(h, name);
    const service = `svc:${name}`;
    await putVipService(h.tailnet.api, { name: service, ports: ['tcp:443'], tags: ['tag:k8s'] });

    // What the TailscaleServices workflow does: add the service to each replica's config.
    for (const i of [0, 1]) {
      await editConfig(h, name, i, (c) => {
        c.AdvertiseServices = [service];
      });
    }
    const hosts = await eventually('both proxies advertising', async () => {
      const found = await listVipServiceHosts(h.tailnet.api, service);
      return found.length === 2 ? found : undefined;
    });
    expect(hosts.map((x) => x.nodeId).sort()).toEqual(devices.map((d) => d.nodeId).sort());

    // A re-render (new hostname prefix) rewrites the config but keeps AdvertiseServices.
    await endpoints.patch(name, [{ op: 'add', path: '/spec/proxy/hostnamePrefix', value: `${name}-x` }]);
    for (const i of [0, 1]) {
      const config = await eventually(`config ${i} re-rendered`, async () => {
        const c = await configOf(h, name, i);
        return c.Hostname === `${name}-x-${i}` ? c : undefined;
      });
      expect(config.AdvertiseServices).toEqual([service]);
    }
    expect(await listVipServiceHosts(h.tailnet.api, service)).toHaveLength(2);

    // Unselecting: the proxies stop advertising.
    for (const i of [0, 1]) {
      await editConfig(h, name, i, (c) => {
        c.AdvertiseServices = [];
      });
    }
    await eventually('no proxy advertising', async () =>
      (await listVipServiceHosts(h.tailnet.api, service)).length === 0 ? true : undefined,
    );
  });

  it('a TailscaleServices selecting the endpoints makes the proxies advertise its VIP service; unselecting stops it', async () => {
    const name = uniqueName('sel');
    await endpoints.create(`${name}-proxies`, { proxy: { replicas: 2 } }, { app: name });
    await endpoints.waitReady(`${name}-proxies`);
    const nodeIds = (await devicesNamed(h, `${name}-proxies`)).map((d) => d.nodeId).sort();
    const services = {
      group: 'gateway.tailscale.com',
      version: 'v1alpha1',
      namespace: h.namespace,
      plural: 'tailscaleservices',
    };
    await h.objects.createNamespacedCustomObject({
      ...services,
      body: {
        apiVersion: 'gateway.tailscale.com/v1alpha1',
        kind: 'TailscaleServices',
        metadata: { name, labels: h.operator.labels },
        spec: {
          tailnet: h.tailnet.name,
          selector: { matchLabels: { app: name } },
          vipService: { ports: ['tcp:443'], tags: ['tag:k8s'] },
        },
      },
    });
    const service = `svc:${name}`;
    const hosts = await eventually(
      'both proxies are hosts of the VIP service',
      async () => {
        const found = await listVipServiceHosts(h.tailnet.api, service).catch(() => []);
        return found.length === 2 ? found : undefined;
      },
      { timeoutMs: 60_000 },
    );
    expect(hosts.map((x) => x.nodeId).sort()).toEqual(nodeIds);

    await h.objects.patchNamespacedCustomObject({
      ...services,
      name,
      body: [{ op: 'replace', path: '/spec/selector/matchLabels', value: { app: `${name}-other` } }],
    });
    await eventually(
      'no proxy advertising once unselected',
      async () =>
        (await listVipServiceHosts(h.tailnet.api, service).catch(() => [])).length === 0 ? true : undefined,
      { timeoutMs: 60_000 },
    );
    for (const i of [0, 1])
      expect((await configOf(h, `${name}-proxies`, i)).AdvertiseServices ?? []).toEqual([]);
  });

  it('a replica that lost its state gets exactly one new key, registers again, and its old device is deleted', async () => {
    const name = uniqueName('wipe');
    await endpoints.create(name, { proxy: { replicas: 1 } });
    await endpoints.waitReady(name);
    const [old] = await devicesNamed(h, name);
    expect(await keysOf(`${name}-0`)).toHaveLength(1);

    await h.proxies.wipeReplicaState(at(name).namespace, at(name).name, 0);
    const fresh = await eventually('a new device for replica 0', async () => {
      const id = secretData(await stateOf(name, 0), 'device_id');
      return id && id !== old!.nodeId ? id : undefined;
    });
    await eventually('old device deleted', async () => {
      const ids = (await devicesNamed(h, name)).map((d) => d.nodeId);
      return ids.length === 1 && ids[0] === fresh ? ids : undefined;
    });
    expect(await keysOf(`${name}-0`)).toHaveLength(2);
    const ep = await eventually('status lists the new device', async () => {
      const obj = await endpoints.get(name);
      return obj.status?.devices?.[0]?.nodeID === fresh && isConditionTrue(obj) ? obj : undefined;
    });
    expect(ep.status?.devices).toHaveLength(1);
    await recordHistory(
      'tailscale-endpoints',
      'replaced-device',
      h.temporal.workflow.getHandle(endpointsWorkflowId(h.namespace, name)),
    );
  });

  it('a restarted replica keeps its device; a replica held down is reported until it comes back', async () => {
    const name = uniqueName('restart');
    await endpoints.create(name, { proxy: { replicas: 2 } });
    await endpoints.waitReady(name);
    const before = await stateOf(name, 1);
    const keysBefore = (await listKeys(h.tailnet.api, { all: true })).length;

    await h.proxies.killReplica(at(name).namespace, at(name).name, 1);
    const podUid = await eventually('new pod_uid in the state', async () => {
      const uid = secretData(await stateOf(name, 1), 'pod_uid');
      return uid !== secretData(before, 'pod_uid') ? uid : undefined;
    });
    const pod = await h.core.readNamespacedPod({ namespace: at(name).namespace, name: `${at(name).name}-1` });
    expect(pod.metadata?.uid).toBe(podUid);
    expect(secretData(await stateOf(name, 1), 'device_id')).toBe(secretData(before, 'device_id'));
    expect((await listKeys(h.tailnet.api, { all: true })).length).toBe(keysBefore);
    await endpoints.waitReady(name);

    await h.proxies.killReplica(at(name).namespace, at(name).name, 0, { restart: false });
    // The pod is gone at once; the device going offline is seen by the devices API on a later pass.
    const status = await eventually('replica 0 reported down and its device offline', async () => {
      const device = (await endpoints.get(name)).status?.devices?.find(
        (d) => d.statefulSetPod === `${at(name).name}-0`,
      );
      return device?.online === false && device.connected === false ? device : undefined;
    });
    expect(status.lastSeen).toBeDefined();
    const down = await endpoints.ready(name);
    expect(down).toMatchObject({ status: 'False', reason: 'Provisioning' });
    expect(down?.message).toContain(`${at(name).name}-0`);

    h.proxies.restartReplica(at(name).namespace, at(name).name, 0);
    await eventually('Ready again', async () =>
      (await endpoints.ready(name))?.status === 'True' ? true : undefined,
    );
  });

  it('reissues a key the proxy reports as refused, at most once per 30 s per object', async () => {
    // A namespace no proxy simulator watches yet: the test plays containerboot's reissue request itself.
    const namespace = await createTestNamespace(h.kc, 'reissue');
    const core = h.kc.makeApiClient(CoreV1Api);
    const name = uniqueName('reissue');
    await h.objects.createNamespacedCustomObject({
      group: 'gateway.tailscale.com',
      version: 'v1alpha1',
      namespace,
      plural: 'tailscaleendpoints',
      body: {
        apiVersion: 'gateway.tailscale.com/v1alpha1',
        kind: 'TailscaleEndpoints',
        metadata: { name, labels: h.operator.labels },
        spec: { tailnet: h.tailnet.name, tags: ['tag:k8s'], proxy: { replicas: 1 } },
      },
    });
    const configuredKey = async () => {
      const secret = await core
        .readNamespacedSecret(configSecretOf(proxiesOf(namespace, name), 0))
        .catch(() => undefined);
      const config = secret
        ? (JSON.parse(secretData(secret, configKey) || '{}') as { AuthKey?: string })
        : {};
      return config.AuthKey;
    };
    const refuse = async (key: string) => {
      const [info] = await keysOf(`${name}-0`).then((keys) => keys.filter((k) => !k.invalid));
      await deleteKey(h.tailnet.api, info!.id);
      await core.patchNamespacedSecret({
        ...stateSecretOf(proxiesOf(namespace, name), 0),
        body: [{ op: 'add', path: '/data', value: { reissue_authkey: Buffer.from(key).toString('base64') } }],
      });
    };

    const first = await eventually('first key', configuredKey);
    await refuse(first);
    const second = await eventually('reissued key', async () => {
      const key = await configuredKey();
      return key && key !== first ? key : undefined;
    });
    const reissuedAt = Date.now();

    await refuse(second);
    const deferred = await eventually('reissue deferred by the rate limit', async () => {
      const ready = await h.objects
        .getNamespacedCustomObject({
          group: 'gateway.tailscale.com',
          version: 'v1alpha1',
          namespace,
          plural: 'tailscaleendpoints',
          name,
        })
        .then((o) =>
          conditionOf(o as { status?: { conditions?: { type: string; status: string; message: string }[] } }),
        );
      const message = ready?.message ?? '';
      return message.includes('rate limited') ? message : undefined;
    });
    expect(deferred).toContain(`${proxiesOf(namespace, name).name}-0 asked for a new auth key`);
    expect(await configuredKey()).toBe(second);
    const third = await eventually(
      'key reissued after the rate limit',
      async () => {
        const key = await configuredKey();
        return key && key !== second ? key : undefined;
      },
      { timeoutMs: 60_000 },
    );
    expect(Date.now() - reissuedAt).toBeGreaterThanOrEqual(29_000);
    expect(third).not.toBe(first);
    expect(await keysOf(`${name}-0`)).toHaveLength(3);

    // The proxy comes up with the third key.
    const proxies = startProxySimulator({
      kc: h.kc,
      tailscale: h.tailnet.sim.admin,
      namespaces: [namespace],
    });
    try {
      await eventually(
        'device registered with the reissued key',
        async () =>
          secretData(
            await core.readNamespacedSecret(stateSecretOf(proxiesOf(namespace, name), 0)),
            'device_id',
          ) || undefined,
      );
    } finally {
      await proxies.stop();
    }
    await recordHistory(
      'tailscale-endpoints',
      'reissued',
      h.temporal.workflow.getHandle(endpointsWorkflowId(namespace, name)),
    );
  }, 120_000);

  it('keeps the last device status when the devices API fails, and says so', async () => {
    const name = uniqueName('apifail');
    await endpoints.create(name, { proxy: { replicas: 1 } });
    const ready = await endpoints.waitReady(name);
    const device = ready.status!.devices![0]!;
    const fault = await h.tailnet.sim.admin.addFault({
      kind: 'error',
      status: 500,
      method: 'GET',
      path: '/api/v2/device/*',
    });
    try {
      const handle = h.temporal.workflow.getHandle(endpointsWorkflowId(h.namespace, name));
      await handle.signal(objectChangedSignal, snapshotOf(await endpoints.get(name)));
      const observed = await eventually('DevicesObserved=False', async () => {
        const obj = await endpoints.get(name);
        const c = obj.status?.conditions?.find((x) => x.type === 'DevicesObserved');
        return c?.status === 'False' ? obj : undefined;
      });
      expect(observed.status?.conditions?.find((c) => c.type === 'DevicesObserved')).toMatchObject({
        reason: 'TailscaleApiError',
      });
      expect(observed.status?.devices).toEqual([device]);
    } finally {
      await h.tailnet.sim.admin.removeFault(fault.id);
    }
    const handle = h.temporal.workflow.getHandle(endpointsWorkflowId(h.namespace, name));
    await handle.signal(objectChangedSignal, snapshotOf(await endpoints.get(name)));
    await eventually('DevicesObserved=True again', async () =>
      (await endpoints.get(name)).status?.conditions?.find((x) => x.type === 'DevicesObserved')?.status ===
      'True'
        ? true
        : undefined,
    );
  });

  it('deletion deletes the device of a replica that records its login while the cleanup runs', async () => {
    const name = uniqueName('late');
    const { namespace, name: sts } = at(name);
    // The test plays replica 1: it logs in before the deletion and records its device only once the
    // cleanup has read the state Secrets (while the operator's device deletion is held up).
    await h.proxies.killReplica(namespace, sts, 1, { restart: false });
    try {
      await endpoints.create(name, { proxy: { replicas: 2 } });
      const key = await eventually('replica 1 handed a key', async () => {
        const config: Record<string, unknown> = await configOf(h, name, 1).catch(() => ({}));
        return typeof config.AuthKey === 'string' && config.AuthKey ? config.AuthKey : undefined;
      });
      const late = await h.tailnet.sim.admin.registerDevice({ authKey: key, hostname: `${name}-1` });
      await eventually('replica 0 logged in', async () =>
        (await devicesNamed(h, name)).length === 2 ? true : undefined,
      );
      const held = await injectFault(h.tailnet.sim.admin, {
        kind: 'latency',
        latencyMs: 2_000,
        method: 'DELETE',
        path: '/api/v2/device/*',
        count: 1,
      });
      try {
        await endpoints.delete(name);
        // The cleanup has read the state Secrets and is deleting devices.
        await held.waitFired();
        await h.core.patchNamespacedSecret({
          ...stateSecretOf(at(name), 1),
          body: [
            { op: 'add', path: '/data', value: { device_id: Buffer.from(late.nodeId).toString('base64') } },
          ],
        });
      } finally {
        await held.remove();
      }
      const handle = h.temporal.workflow.getHandle(endpointsWorkflowId(h.namespace, name));
      await eventually('workflow completion', async () =>
        (await handle.describe()).status.name === 'COMPLETED' ? true : undefined,
      );
      expect(await devicesNamed(h, name)).toEqual([]);
    } finally {
      h.proxies.restartReplica(namespace, sts, 1);
    }
  });

  describe('bad specs are rejected by the schema or reported with the field to fix', () => {
    const rejection = async (spec: Record<string, unknown>, name = uniqueName('bad')) => {
      try {
        await endpoints.create(name, spec);
      } catch (err) {
        return String((err as { body?: unknown }).body);
      }
      throw new Error('the API server accepted the object');
    };

    it('rejects replicas < 0 and malformed tags at admission, naming the field', async () => {
      expect(await rejection({ proxy: { replicas: -1 } })).toContain('spec.proxy.replicas');
      expect(await rejection({ tags: ['k8s'] })).toContain('spec.tags[0]');
    });

    it('reports an unknown tailnet, a too-long name, clashing port names and tags the OAuth client does not own', async () => {
      const unknown = uniqueName('nonet');
      const later = uniqueName('later');
      await endpoints.create(unknown, { tailnet: later, proxy: { replicas: 1 } });
      const tailnet = await endpoints.waitReason(unknown, 'TailnetNotReady');
      expect(tailnet.message).toContain('spec.tailnet');
      expect(tailnet.message).toContain(later);

      const long = `long-${'x'.repeat(50)}`;
      await endpoints.create(long, {});
      expect((await endpoints.waitReason(long, 'InvalidSpec')).message).toContain('metadata.name');

      const ports = uniqueName('ports');
      await endpoints.create(ports, {
        ports: [
          { name: 'web', port: 80 },
          { name: 'web', port: 81 },
        ],
      });
      expect((await endpoints.waitReason(ports, 'InvalidSpec')).message).toContain('spec.ports[1].name');

      const foreign = uniqueName('foreign');
      await endpoints.create(foreign, { tags: ['tag:not-ours'] });
      const rejected = await endpoints.waitReason(foreign, 'AuthKeyRejected');
      expect(rejected.message).toContain('spec.tags');

      // None of them created a device, and a valid object next to them still converges.
      for (const bad of [unknown, long, ports, foreign]) expect(await devicesNamed(h, bad)).toEqual([]);
      const good = uniqueName('good');
      await endpoints.create(good, { proxy: { replicas: 1 } });
      await endpoints.waitReady(good);

      // The missing tailnet appears: the endpoints waiting for it converge without a spec change.
      const started = Date.now();
      await startTestTailnet({
        kc: h.kc,
        namespace: h.namespace,
        name: later,
        labels: h.operator.labels,
        sim: h.tailnet.sim,
      });
      await endpoints.waitReady(unknown);
      expect(Date.now() - started).toBeLessThan(20_000);
    });
  });
});
