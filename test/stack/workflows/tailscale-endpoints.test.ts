import { configSecretOf, proxiesOf, stateSecretOf } from '../../support/proxies';
import { authKeyId } from '../../../activities/proxies/cleanup';
import { createAuthKey, getKey, listKeys } from '../../../activities/tailscale/keys';
import { tsToMs } from '@temporalio/common/lib/time';
import { snapshotOf } from '../../../watchers/watched-kind';
import { endpointsWorkflowId } from '../../../workflows/ids';
import { objectChangedSignal, resourceStatusQuery } from '../../../workflows/messages';
import { resourceKindKey } from '../../../workflows/search-attributes';
import { eventually } from '../../support/eventually';
import { recordHistory } from '../../support/record-history';
import { uniqueName } from '../../support/stack';
import {
  configKey,
  configOf as configOfSecret,
  devicesNamed as devicesWithPrefix,
  proxyParents,
  secretData,
  startProxyHarness,
  type ProxyHarness,
} from './tailscale-endpoints-harness';
import { expectCondition } from '../../support/conditions';

describe('TailscaleEndpoints: proxy StatefulSets, auth keys, devices and status on the real stack', () => {
  let h: ProxyHarness;
  let endpoints: ReturnType<typeof proxyParents>;
  let core: ProxyHarness['core'];
  let apps: ProxyHarness['apps'];
  let rbac: ProxyHarness['rbac'];
  let namespace: string;

  beforeAll(async () => {
    h = await startProxyHarness('endpoints');
    endpoints = proxyParents(h, 'TailscaleEndpoints');
    ({ core, apps, rbac, namespace } = h);
  });

  afterAll(async () => {
    await h?.close();
  });

  const createEndpoints = (name: string, spec: Record<string, unknown>) => endpoints.create(name, spec);
  const getEndpoints = (name: string) => endpoints.get(name);
  const waitReady = (name: string, generation = 1) => endpoints.waitReady(name, generation);
  const configOf = (parent: string, ordinal: number) => configOfSecret(h, parent, ordinal);
  const devicesNamed = (prefix: string) => devicesWithPrefix(h, prefix);
  /** Where the proxies of endpoints `name` live: the operator namespace, under a placement name. */
  const at = (name: string) => proxiesOf(namespace, name);
  const ours = (name: string) =>
    `gateway.tailscale.com/parent-namespace=${namespace},gateway.tailscale.com/parent-name=${name}`;

  /** Every object the endpoints own, by kind/name, with its resourceVersion. */
  const versionsOf = async (name: string) => {
    const [secrets, pods] = await Promise.all([
      core.listNamespacedSecret({ namespace: at(name).namespace, labelSelector: ours(name) }),
      core.listNamespacedPod({ namespace: at(name).namespace, labelSelector: ours(name) }),
    ]);
    const one = async (kind: string, read: () => Promise<{ metadata?: { resourceVersion?: string } }>) =>
      [kind, (await read()).metadata?.resourceVersion] as const;
    const singles = await Promise.all([
      one('TailscaleEndpoints', () => getEndpoints(name)),
      one('StatefulSet', () => apps.readNamespacedStatefulSet(at(name))),
      one('ServiceAccount', () => core.readNamespacedServiceAccount(at(name))),
      one('Role', () => rbac.readNamespacedRole(at(name))),
      one('RoleBinding', () => rbac.readNamespacedRoleBinding(at(name))),
    ]);
    return Object.fromEntries([
      ...singles,
      ...secrets.items.map((x) => [`Secret/${x.metadata?.name}`, x.metadata?.resourceVersion] as const),
      ...pods.items.map((x) => [`Pod/${x.metadata?.name}`, x.metadata?.resourceVersion] as const),
    ]);
  };

  const settled = async (name: string) => {
    await waitReady(name);
    for (const i of [0, 1]) {
      await eventually(`replica ${i} config without a key`, async () =>
        'AuthKey' in (await configOf(name, i)) ? undefined : true,
      );
    }
    // Quiet: nothing owned changes for two seconds. Fixed sleep: the settling is the absence of writes
    // by several actors (workflow, proxies), which no single event marks.
    let before = await versionsOf(name);
    for (;;) {
      await new Promise((r) => setTimeout(r, 2_000));
      await h.proxies.idle();
      const after = await versionsOf(name);
      if (JSON.stringify(after) === JSON.stringify(before)) return after;
      before = after;
    }
  };

  /** The workflow's timers (its refresh waits), oldest first: when each started and for how long. */
  const timersOf = async (name: string) =>
    ((await h.temporal.workflow.getHandle(endpointsWorkflowId(namespace, name)).fetchHistory()).events ?? [])
      .filter((e) => e.timerStartedEventAttributes)
      .map((e) => ({
        eventId: Number(e.eventId),
        startedAt: tsToMs(e.eventTime),
        ms: tsToMs(e.timerStartedEventAttributes?.startToFireTimeout),
      }));
  /** Event ids of each pass (every pass schedules ensureProxyConfigs). */
  const passesOf = async (name: string) =>
    ((await h.temporal.workflow.getHandle(endpointsWorkflowId(namespace, name)).fetchHistory()).events ?? [])
      .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'ensureProxyConfigs')
      .map((e) => Number(e.eventId));
  const deviceReads = async () =>
    (await h.tailnet.sim.admin.requestCounts()).routes['GET /api/v2/device/{deviceId}'] ?? 0;

  // First in this file: the devices API counts below are then this object's alone.
  it('refreshes device status on a timer that backs off while nothing changes and snaps back on a change', async () => {
    const name = uniqueName('quiet');
    await createEndpoints(name, { proxy: { replicas: 2 } });
    await settled(name);

    // Nothing changes: each pass doubles the wait (5 s, 10 s, 20 s, ... up to the stable maximum).
    // Only whole passes' timers count: a pass that only observes (a state Secret moved) doubles the
    // wait too, but keeps to the time the last whole pass set, so its timer is shorter.
    const wholePassTimers = async () => {
      const [timers, passes] = await Promise.all([timersOf(name), passesOf(name)]);
      return timers.filter((t, i) => passes.some((p) => p < t.eventId && p > (timers[i - 1]?.eventId ?? 0)));
    };
    const backedOff = await eventually(
      'two recorded refresh timers of whole passes, the later of 20 s or more',
      async () => {
        const timers = await wholePassTimers();
        const last = timers.at(-1);
        return timers.length >= 2 && last && last.ms >= 20_000 ? timers : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 250 },
    );
    // (A wait cut short by a signal in the same workflow task never reaches the history, so the chain
    // may start above 5 s, even at 20 s; each recorded wait is at least twice the one before.)
    const [b, c] = backedOff.slice(-2).map((t) => t.ms);
    expect(b).toBeDefined();
    expect(c).toBeGreaterThanOrEqual(b! * 2);
    expect(c).toBeLessThanOrEqual(30 * 60_000);

    // And the devices API is left alone meanwhile: while that timer runs, at most one pass (say one
    // a Secret event caused) reads the two devices. A fixed 5 s interval would read them 3 times. The
    // history tells what ran inside the timer once the pass its end started has set the next one.
    const timer = backedOff.at(-1)!;
    const windowEnd = timer.startedAt + timer.ms;
    const readsBefore = await deviceReads();
    await eventually(
      'the next timer, after the backoff timer',
      async () => ((await timersOf(name)).some((t) => t.startedAt >= windowEnd) ? true : undefined),
      { timeoutMs: timer.ms + 60_000, intervalMs: 500 },
    );
    const history = await h.temporal.workflow.getHandle(endpointsWorkflowId(namespace, name)).fetchHistory();
    const passesInWindow = (history.events ?? []).filter(
      (e) =>
        e.activityTaskScheduledEventAttributes?.activityType?.name === 'ensureProxyConfigs' &&
        tsToMs(e.eventTime) >= timer.startedAt &&
        tsToMs(e.eventTime) < windowEnd,
    );
    expect(passesInWindow.length).toBeLessThanOrEqual(1);
    // Reads since: that pass and the one the timer's end started, at most.
    expect((await deviceReads()) - readsBefore).toBeLessThanOrEqual(4);

    // A change (a third replica) brings the wait back to the short interval.
    const seen = (await timersOf(name)).at(-1)?.eventId ?? 0;
    await endpoints.patch(name, [{ op: 'replace', path: '/spec/proxy/replicas', value: 3 }]);
    await waitReady(name, 2);
    const afterChange = await eventually('a timer after the change', async () => {
      const timers = (await timersOf(name)).filter((t) => t.eventId > seen);
      return timers.length ? timers : undefined;
    });
    // The pass that saw the change chose 5 s. Signals from the new replica's Secrets may cut waits short
    // before they are recorded, each such pass at most doubling the wait: after n passes the first
    // recorded wait is at most 5 s * 2^(n-1), where without the reset it would be the wait before the
    // change doubled n times (capped at 60 s while converging).
    const first = afterChange[0]!;
    const passes = (await passesOf(name)).filter((id) => id > seen && id < first.eventId).length;
    expect(passes).toBeGreaterThanOrEqual(1);
    expect(first.ms).toBeLessThanOrEqual(5_000 * 2 ** (passes - 1));
    expect(Math.max(...afterChange.map((t) => t.ms))).toBeLessThanOrEqual(60_000);
  }, 180_000);

  it('builds the proxies of a 2-replica endpoints object, registers two devices and reports them Ready', async () => {
    const name = uniqueName('web');
    await createEndpoints(name, {
      connectionType: 'ingress',
      proxy: { replicas: 2 },
      ports: [{ name: 'http', port: 80 }, { port: 443 }],
    });
    const ep = await waitReady(name);
    const uid = ep.metadata.uid!;
    // In the operator namespace: no ownerReference can point across namespaces, labels name the parent.
    const p = at(name);
    expect(p.namespace).not.toBe(namespace);
    const labels = {
      'app.kubernetes.io/managed-by': 'tailscale-gateway-operator',
      'app.kubernetes.io/name': 'tailscale-proxy',
      'app.kubernetes.io/instance': p.name,
      'gateway.tailscale.com/parent-kind': 'endpoints',
      'gateway.tailscale.com/parent-namespace': namespace,
      'gateway.tailscale.com/parent-name': name,
      'gateway.tailscale.com/parent-uid': uid,
    };
    expect(ep.metadata.finalizers).toContain('gateway.tailscale.com/finalizer');

    // ServiceAccount, Role (own state Secrets only), RoleBinding.
    const sa = await core.readNamespacedServiceAccount(at(name));
    expect(sa.metadata?.labels).toEqual(labels);
    expect(sa.metadata?.ownerReferences).toBeUndefined();
    const role = await rbac.readNamespacedRole(at(name));
    expect(role.metadata?.ownerReferences).toBeUndefined();
    expect(role.rules).toEqual([
      {
        apiGroups: [''],
        resources: ['secrets'],
        verbs: ['get', 'patch', 'update'],
        resourceNames: [`${p.name}-0`, `${p.name}-1`],
      },
      { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch', 'get'] },
    ]);
    const binding = await rbac.readNamespacedRoleBinding(at(name));
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: p.name });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: p.name, namespace: p.namespace }]);

    // StatefulSet: env and volume conventions, and without a TailscaleProxyClass the restricted defaults.
    const sts = await apps.readNamespacedStatefulSet(at(name));
    expect(sts.metadata?.labels).toEqual(labels);
    expect(sts.metadata?.ownerReferences).toBeUndefined();
    expect(sts.spec?.replicas).toBe(2);
    expect(sts.spec?.podManagementPolicy).toBe('Parallel');
    expect(sts.spec?.selector.matchLabels).toEqual({
      'gateway.tailscale.com/parent-kind': 'endpoints',
      'gateway.tailscale.com/parent-namespace': namespace,
      'gateway.tailscale.com/parent-name': name,
    });
    const podSpec = sts.spec!.template.spec!;
    expect(sts.spec?.template.metadata?.labels).toEqual(labels);
    expect(podSpec.serviceAccountName).toBe(p.name);
    expect(podSpec).not.toHaveProperty('nodeSelector');
    expect(podSpec).not.toHaveProperty('tolerations');
    expect(podSpec).not.toHaveProperty('initContainers');
    expect(podSpec.securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(podSpec.containers).toHaveLength(1);
    const container = podSpec.containers[0]!;
    expect(container.name).toBe('tailscale');
    expect(container.image).toBe('tailscale/tailscale:stable');
    expect(container.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container.resources ?? {}).toEqual({});
    expect(container.ports).toEqual([
      { name: 'http', containerPort: 80, protocol: 'TCP' },
      { name: 'tcp-443', containerPort: 443, protocol: 'TCP' },
    ]);
    expect(container.env).toEqual([
      { name: 'POD_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } },
      { name: 'POD_UID', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.uid' } } },
      { name: 'POD_IP', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'status.podIP' } } },
      { name: 'TS_USERSPACE', value: 'true' },
      { name: 'TS_KUBE_SECRET', value: '$(POD_NAME)' },
      { name: 'TS_STATE', value: 'kube:$(POD_NAME)' },
      { name: 'TS_EXPERIMENTAL_VERSIONED_CONFIG_DIR', value: '/etc/tsconfig/$(POD_NAME)' },
      { name: 'TS_SERVE_CONFIG', value: '/etc/proxies/serve-config.json' },
      { name: 'TS_EGRESS_PROXIES_CONFIG_PATH', value: '/etc/proxies' },
    ]);
    expect(container.volumeMounts).toEqual([
      { name: 'tailscaledconfig-0', mountPath: `/etc/tsconfig/${p.name}-0`, readOnly: true },
      { name: 'tailscaledconfig-1', mountPath: `/etc/tsconfig/${p.name}-1`, readOnly: true },
      { name: 'tmp', mountPath: '/tmp' },
      { name: 'proxies', mountPath: '/etc/proxies', readOnly: true },
    ]);
    expect(
      podSpec.volumes?.map((v) => [v.name, v.secret?.secretName ?? v.configMap?.name, v.configMap?.optional]),
    ).toEqual([
      ['tailscaledconfig-0', `${p.name}-0-config`, undefined],
      ['tailscaledconfig-1', `${p.name}-1-config`, undefined],
      ['tmp', undefined, undefined],
      ['proxies', `${p.name}-proxies`, true],
    ]);
    // The proxy set's ConfigMap (serve and egress configs) is pre-created beside it, without data.
    const proxiesConfigMap = await core.readNamespacedConfigMap({
      namespace: p.namespace,
      name: `${p.name}-proxies`,
    });
    expect(proxiesConfigMap.metadata?.ownerReferences).toBeUndefined();
    expect(proxiesConfigMap.data ?? {}).toEqual({});

    // A Service with a port per declared port.
    const service = await core.readNamespacedService(at(name));
    expect(service.metadata?.ownerReferences).toBeUndefined();
    expect(service.spec?.selector).toEqual(sts.spec?.selector.matchLabels);
    expect(service.spec?.ports?.map((p) => [p.name, p.port, p.targetPort, p.protocol])).toEqual([
      ['http', 80, 80, 'TCP'],
      ['tcp-443', 443, 443, 'TCP'],
    ]);

    // State and config Secrets per replica; the auth key is gone from the config once the device exists.
    const devices = await devicesNamed(name);
    expect(devices.map((d) => d.hostname).sort()).toEqual([`${name}-0`, `${name}-1`]);
    for (const i of [0, 1]) {
      const state = await core.readNamespacedSecret(stateSecretOf(p, i));
      expect(state.metadata?.labels).toEqual({
        ...labels,
        'gateway.tailscale.com/secret-type': 'state',
        'gateway.tailscale.com/replica': String(i),
      });
      expect(state.metadata?.ownerReferences).toBeUndefined();
      const device = devices.find((d) => d.hostname === `${name}-${i}`)!;
      expect(device.tags).toEqual(['tag:k8s']);
      expect(device.authorized).toBe(true);
      expect(secretData(state, 'device_id')).toBe(device.nodeId);
      expect(secretData(state, 'device_fqdn')).toBe(`${device.name}.`);
      expect(JSON.parse(secretData(state, 'device_ips'))).toEqual(device.addresses);

      // The key stays in the config only until the device exists; the pass after registration drops it.
      const config = await eventually(`config of replica ${i} without its auth key`, async () => {
        const secret = await core.readNamespacedSecret(configSecretOf(p, i));
        return 'AuthKey' in JSON.parse(secretData(secret, configKey)) ? undefined : secret;
      });
      expect(config.metadata?.labels).toEqual({
        ...labels,
        'gateway.tailscale.com/secret-type': 'config',
        'gateway.tailscale.com/replica': String(i),
      });
      expect(config.metadata?.ownerReferences).toBeUndefined();
      expect(Object.keys(config.data ?? {})).toEqual([configKey]);
      expect(JSON.parse(secretData(config, configKey))).toEqual({
        Version: 'alpha0',
        Locked: false,
        Hostname: `${name}-${i}`,
        acceptDNS: false,
      });
    }

    // One single-use, pre-authorized, tagged key per replica.
    const keys = (await listKeys(h.tailnet.api, { all: true })).filter((k) =>
      k.description.startsWith(`${name}-`),
    );
    expect(keys.map((k) => k.description.split(' ')[0]).sort()).toEqual([`${name}-0`, `${name}-1`]);
    for (const key of keys) {
      expect(key.capabilities).toEqual({
        reusable: false,
        ephemeral: false,
        preauthorized: true,
        tags: ['tag:k8s'],
      });
      expect(key.invalid).toBe(true);
    }

    // Status: both devices with their IPs and pods.
    const pods = await core.listNamespacedPod({ namespace: p.namespace, labelSelector: ours(name) });
    expect(ep.status?.devices).toHaveLength(2);
    for (const i of [0, 1]) {
      const device = devices.find((d) => d.hostname === `${name}-${i}`)!;
      const status = ep.status!.devices!.find((d) => d.statefulSetPod === `${p.name}-${i}`);
      const pod = pods.items.find((x) => x.metadata?.name === `${p.name}-${i}`);
      expect(status).toEqual({
        hostname: `${name}-${i}`,
        statefulSetPod: `${p.name}-${i}`,
        nodeID: device.nodeId,
        tailscaleIP: device.addresses[0],
        tailscaleIPs: device.addresses,
        tailscaleFQDN: device.name,
        online: true,
        connected: true,
        tags: ['tag:k8s'],
        // The Ready pod's IP: where Envoy reaches egress ports.
        podIP: pod?.status?.podIP,
      });
      expect(pod?.status?.podIP).toMatch(/^10\.244\./);
    }
    expect(ep.status?.statefulSets).toEqual([
      {
        name: p.name,
        replicas: 2,
        readyReplicas: 2,
        service: p.name,
        namespace: p.namespace,
        createdAt: sts.metadata?.creationTimestamp?.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      },
    ]);
    expectCondition(ep, 'Ready', {
      status: 'True',
      reason: 'Ready',
      message: '2/2 devices connected',
      observedGeneration: 1,
    });
    expect(ep.status?.conditions?.find((c) => c.type === 'DevicesObserved')).toMatchObject({
      status: 'True',
    });

    const handle = h.temporal.workflow.getHandle(endpointsWorkflowId(namespace, name));
    const description = await handle.describe();
    expect(description.type).toBe('tailscaleEndpointsWorkflow');
    expect(description.typedSearchAttributes.get(resourceKindKey)).toBe('TailscaleEndpoints');
    // Auth keys never enter the workflow's history.
    expect(JSON.stringify(await handle.fetchHistory())).not.toMatch(/tskey-auth-/);
    await recordHistory('tailscale-endpoints', 'ready', handle);
  });

  it('reconciles 100 times without a change and writes nothing: no auth key, no Tailscale write, no Secret write', async () => {
    const name = uniqueName('idle');
    await createEndpoints(name, { proxy: { replicas: 2 } });
    const versions = await settled(name);
    const handle = h.temporal.workflow.getHandle(endpointsWorkflowId(namespace, name));
    const countsBefore = await h.tailnet.sim.admin.requestCounts();
    const keysBefore = (await listKeys(h.tailnet.api, { all: true })).length;
    const snapshot = snapshotOf(await getEndpoints(name));
    const reconcilesBefore = (await handle.query(resourceStatusQuery)).reconciles;

    const started = Date.now();
    for (let n = 1; n <= 100; n++) {
      await handle.signal(objectChangedSignal, snapshot);
      await eventually(
        `reconcile ${n}`,
        async () =>
          (await handle.query(resourceStatusQuery)).reconciles >= reconcilesBefore + n ? true : undefined,
        { intervalMs: 10 },
      );
    }
    const elapsedMs = Date.now() - started;

    const counts = await h.tailnet.sim.admin.requestCounts();
    const writes = counts.writes - countsBefore.writes;
    const calls = counts.total - countsBefore.total;
    process.stdout.write(
      `\n100 idle reconciles in ${elapsedMs} ms: ${writes} Tailscale writes, ${calls} Tailscale calls (${JSON.stringify(
        Object.fromEntries(
          Object.entries(counts.routes)
            .map(([route, c]) => [route, c - (countsBefore.routes[route] ?? 0)] as const)
            .filter(([, c]) => c > 0),
        ),
      )})\n`,
    );
    expect(writes).toBe(0);
    expect(counts.routes['POST /api/v2/tailnet/-/keys'] ?? 0).toBe(
      countsBefore.routes['POST /api/v2/tailnet/-/keys'] ?? 0,
    );
    expect((await listKeys(h.tailnet.api, { all: true })).length).toBe(keysBefore);
    expect(await versionsOf(name)).toEqual(versions);
    expect((await handle.query(resourceStatusQuery)).lastError).toBeUndefined();
  }, 300_000);

  it('scales 3 → 1: ordinals 1 and 2 lose their devices and Secrets, ordinal 0 keeps its device', async () => {
    const name = uniqueName('scale');
    await createEndpoints(name, { proxy: { replicas: 3 } });
    await waitReady(name);
    const before = await devicesNamed(name);
    expect(before.map((d) => d.hostname).sort()).toEqual([0, 1, 2].map((i) => `${name}-${i}`));
    const first = before.find((d) => d.hostname === `${name}-0`)!;

    await endpoints.patch(name, [{ op: 'replace', path: '/spec/proxy/replicas', value: 1 }]);
    const ep = await waitReady(name, 2);
    await eventually('devices of ordinals 1 and 2 deleted', async () => {
      const left = await devicesNamed(name);
      return left.length === 1 ? left : undefined;
    });
    expect((await devicesNamed(name)).map((d) => d.nodeId)).toEqual([first.nodeId]);
    const secrets = await core.listNamespacedSecret({
      namespace: at(name).namespace,
      labelSelector: ours(name),
    });
    expect(secrets.items.map((x) => x.metadata?.name).sort()).toEqual([
      `${at(name).name}-0`,
      `${at(name).name}-0-config`,
    ]);
    expect(ep.status?.devices?.map((d) => d.nodeID)).toEqual([first.nodeId]);
    expect(ep.status?.statefulSets?.[0]).toMatchObject({ replicas: 1, readyReplicas: 1 });
    const role = await rbac.readNamespacedRole(at(name));
    expect(role.rules?.[0]?.resourceNames).toEqual([`${at(name).name}-0`]);
    await recordHistory(
      'tailscale-endpoints',
      'scaled-down',
      h.temporal.workflow.getHandle(endpointsWorkflowId(namespace, name)),
    );
  });

  it('deletion removes every device and owned object, then the finalizer, and ends the workflow', async () => {
    const name = uniqueName('gone');
    await createEndpoints(name, { proxy: { replicas: 2 }, ports: [{ port: 8080 }] });
    await waitReady(name);
    expect(await devicesNamed(name)).toHaveLength(2);

    await endpoints.delete(name);
    const handle = h.temporal.workflow.getHandle(endpointsWorkflowId(namespace, name));
    await eventually('workflow completion', async () =>
      (await handle.describe()).status.name === 'COMPLETED' ? true : undefined,
    );
    await eventually('object gone', async () => {
      try {
        await getEndpoints(name);
        return undefined;
      } catch {
        return true;
      }
    });
    expect(await devicesNamed(name)).toEqual([]);
    expect(
      (await core.listNamespacedSecret({ namespace: at(name).namespace, labelSelector: ours(name) })).items,
    ).toEqual([]);
    const stillThere = await Promise.allSettled([
      apps.readNamespacedStatefulSet(at(name)),
      core.readNamespacedService(at(name)),
      core.readNamespacedServiceAccount(at(name)),
      rbac.readNamespacedRole(at(name)),
      rbac.readNamespacedRoleBinding(at(name)),
    ]);
    expect(stillThere.map((r) => r.status)).toEqual([
      'rejected',
      'rejected',
      'rejected',
      'rejected',
      'rejected',
    ]);
    await recordHistory('tailscale-endpoints', 'deleted', handle);
  });

  it('deletion revokes the auth key of a replica that never logged in, so it cannot join later', async () => {
    const name = uniqueName('unspent');
    // Replica 1's pod never runs: its config Secret holds a key nobody has spent.
    await h.proxies.killReplica(at(name).namespace, at(name).name, 1, { restart: false });
    await createEndpoints(name, { proxy: { replicas: 2 } });
    const key = await eventually('replica 1 handed a key', async () => {
      try {
        const authKey = (await configOf(name, 1)).AuthKey;
        return typeof authKey === 'string' && authKey ? authKey : undefined;
      } catch {
        return undefined;
      }
    });
    await eventually('replica 0 logged in', async () =>
      (await devicesNamed(name)).length ? true : undefined,
    );

    await endpoints.delete(name);
    const handle = h.temporal.workflow.getHandle(endpointsWorkflowId(namespace, name));
    await eventually('workflow completion', async () =>
      (await handle.describe()).status.name === 'COMPLETED' ? true : undefined,
    );
    const id = authKeyId(key);
    expect(id).toBeDefined();
    const left = await getKey(h.tailnet.api, id!);
    expect(left === null || left.invalid).toBe(true);
    await expect(
      h.tailnet.sim.admin.registerDevice({ authKey: key, hostname: `${name}-1` }),
    ).rejects.toThrow();
    expect(await devicesNamed(name)).toEqual([]);
    h.proxies.restartReplica(at(name).namespace, at(name).name, 1);
  });

  it('an upgrade removes the proxies the previous version put in the parent namespace, revoking their key', async () => {
    const name = uniqueName('legacy');
    // Created unseen by the test operator (no instance label), so the old proxies are in place first.
    await h.objects.createNamespacedCustomObject({
      group: 'gateway.tailscale.com',
      version: 'v1alpha1',
      namespace,
      plural: 'tailscaleendpoints',
      body: {
        apiVersion: 'gateway.tailscale.com/v1alpha1',
        kind: 'TailscaleEndpoints',
        metadata: { name },
        spec: { tailnet: h.tailnet.name, tags: ['tag:k8s'], proxy: { replicas: 1 } },
      },
    });
    const uid = (await getEndpoints(name)).metadata.uid!;
    // As the previous version left them: named after the parent, in its namespace, owned by reference.
    const owned = {
      name,
      namespace,
      ownerReferences: [
        {
          apiVersion: 'gateway.tailscale.com/v1alpha1',
          kind: 'TailscaleEndpoints',
          name,
          uid,
          controller: true,
        },
      ],
    };
    const key = await createAuthKey(h.tailnet.api, { preauthorized: true, tags: ['tag:k8s'] });
    await core.createNamespacedSecret({
      namespace,
      body: { metadata: { ...owned, name: `${name}-0` }, stringData: { device_id: '' } },
    });
    await core.createNamespacedSecret({
      namespace,
      body: {
        metadata: { ...owned, name: `${name}-0-config` },
        stringData: { [configKey]: JSON.stringify({ Version: 'alpha0', AuthKey: key.key }) },
      },
    });
    await core.createNamespacedServiceAccount({ namespace, body: { metadata: owned } });
    await rbac.createNamespacedRoleBinding({
      namespace,
      body: {
        metadata: owned,
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
        subjects: [{ kind: 'ServiceAccount', name, namespace }],
      },
    });
    // Not owned by reference (the tenant's own): left alone.
    await rbac.createNamespacedRole({ namespace, body: { metadata: { name }, rules: [] } });
    const selector = { matchLabels: { legacy: name } };
    await apps.createNamespacedStatefulSet({
      namespace,
      body: {
        metadata: owned,
        spec: {
          replicas: 1,
          serviceName: '',
          selector,
          template: {
            metadata: { labels: selector.matchLabels },
            spec: { containers: [{ name: 'tailscale', image: 'tailscale/tailscale:stable' }] },
          },
        },
      },
    });

    await endpoints.patch(name, [{ op: 'add', path: '/metadata/labels', value: h.operator.labels }]);
    await waitReady(name);
    const gone = async (read: () => Promise<unknown>) =>
      read().then(
        () => false,
        () => true,
      );
    await eventually('the old proxies removed', async () => {
      const left = await Promise.all([
        gone(() => core.readNamespacedSecret({ namespace, name: `${name}-0` })),
        gone(() => core.readNamespacedSecret({ namespace, name: `${name}-0-config` })),
        gone(() => core.readNamespacedServiceAccount({ namespace, name })),
        gone(() => rbac.readNamespacedRoleBinding({ namespace, name })),
        gone(() => apps.readNamespacedStatefulSet({ namespace, name })),
      ]);
      return left.every(Boolean) ? true : undefined;
    });
    expect(await gone(() => rbac.readNamespacedRole({ namespace, name }))).toBe(false);
    const revoked = await getKey(h.tailnet.api, key.id);
    expect(revoked === null || revoked.invalid).toBe(true);
    // The new ones run in the operator namespace.
    expect((await apps.readNamespacedStatefulSet(at(name))).status?.readyReplicas).toBe(1);
  });
});
