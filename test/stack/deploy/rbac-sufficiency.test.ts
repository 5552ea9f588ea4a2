import { proxiesOf } from '../../support/proxies';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import type { TailscaleServices, TailscaleTailnet } from '../../../api/v1alpha1';
import { repoRoot } from '../../../runtime/paths';
import { renderChart } from '../../../tools/helm';
import { freePort } from '../../../tools/stack/ports';
import { spawnManaged, type ManagedProcess } from '../../../tools/stack/process';
import { startProxySimulator, type ProxySimulator } from '../../../simulators/proxy/simulator';
import { eventually } from '../../support/eventually';
import { createTailscaleGateway, createTailscaleServices } from '../../support/objects';
import { instanceLabels } from '../../support/operator';
import { createTestNamespace, stackInfo, testKubeConfig, uniqueName } from '../../support/stack';
import { startTestTailnet, type TestTailnet } from '../../support/tailscale';
import { Discovery, kubeRequest, serverSideApply } from './kube-requests';
import type { Component } from './rbac';
import { conditionOf, isConditionTrue, waitForReady } from '../../support/conditions';

const group = 'gateway.tailscale.com';
const version = 'v1alpha1';

/**
 * The other half of least privilege: the chart's RBAC is also *enough*. Each real process runs with the
 * token of its own chart ServiceAccount (not the harness's admin) and has to do its whole job, in an
 * install watching every namespace (ClusterRoleBindings) and in one limited to its namespace
 * (`watch.namespaces`: RoleBindings there, cluster-wide only for cluster-scoped kinds).
 */
