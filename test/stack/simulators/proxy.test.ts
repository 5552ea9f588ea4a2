import { AppsV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { KubeObjects, type WireObject } from '../../../activities/kubernetes/apply';
import {
  builtinProxyPodSettings,
  desiredConfigSecret,
  desiredStatefulSet,
  desiredStateSecret,
  desiredTailscaledConfig,
} from '../../../activities/specs/proxy-group';
import { TailscaleClient } from '../../../activities/tailscale/client';
import { getDevice } from '../../../activities/tailscale/devices';
import { createAuthKey } from '../../../activities/tailscale/keys';
import { proxyDeploymentOf, type ProxyDeployment } from '../../../api/v1alpha1/proxy';
import { tailscaledConfigKey } from '../../../activities/specs/tailscaled-config';
import { currentCapabilityVersion } from '../../../simulators/proxy/conffile';
import { startProxySimulator, type ProxySimulator } from '../../../simulators/proxy/simulator';
import { startTailscaleSimulator, type TailscaleSimulator } from '../../../simulators/tailscale/server';
import { eventually } from '../../support/eventually';
import { createTestNamespace, testKubeConfig, uniqueName } from '../../support/stack';
import { conditionOf, isConditionTrue } from '../../support/conditions';

/** The proxy simulator alone: this test writes what the operator would (StatefulSet, Secrets, keys). */
describe('proxy simulator: plays tailscaled and the StatefulSet controller for our proxies', () => {
  let kc: KubeConfig;
  let core: CoreV1Api;
  let apps: AppsV1Api;
  let objects: KubeObjects;
  let sim: TailscaleSimulator;
  let api: TailscaleClient;
  let proxies: ProxySimulator;
  let namespace: string;
  let oldNamespace: string;

  beforeAll(async () => {
    kc = testKubeConfig();
    core = kc.makeApiClient(CoreV1Api);
    apps = kc.makeApiClient(AppsV1Api);
    objects = new KubeObjects(kc, 'test');
    namespace = await createTestNamespace(kc, 'proxysim');
    oldNamespace = await createTestNamespace(kc, 'proxysim-old');
    sim = await startTailscaleSimulator({ dnsSuffix: 'tail7a3.ts.net' });
    const oauth = await sim.admin.createOAuthClient({
      scopes: ['devices:core', 'auth_keys'],
      tags: ['tag:k8s'],
    });
    api = new TailscaleClient({ clientId: oauth.id, clientSecret: oauth.secret, baseUrl: sim.url });
    proxies = startProxySimulator({ kc, tailscale: sim.admin, namespaces: [namespace] });
  });

  afterAll(async () => {
    await proxies?.stop();
    await sim?.close();
  });

  const deployment = (name: string, replicas: number): ProxyDeployment =>
    proxyDeploymentOf(
      'TailscaleEndpoints',
      { name, namespace, uid: '00000000-0000-0000-0000-000000000001' },
      { tailnet: 'corp', tags: ['tag:k8s'], proxy: { replicas } },
    );

  /** Proxies next to their parent, named after it: the simulator goes by labels and StatefulSet names only. */
  const at = (d: ProxyDeployment) => ({ namespace: d.namespace, name: d.name });

  /** What the operator does, minus the operator: objects and one key per replica. */
  const provision = async (d: ProxyDeployment, keys: string[]) => {
    for (let i = 0; i < d.replicas; i++) {
      await objects.applyIfChanged(desiredStateSecret(d, at(d), i) as WireObject, undefined);
      const config = desiredTailscaledConfig(d, i, { authKey: keys[i] });
      await objects.applyIfChanged(desiredConfigSecret(d, at(d), i, config) as WireObject, undefined);
    }
    await objects.applyIfChanged(
      desiredStatefulSet(d, at(d), builtinProxyPodSettings) as WireObject,
      undefined,
    );
  };
  const mintKey = async () => (await createAuthKey(api, { preauthorized: true, tags: ['tag:k8s'] })).key;
  const state = async (name: string) => {
    const secret = await core.readNamespacedSecret({ namespace, name });
    return Object.fromEntries(
      Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]),
    );
  };
  const versions = async (name: string) => {
    const [secrets, pods, sts] = await Promise.all([
      core.listNamespacedSecret({ namespace, labelSelector: `gateway.tailscale.com/parent-name=${name}` }),
      core.listNamespacedPod({ namespace, labelSelector: `gateway.tailscale.com/parent-name=${name}` }),
      apps.readNamespacedStatefulSet({ namespace, name }),
    ]);
    return [...secrets.items, ...pods.items, sts]
      .map((o) => `${o.metadata?.name}@${o.metadata?.resourceVersion}`)
      .sort();
  };

  it('logs a replica in with its key, writes the state keys, marks pod and StatefulSet ready, then writes nothing', async () => {
    const name = uniqueName('one');
    const d = deployment(name, 1);
    await provision(d, [await mintKey()]);
    const s = await eventually('device in state', async () => {
      const data = await state(`${name}-0`);
      return data.device_id ? data : undefined;
    });
    const device = (await getDevice(api, s.device_id!))!;
    expect(device.hostname).toBe(`${name}-0`);
    expect(s.device_fqdn).toBe(`${device.name}.`);
    expect(JSON.parse(s.device_ips!)).toEqual(device.addresses);
    const pod = await core.readNamespacedPod({ namespace, name: `${name}-0` });
    expect(s.pod_uid).toBe(pod.metadata?.uid);
    expect(pod.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'StatefulSet', name });
    expect(JSON.parse(s[s['_current-profile']!]!)).toEqual({
      Config: { NodeID: device.nodeId, UserProfile: { LoginName: device.name } },
      AdvertiseServices: [],
    });
    const sts = await eventually('StatefulSet status', async () => {
      const obj = await apps.readNamespacedStatefulSet({ namespace, name });
      return obj.status?.readyReplicas === 1 ? obj : undefined;
    });
    expect(sts.status).toMatchObject({ replicas: 1, readyReplicas: 1, availableReplicas: 1 });
    await eventually('pod Ready', async () => {
      const p = await core.readNamespacedPod({ namespace, name: `${name}-0` });
      return isConditionTrue(p) ? p : undefined;
    });

    await proxies.idle();
    const before = await versions(name);
    // Fixed sleep: the claim is that no periodic rewrite happens, and a rewrite that never comes has no
    // event to wait on; idle() before and after brackets the window.
    await new Promise((r) => setTimeout(r, 1_500));
    await proxies.idle();
    expect(await versions(name)).toEqual(before);
  });

  it('is refused a spent key, as the control plane would, and asks for a new one in the state Secret', async () => {
    const name = uniqueName('spent');
    const key = await mintKey();
    await sim.admin.registerDevice({ authKey: key, hostname: 'someone-else' });
    const rejectedBefore = proxies.stats.rejectedKeys;
    await provision(deployment(name, 1), [key]);
    const s = await eventually('reissue request', async () => {
      const data = await state(`${name}-0`);
      return data.reissue_authkey ? data : undefined;
    });
    expect(s.reissue_authkey).toBe(key);
    expect(s.device_id).toBeUndefined();
    // The pass that wrote the request counts the refusal when it returns, after the Secret write.
    await proxies.idle();
    expect(proxies.stats.rejectedKeys).toBeGreaterThan(rejectedBefore);
  });

  it('restarts a replica with a new pod UID and the same device; holds one down offline; wipes state', async () => {
    const name = uniqueName('faults');
    const d = deployment(name, 2);
    await provision(d, [await mintKey(), await mintKey()]);
    const first = await eventually('both registered', async () => {
      const [a, b] = [await state(`${name}-0`), await state(`${name}-1`)];
      return a.device_id && b.device_id ? [a, b] : undefined;
    });

    await proxies.killReplica(namespace, name, 0);
    const restarted = await eventually('new pod_uid', async () => {
      const data = await state(`${name}-0`);
      return data.pod_uid !== first[0]!.pod_uid ? data : undefined;
    });
    expect(restarted.device_id).toBe(first[0]!.device_id);

    await proxies.killReplica(namespace, name, 1, { restart: false });
    await expect(core.readNamespacedPod({ namespace, name: `${name}-1` })).rejects.toThrow();
    expect((await getDevice(api, first[1]!.device_id!))?.connectedToControl).toBe(false);
    await eventually('StatefulSet counts one ready replica', async () =>
      (await apps.readNamespacedStatefulSet({ namespace, name })).status?.readyReplicas === 1
        ? true
        : undefined,
    );
    proxies.restartReplica(namespace, name, 1);
    await eventually('device back online', async () =>
      (await getDevice(api, first[1]!.device_id!))?.connectedToControl ? true : undefined,
    );

    // As the operator does once the device exists: the key leaves the config.
    const config = desiredTailscaledConfig(d, 0, {});
    await objects.applyIfChanged(desiredConfigSecret(d, at(d), 0, config) as WireObject, undefined);
    await proxies.wipeReplicaState(namespace, name, 0);
    await eventually('state wiped and pod replaced', async () => {
      const data = await state(`${name}-0`);
      return Object.keys(data).length === 0 ? true : undefined;
    });
    await proxies.idle();
    // With no key to log in with, the replica waits for the operator to mint one.
    expect(await state(`${name}-0`)).toEqual({});
  });

  it('removes the pods of a StatefulSet scaled down or deleted', async () => {
    const name = uniqueName('gone');
    const d = deployment(name, 2);
    await provision(d, [await mintKey(), await mintKey()]);
    const selector = `gateway.tailscale.com/parent-name=${name}`;
    await eventually('two pods', async () =>
      (await core.listNamespacedPod({ namespace, labelSelector: selector })).items.length === 2
        ? true
        : undefined,
    );
    await objects.applyIfChanged(
      desiredStatefulSet({ ...d, replicas: 1 }, at(d), builtinProxyPodSettings) as WireObject,
      undefined,
    );
    await eventually('one pod', async () => {
      const pods = (await core.listNamespacedPod({ namespace, labelSelector: selector })).items;
      return pods.length === 1 && pods[0]!.metadata?.name === `${name}-0` ? true : undefined;
    });
    await apps.deleteNamespacedStatefulSet({ namespace, name });
    await eventually('no pods', async () =>
      (await core.listNamespacedPod({ namespace, labelSelector: selector })).items.length === 0
        ? true
        : undefined,
    );
  });

  /** The pod status kubelet shows for a crash-looping proxy: the log line it exited with. */
  const crashOf = async (pod: string, ns = namespace) => {
    const p = await core.readNamespacedPod({ namespace: ns, name: pod });
    return p.status?.containerStatuses?.[0]?.lastState?.terminated?.message;
  };
  const writeConfig = async (d: ProxyDeployment, text: string) => {
    const secret = desiredConfigSecret(d, at(d), 0, desiredTailscaledConfig(d, 0, {}));
    secret.data = { [tailscaledConfigKey]: Buffer.from(text).toString('base64') };
    await objects.applyIfChanged(secret as WireObject, undefined);
  };

  it('does not start a replica whose config tailscaled would refuse, shows why, and starts it once fixed', async () => {
    const name = uniqueName('refused');
    const d = deployment(name, 1);
    const key = await mintKey();
    await provision(d, [key]);
    await eventually('registered', async () => ((await state(`${name}-0`)).device_id ? true : undefined));
    const crashesBefore = proxies.stats.crashes;

    // The string "false" where opt.Bool wants a JSON boolean; then an unknown field.
    const good = desiredTailscaledConfig(d, 0, {});
    await writeConfig(d, JSON.stringify({ ...good, Locked: 'false' }));
    const crash = await eventually('crash in pod status', () => crashOf(`${name}-0`));
    expect(crash).toMatch(
      /^boot: \S+ \S+ invalid configuration: error validating tailscaled configfile contents: error parsing config file \/etc\/tsconfig\/.*-0\/cap-106\.hujson: invalid opt\.Bool value for Locked/,
    );
    const pod = await core.readNamespacedPod({ namespace, name: `${name}-0` });
    expect(conditionOf(pod)?.status).toBe('False');
    expect(proxies.stats.crashes).toBeGreaterThan(crashesBefore);
    const nodeId = (await state(`${name}-0`)).device_id!;
    expect((await getDevice(api, nodeId))?.connectedToControl).toBe(false);

    await writeConfig(d, JSON.stringify({ ...good, AdvertiseServicez: [] }));
    expect(
      await eventually('next crash', async () => {
        const c = await crashOf(`${name}-0`);
        return c?.includes('unknown field') ? c : undefined;
      }),
    ).toContain('json: unknown field "AdvertiseServicez"');

    await writeConfig(d, `// fixed\n${JSON.stringify(good).replace(/}$/, ',}')}`);
    // The device comes online in the pass before the pod status is written: wait for the pod.
    await eventually('pod ready again', async () => {
      const p = await core.readNamespacedPod({ namespace, name: `${name}-0` });
      return p.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True' ? true : undefined;
    });
    expect(await crashOf(`${name}-0`)).toBeUndefined();
    expect((await getDevice(api, nodeId))?.connectedToControl).toBe(true);
  });

  it('a proxy older than cap-106 finds no config file and exits; a current one records its version', async () => {
    const old = startProxySimulator({
      kc,
      tailscale: sim.admin,
      namespaces: [oldNamespace],
      capVersion: 100,
    });
    try {
      const d = proxyDeploymentOf(
        'TailscaleEndpoints',
        { name: uniqueName('old'), namespace: oldNamespace, uid: '00000000-0000-0000-0000-000000000002' },
        { tailnet: 'corp', tags: ['tag:k8s'], proxy: { replicas: 1 } },
      );
      await provision(d, [await mintKey()]);
      const crash = await eventually('crash', () => crashOf(`${d.name}-0`, oldNamespace));
      expect(crash).toContain(
        `no tailscaled config file found in "/etc/tsconfig/${d.name}-0" for current capability version 'd'`,
      );
      expect(
        (await core.readNamespacedSecret({ namespace: oldNamespace, name: `${d.name}-0` })).data,
      ).toBeUndefined();
    } finally {
      await old.stop();
    }
    const name = uniqueName('capver');
    await provision(deployment(name, 1), [await mintKey()]);
    const s = await eventually('registered', async () => {
      const data = await state(`${name}-0`);
      return data.device_id ? data : undefined;
    });
    expect(s.tailscale_capver).toBe(String(currentCapabilityVersion));
  });
});
