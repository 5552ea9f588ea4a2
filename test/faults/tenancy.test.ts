/**
 * Issue 13, points 1 to 3, played by one attacker. Point 2: a tenant never sees auth keys or proxy state. The attacker is a ServiceAccount with
 * ordinary rights in its own namespace only (the built-in `edit` ClusterRole bound there, plus the use of
 * our kinds there) and acts with its own token. It creates a TailscaleEndpoints and one over a
 * TailscaleProxyGroup; the test then checks, through the real API server's authorization, that nothing
 * key-bearing is in its namespace or readable by it, that the proxies run in the operator namespace,
 * and that deleting its object removes exactly that object's proxies (another tenant's object of the same
 * name keeps its own).
 *
 * Fails on the placement before the operator namespace (proxies, state and tagged auth keys in the
 * tenant's namespace): run with proxyPlacement returning the parent's own namespace and name.
 *
 * Points 1 and 3, same attacker: the API server refuses it pod settings (image, tolerations) on its
 * objects and any TailscaleProxyClass (cluster-scoped, admins only), and its TailscaleServices naming
 * another namespace's VIP service is refused with ClaimRefused while the owner stays Ready, unchanged.
 */
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  RbacAuthorizationV1Api,
  type V1Secret,
} from '@kubernetes/client-node';
import { tailscaledConfigKey } from '../../activities/specs/tailscaled-config';
import { stateKeys } from '../../activities/proxies/state-secret';
import { kubeStatusCode } from '../../activities/kubernetes/errors';
import { getVipService } from '../../activities/tailscale/vip-services';
import { startProxySimulator, type ProxySimulator } from '../../simulators/proxy/simulator';
import { eventually } from '../support/eventually';
import { instanceLabels, startOperator, type TestOperator } from '../support/operator';
import { configSecretOf, proxiesOf, stateSecretOf } from '../support/proxies';
import { createTestNamespace, stackInfo, testKubeConfig, uniqueName } from '../support/stack';
import { startTestTailnet, type TestTailnet } from '../support/tailscale';
import { conditionOf, isConditionTrue } from '../support/conditions';
import { advertisedServices, createTailscaleServices } from '../support/objects';

const group = 'gateway.tailscale.com';
const version = 'v1alpha1';
const plural = {
  TailscaleEndpoints: 'tailscaleendpoints',
  TailscaleProxyGroup: 'tailscaleproxygroups',
  TailscaleServices: 'tailscaleservices',
};
type Kind = keyof typeof plural;