describe.each([
  { mode: 'cluster-wide', scoped: false },
  { mode: 'namespace-scoped', scoped: true },
])("the processes do their job with nothing but their chart ServiceAccount's RBAC ($mode)", ({ scoped }) => {
  let kc: KubeConfig;
  let namespace: string;
  let tailnet: TestTailnet;
  let proxies: ProxySimulator;
  const processes = new Map<Component, ManagedProcess>();
  const ports = new Map<Component, number>();
  const instance = uniqueName('rbac-run');
  const labels = instanceLabels(instance);

  const tokenFor = async (serviceAccount: string) => {
    const res = await kubeRequest(
      kc,
      'POST',
      `/api/v1/namespaces/${namespace}/serviceaccounts/${serviceAccount}/token`,
      { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } },
    );
    const token = (res.body.status as { token?: string } | undefined)?.token;
    if (!token) throw new Error(`TokenRequest for ${serviceAccount}: HTTP ${res.status}`);
    return token;
  };

  const kubeconfigFor = (c: Component, token: string) => {
    const path = join(stackInfo().dir, `${instance}-${c}.kubeconfig`);
    writeFileSync(
      path,
      stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [
          { name: 'test', cluster: { server: stackInfo().kubeServer, 'insecure-skip-tls-verify': true } },
        ],
        users: [{ name: c, user: { token } }],
        contexts: [{ name: c, context: { cluster: 'test', user: c } }],
        'current-context': c,
      }),
      { mode: 0o600 },
    );
    return path;
  };

  /** True once the process answers /ready with 200; otherwise throws what a timeout should report. */
  const ready = async (c: Component) => {
    const p = processes.get(c);
    if (p && p.child.exitCode !== null) {
      const lines = readFileSync(p.logFile, 'utf8').trim().split('\n').slice(-5).join('\n');
      throw new Error(`${c} exited with ${p.child.exitCode}; its log ends:\n${lines}`);
    }
    const res = await fetch(`http://127.0.0.1:${ports.get(c)}/ready`);
    if (res.status === 200) return true;
    throw new Error(`${c} /ready answered ${res.status}: ${(await res.text()).slice(0, 500)}`);
  };

  beforeAll(async () => {
    kc = testKubeConfig();
    namespace = await createTestNamespace(kc, 'rbac-run');
    const release = uniqueName('run').slice(0, 16);
    const objects = await renderChart({
      release,
      namespace,
      set: scoped ? [`watch.namespaces={${namespace}}`] : [],
    });
    const discovery = new Discovery(kc);
    const accounts = new Map<Component, string>();
    for (const obj of objects) {
      if (!['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'].includes(obj.kind))
        continue;
      const res = await serverSideApply(kc, discovery, obj, { namespace, dryRun: false });
      if (res.status >= 300) throw new Error(`${obj.kind}/${obj.metadata.name}: ${String(res.body.message)}`);
      const c = (obj.metadata.labels as Record<string, string>)['app.kubernetes.io/component'] as Component;
      if (obj.kind === 'ServiceAccount') accounts.set(c, obj.metadata.name);
    }

    tailnet = await startTestTailnet({ kc, namespace, name: uniqueName('corp'), labels });
    proxies = startProxySimulator({ kc, tailscale: tailnet.sim.admin, namespaces: [namespace] });
    const info = stackInfo();
    const common = {
      ...process.env,
      TEMPORAL_ADDRESS: info.temporalAddress,
      TEMPORAL_NAMESPACE: 'default',
      TEMPORAL_TASK_QUEUE: `tq-${instance}`,
      WATCH_LABEL_SELECTOR: Object.entries(labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(','),
      WATCH_NAMESPACES: scoped ? namespace : '',
      LOG_LEVEL: 'debug',
      // As the chart sets them (the release namespace, from the downward API): the worker derives its
      // identity, reading the kube-system Namespace.
      OPERATOR_NAMESPACE: namespace,
      RELEASE_NAME: release,
    };
    const logDir = join(info.dir, 'logs');
    mkdirSync(logDir, { recursive: true });
    const entry: Record<Component, string> = {
      worker: 'dist/workers/main.js',
      watchers: 'dist/watchers/main.js',
      extension: 'dist/extension/main.js',
    };
    for (const c of ['worker', 'watchers', 'extension'] as const) {
      ports.set(c, await freePort());
      const env: NodeJS.ProcessEnv = {
        ...common,
        KUBECONFIG: kubeconfigFor(c, await tokenFor(accounts.get(c) ?? '')),
        HEALTH_ADDRESS: `127.0.0.1:${ports.get(c)}`,
        TAILSCALE_API_BASE_URL: tailnet.sim.url,
        EXTENSION_GRPC_ADDRESS: `127.0.0.1:${await freePort()}`,
        EXTENSION_HTTP_ADDRESS: `127.0.0.1:${ports.get(c)}`,
      };
      processes.set(
        c,
        spawnManaged({
          name: c,
          command: process.execPath,
          args: [join(repoRoot(), entry[c])],
          env,
          logFile: join(logDir, `${instance}-${c}.log`),
        }),
      );
    }
  });

  afterAll(async () => {
    await Promise.all([...processes.values()].map((p) => p.stop()));
    await proxies?.stop();
    await tailnet?.close();
  });

  it.each(['watchers', 'extension', 'worker'] as const)(
    'the %s becomes ready (every informer listed with its own token)',
    async (c) => {
      await eventually(`${c} /ready`, () => ready(c), { timeoutMs: 60_000, intervalMs: 250 });
    },
  );

  it('the worker checks the tailnet (reads its Secret, publishes status)', async () => {
    const objects = kc.makeApiClient(CustomObjectsApi);
    await eventually(
      'tailnet Ready',
      async () => {
        const t = (await objects.getClusterCustomObject({
          group,
          version,
          plural: 'tailscaletailnets',
          name: tailnet.name,
        })) as TailscaleTailnet;
        return isConditionTrue(t) ? conditionOf(t) : undefined;
      },
      { timeoutMs: 60_000 },
    );
  });

  it('the worker provisions, publishes and cleans up a TailscaleServices with auto-provisioned endpoints', async () => {
    const objects = kc.makeApiClient(CustomObjectsApi);
    const apps = kc.makeApiClient(AppsV1Api);
    const name = 'web';
    await createTailscaleServices(kc, {
      namespace,
      name,
      labels,
      spec: {
        tailnet: tailnet.name,
        selector: { matchLabels: { app: name } },
        vipService: { ports: ['tcp:80'], tags: ['tag:k8s'] },
        // The template's labels put the auto-provisioned endpoints in this operator's label selector.
        endpointTemplate: { replicas: 1, ports: [{ port: 80 }], labels },
      },
    });
    const get = async () =>
      (await objects.getNamespacedCustomObject({
        group,
        version,
        namespace,
        plural: 'tailscaleservices',
        name,
      })) as TailscaleServices;

    // Endpoints created (create), proxy objects applied (SSA patch creates them), status published (update).
    await eventually(
      'the proxy StatefulSet of the auto-provisioned endpoints',
      () => apps.readNamespacedStatefulSet(proxiesOf(namespace, `${name}-endpoints`, undefined, namespace)),
      { timeoutMs: 60_000 },
    );
    const ready = await waitForReady('TailscaleServices', get, { timeoutMs: 90_000 });
    expect(ready.status?.vipService?.addresses?.length).toBeGreaterThan(0);

    // Cleanup: finalizers removed (patch), endpoints deleted (delete), proxy objects deleted.
    await objects.deleteNamespacedCustomObject({
      group,
      version,
      namespace,
      plural: 'tailscaleservices',
      name,
    });
    await eventually(
      'TailscaleServices and its endpoints gone',
      async () => {
        const left = (await objects.listNamespacedCustomObject({
          group,
          version,
          namespace,
          plural: 'tailscaleendpoints',
        })) as { items: unknown[] };
        const svc = await get().catch(() => undefined);
        return !svc && left.items.length === 0 ? true : undefined;
      },
      { timeoutMs: 90_000 },
    );
  });

  it('the worker resolves a TailscaleGateway whose Gateway admits routes from every namespace', async () => {
    const objects = kc.makeApiClient(CustomObjectsApi);
    const name = 'edge';
    await objects.createNamespacedCustomObject({
      group: 'gateway.networking.k8s.io',
      version: 'v1',
      namespace,
      plural: 'gateways',
      body: {
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'Gateway',
        metadata: { name },
        spec: {
          gatewayClassName: 'eg',
          listeners: [
            { name: 'http', protocol: 'HTTP', port: 80, allowedRoutes: { namespaces: { from: 'All' } } },
          ],
        },
      },
    });
    await createTailscaleGateway(kc, {
      namespace,
      name,
      labels,
      spec: { gatewayRef: { name }, tailnets: [tailnet.name] },
    });
    // Routes are listed in every namespace the install may read: all of them, or only the watched one.
    const ready = await eventually(
      'TailscaleGateway Ready',
      async () => {
        const gw = (await objects.getNamespacedCustomObject({
          group,
          version,
          namespace,
          plural: 'tailscalegateways',
          name,
        })) as { status?: { conditions?: { type: string; status: string; reason: string }[] } };
        const condition = conditionOf(gw);
        return condition && condition.reason !== 'Reconciling' ? condition : undefined;
      },
      { timeoutMs: 60_000 },
    );
    expect(ready).toMatchObject({ status: 'True' });
  });

  it('no process was ever refused by the API server', () => {
    for (const [c, p] of processes) {
      const log = readFileSync(p.logFile, 'utf8');
      expect([c, log.match(/.{0,200}(forbidden|"code":403|HTTP-Code: 403).{0,200}/i)?.[0]]).toEqual([
        c,
        undefined,
      ]);
    }
  });
  if (scoped) {
    // After the refusal check: this one is refused on purpose.
    it('a tailnet whose OAuth Secret is outside the watched namespaces says so, and why', async () => {
      const objects = kc.makeApiClient(CustomObjectsApi);
      const core = kc.makeApiClient(CoreV1Api);
      const other = await createTestNamespace(kc, 'unwatched');
      await core.createNamespacedSecret({
        namespace: other,
        body: { metadata: { name: 'oauth' }, stringData: { client_id: 'k1', client_secret: 'not-read' } },
      });
      const name = uniqueName('elsewhere');
      await objects.createClusterCustomObject({
        group,
        version,
        plural: 'tailscaletailnets',
        body: {
          apiVersion: `${group}/${version}`,
          kind: 'TailscaleTailnet',
          metadata: { name, labels },
          spec: { oauthSecretRef: { namespace: other, name: 'oauth' } },
        },
      });
      const ready = await eventually(
        'tailnet condition',
        async () => {
          const t = (await objects.getClusterCustomObject({
            group,
            version,
            plural: 'tailscaletailnets',
            name,
          })) as TailscaleTailnet;
          return conditionOf(t);
        },
        { timeoutMs: 60_000 },
      );
      expect(ready).toMatchObject({ status: 'False', reason: 'InvalidSecret' });
      expect(ready.message).toContain(`Secret ${other}/oauth`);
      expect(ready.message).toMatch(/forbidden.*watch\.namespaces/);
    });
  }
});