describe('tenants never see auth keys or proxy state', () => {
  let admin: KubeConfig;
  let attacker: KubeConfig;
  let tenant: string;
  let other: string;
  let tailnet: TestTailnet;
  let operator: TestOperator;
  let proxies: ProxySimulator;
  const instance = uniqueName('tenancy');
  const labels = instanceLabels(instance);
  const operatorNamespace = () => stackInfo().operatorNamespace;

  /** The attacker's client: a token of its ServiceAccount, nothing of the harness's admin. */
  const attackerConfig = async (namespace: string, account: string): Promise<KubeConfig> => {
    const { status } = await admin.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({
      namespace,
      name: account,
      body: { spec: { expirationSeconds: 3600, audiences: [] } },
    });
    const cluster = admin.getCurrentCluster()!;
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'test', server: cluster.server, skipTLSVerify: true }],
      users: [{ name: account, token: status!.token }],
      contexts: [{ name: account, cluster: 'test', user: account }],
      currentContext: account,
    });
    return kc;
  };

  beforeAll(async () => {
    admin = testKubeConfig();
    const home = await createTestNamespace(admin, 'tenancy-admin');
    tenant = await createTestNamespace(admin, 'tenant-a');
    other = await createTestNamespace(admin, 'tenant-b');
    // The tailnet and its OAuth Secret belong to the admin, not to either tenant.
    tailnet = await startTestTailnet({ kc: admin, namespace: home, name: uniqueName('corp'), labels });
    operator = startOperator({ instance, env: { TAILSCALE_API_BASE_URL: tailnet.sim.url } });
    proxies = startProxySimulator({ kc: admin, tailscale: tailnet.sim.admin, namespaces: [tenant, other] });

    // Ordinary namespace rights: `edit` there (Secrets included), and the use of our kinds there.
    const core = admin.makeApiClient(CoreV1Api);
    const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
    await core.createNamespacedServiceAccount({
      namespace: tenant,
      body: { metadata: { name: 'attacker' } },
    });
    const subject = [{ kind: 'ServiceAccount', name: 'attacker', namespace: tenant }];
    // `edit` gets its rules by aggregation, which kube-controller-manager does and the test stack does not
    // run: its aggregated source (the same rules: Secrets, pods, workloads, ...) is bound next to it.
    for (const role of ['edit', 'system:aggregate-to-edit'])
      await rbac.createNamespacedRoleBinding({
        namespace: tenant,
        body: {
          metadata: { name: `attacker-${role.replace(/:/g, '-')}` },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
          subjects: subject,
        },
      });
    await rbac.createNamespacedRole({
      namespace: tenant,
      body: {
        metadata: { name: 'tailscale-user' },
        rules: [{ apiGroups: [group], resources: Object.values(plural), verbs: ['*'] }],
      },
    });
    await rbac.createNamespacedRoleBinding({
      namespace: tenant,
      body: {
        metadata: { name: 'attacker-tailscale-user' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'tailscale-user' },
        subjects: subject,
      },
    });
    attacker = await attackerConfig(tenant, 'attacker');
  });

  afterAll(async () => {
    await proxies?.stop();
    await operator?.stop();
    await tailnet?.close();
  });

  const create = (
    kc: KubeConfig,
    namespace: string,
    kind: Kind,
    name: string,
    spec: object,
    more: { labels?: Record<string, string>; fieldValidation?: string } = {},
  ) =>
    kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
      group,
      version,
      namespace,
      plural: plural[kind],
      ...(more.fieldValidation ? { fieldValidation: more.fieldValidation } : {}),
      body: {
        apiVersion: `${group}/${version}`,
        kind,
        metadata: { name, labels: { ...labels, ...more.labels } },
        spec,
      },
    });
  type Stored = {
    spec?: unknown;
    metadata?: { generation?: number };
    status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] };
  };
  const read = async (namespace: string, kind: Kind, name: string) =>
    (await admin.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({
      group,
      version,
      namespace,
      plural: plural[kind],
      name,
    })) as Stored;
  const readyOf = async (namespace: string, kind: Kind, name: string) => {
    const obj = await read(namespace, kind, name);
    return isConditionTrue(obj) ? obj : undefined;
  };
  const waitReady = (namespace: string, kind: Kind, name: string) =>
    eventually(`${kind} ${namespace}/${name} Ready`, () => readyOf(namespace, kind, name), {
      timeoutMs: 120_000,
    });
  /** The status code the API server answered the attacker with. */
  const refusal = async (call: () => Promise<unknown>) =>
    call().then(
      () => 'allowed',
      (err: unknown) => kubeStatusCode(err),
    );
  const holdsKeyOrState = (s: V1Secret) =>
    Object.keys(s.data ?? {}).some(
      (k) =>
        k === tailscaledConfigKey ||
        k === stateKeys.deviceId ||
        k.startsWith('_') ||
        k.startsWith('profile-'),
    );
  const proxyObjectsOf = async (namespace: string, name: string) => {
    const where = {
      namespace: operatorNamespace(),
      labelSelector: `gateway.tailscale.com/parent-namespace=${namespace},gateway.tailscale.com/parent-name=${name}`,
    };
    const names = (items: { metadata?: { name?: string } }[]) => items.map((i) => i.metadata?.name ?? '');
    const core = admin.makeApiClient(CoreV1Api);
    const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
    return [
      ...names((await admin.makeApiClient(AppsV1Api).listNamespacedStatefulSet(where)).items),
      ...names((await core.listNamespacedSecret(where)).items),
      ...names((await core.listNamespacedServiceAccount(where)).items),
      ...names((await rbac.listNamespacedRole(where)).items),
      ...names((await rbac.listNamespacedRoleBinding(where)).items),
    ].sort();
  };

  it('an attacker with edit rights in its namespace gets proxies it can neither read nor reach', async () => {
    const spec = { tailnet: tailnet.name, tags: ['tag:k8s'] };
    await create(attacker, tenant, 'TailscaleEndpoints', 'web', { ...spec, proxy: { replicas: 1 } });
    await create(attacker, tenant, 'TailscaleProxyGroup', 'pool', {
      ...spec,
      type: 'ingress',
      proxy: { replicas: 1 },
    });
    await create(attacker, tenant, 'TailscaleEndpoints', 'via-pool', {
      ...spec,
      proxyGroup: 'pool',
      connectionType: 'ingress',
    });
    // Another tenant's object of the same name (made by its own admin).
    await create(admin, other, 'TailscaleEndpoints', 'web', { ...spec, proxy: { replicas: 1 } });
    for (const [namespace, kind, name] of [
      [tenant, 'TailscaleEndpoints', 'web'],
      [tenant, 'TailscaleProxyGroup', 'pool'],
      [tenant, 'TailscaleEndpoints', 'via-pool'],
      [other, 'TailscaleEndpoints', 'web'],
    ] as const)
      await waitReady(namespace, kind, name);

    // Nothing in the tenant's namespace holds a tailscaled config, an auth key or proxy state, and no
    // proxy runs there.
    const core = admin.makeApiClient(CoreV1Api);
    const tenantSecrets = (await core.listNamespacedSecret({ namespace: tenant })).items;
    expect(tenantSecrets.filter(holdsKeyOrState).map((s) => s.metadata?.name)).toEqual([]);
    expect(
      (await admin.makeApiClient(AppsV1Api).listNamespacedStatefulSet({ namespace: tenant })).items,
    ).toEqual([]);
    expect((await core.listNamespacedPod({ namespace: tenant })).items).toEqual([]);

    // The proxies run in the operator namespace, with their state and (until used) their keys there.
    const web = proxiesOf(tenant, 'web');
    const pool = proxiesOf(tenant, 'pool', 'TailscaleProxyGroup');
    expect(web.namespace).toBe(operatorNamespace());
    for (const p of [web, pool]) {
      const sts = await admin.makeApiClient(AppsV1Api).readNamespacedStatefulSet(p);
      expect(sts.status?.readyReplicas).toBe(1);
      expect(Object.keys((await core.readNamespacedSecret(stateSecretOf(p, 0))).data ?? {})).toContain(
        stateKeys.deviceId,
      );
      expect(Object.keys((await core.readNamespacedSecret(configSecretOf(p, 0))).data ?? {})).toContain(
        tailscaledConfigKey,
      );
    }

    // The attacker reads Secrets of its own namespace (its rights are real)...
    const attackerCore = attacker.makeApiClient(CoreV1Api);
    expect(await refusal(() => attackerCore.listNamespacedSecret({ namespace: tenant }))).toBe('allowed');
    // ...and the API server refuses it every proxy Secret.
    expect({
      getConfig: await refusal(() => attackerCore.readNamespacedSecret(configSecretOf(web, 0))),
      getState: await refusal(() => attackerCore.readNamespacedSecret(stateSecretOf(web, 0))),
      getPoolConfig: await refusal(() => attackerCore.readNamespacedSecret(configSecretOf(pool, 0))),
      list: await refusal(() => attackerCore.listNamespacedSecret({ namespace: operatorNamespace() })),
      listAll: await refusal(() => attackerCore.listSecretForAllNamespaces()),
    }).toEqual({ getConfig: 403, getState: 403, getPoolConfig: 403, list: 403, listAll: 403 });

    // Deleting its object removes exactly that object's proxies; the other tenant's `web` keeps its own.
    const othersBefore = await proxyObjectsOf(other, 'web');
    expect(othersBefore.length).toBeGreaterThanOrEqual(6);
    await attacker.makeApiClient(CustomObjectsApi).deleteNamespacedCustomObject({
      group,
      version,
      namespace: tenant,
      plural: plural.TailscaleEndpoints,
      name: 'web',
    });
    await eventually(
      'the tenant endpoints and their proxies gone',
      async () => ((await proxyObjectsOf(tenant, 'web')).length === 0 ? true : undefined),
      { timeoutMs: 120_000 },
    );
    expect(await proxyObjectsOf(other, 'web')).toEqual(othersBefore);
    expect(await readyOf(other, 'TailscaleEndpoints', 'web')).toBeDefined();
    expect((await proxyObjectsOf(tenant, 'pool')).length).toBeGreaterThanOrEqual(6);
  }, 300_000);

  it("the same attacker can set no pod settings, create no class, and take no other namespace's VIP service", async () => {
    const spec = { tailnet: tailnet.name, tags: ['tag:k8s'] };
    // Point 1: pod settings are not in a namespaced object's schema; the API server refuses them.
    const withProxy = (name: string, proxy: object) => () =>
      create(
        attacker,
        tenant,
        'TailscaleEndpoints',
        name,
        { ...spec, proxy: { replicas: 1, ...proxy } },
        {
          fieldValidation: 'Strict',
        },
      );
    await expect(withProxy('rootkit', { image: 'attacker.example/rootkit:latest' })()).rejects.toThrow(
      /unknown field [^a-z]*spec.proxy.image/,
    );
    await expect(withProxy('anywhere', { tolerations: [{ operator: 'Exists' }] })()).rejects.toThrow(
      /unknown field [^a-z]*spec.proxy.tolerations/,
    );
    for (const name of ['rootkit', 'anywhere'])
      expect(await refusal(() => read(tenant, 'TailscaleEndpoints', name))).toBe(404);
    // ...and the classes that hold them are the admins': the attacker may create none.
    const className = uniqueName('mine');
    expect(
      await refusal(() =>
        attacker.makeApiClient(CustomObjectsApi).createClusterCustomObject({
          group,
          version,
          plural: 'tailscaleproxyclasses',
          body: {
            apiVersion: `${group}/${version}`,
            kind: 'TailscaleProxyClass',
            metadata: { name: className },
            spec: { image: 'attacker.example/rootkit:latest', tolerations: [{ operator: 'Exists' }] },
          },
        }),
      ),
    ).toBe(403);

    // Point 3: the other tenant's admin publishes a VIP service first.
    const serviceName = `svc:${uniqueName('site')}`;
    await create(
      admin,
      other,
      'TailscaleEndpoints',
      'site-proxies',
      { ...spec, proxy: { replicas: 1 } },
      {
        labels: { app: 'site' },
      },
    );
    await createTailscaleServices(admin, {
      namespace: other,
      name: 'site',
      labels: operator.labels,
      spec: {
        tailnet: tailnet.name,
        selector: { matchLabels: { app: 'site' } },
        vipService: { name: serviceName, ports: ['tcp:443'], tags: ['tag:web'] },
      },
    });
    await waitReady(other, 'TailscaleServices', 'site');
    await eventually('the owner advertised', async () =>
      (await advertisedServices(admin, { namespace: other, name: 'site-proxies' }, 0)).includes(serviceName)
        ? true
        : undefined,
    );
    const shown = async () => {
      const svc = (await read(other, 'TailscaleServices', 'site')) as Stored & {
        status?: { vipService?: unknown };
      };
      return {
        spec: svc.spec,
        generation: svc.metadata?.generation,
        conditions: (svc.status?.conditions ?? []).map(({ type, status, reason, message }) => ({
          type,
          status,
          reason,
          message,
        })),
        vipService: svc.status?.vipService,
      };
    };
    const before = await shown();

    // The attacker claims the same name with its own proxies and ports, admitting every namespace.
    await create(
      attacker,
      tenant,
      'TailscaleEndpoints',
      'grab-proxies',
      { ...spec, proxy: { replicas: 1 } },
      {
        labels: { app: 'grab' },
      },
    );
    await waitReady(tenant, 'TailscaleEndpoints', 'grab-proxies');
    await createTailscaleServices(attacker, {
      namespace: tenant,
      name: 'grab',
      labels: operator.labels,
      spec: {
        tailnet: tailnet.name,
        selector: { matchLabels: { app: 'grab' } },
        vipService: { name: serviceName, ports: ['tcp:9999'], tags: ['tag:web'], allowedNamespaces: ['*'] },
      },
    });
    const refused = await eventually(
      'the claim refused',
      async () => {
        const c = conditionOf(await read(tenant, 'TailscaleServices', 'grab'), 'Ready');
        return c?.status === 'False' && c.reason === 'ClaimRefused' ? c : undefined;
      },
      { timeoutMs: 120_000 },
    );
    expect(refused.message).toContain(`TailscaleServices ${other}/site`);

    // Nothing of the owner changed: its object, its VIP service, its proxies' advertisement; the
    // attacker's proxies never advertise the name.
    expect(await shown()).toEqual(before);
    expect(isConditionTrue(await read(other, 'TailscaleServices', 'site'))).toBe(true);
    expect((await getVipService(tailnet.api, serviceName))?.ports).toEqual(['tcp:443']);
    expect(await advertisedServices(admin, { namespace: other, name: 'site-proxies' }, 0)).toEqual([
      serviceName,
    ]);
    expect(await advertisedServices(admin, { namespace: tenant, name: 'grab-proxies' }, 0)).toEqual([]);
  }, 300_000);
});
