import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { collectEnvVars } from '../../../tools/generate-docs';
import { chartPath, renderChart, type RenderedObject } from '../../../tools/helm';
import { repoRoot } from '../../../runtime/paths';
import { createTestNamespace, testKubeConfig, uniqueName } from '../../support/stack';
import { Discovery, serverSideApply } from './kube-requests';

const ciDir = join(chartPath(), 'ci');
const valuesFiles = readdirSync(ciDir)
  .filter((f) => f.endsWith('-values.yaml'))
  .sort();

interface Container {
  name: string;
  command?: string[];
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  securityContext?: Record<string, unknown>;
  readinessProbe?: { httpGet?: { path: string } };
  livenessProbe?: { httpGet?: { path: string } };
  startupProbe?: { httpGet?: { path: string } };
  resources?: { requests?: unknown; limits?: unknown };
}
interface PodSpec {
  serviceAccountName?: string;
  securityContext?: Record<string, unknown>;
  containers: Container[];
}
type Workload = RenderedObject & {
  spec: { replicas?: number; strategy?: { type: string }; template: { spec: PodSpec } };
};

const byKind = (objects: RenderedObject[], kind: string) => objects.filter((o) => o.kind === kind);
const component = (o: RenderedObject) =>
  (o.metadata.labels as Record<string, string> | undefined)?.['app.kubernetes.io/component'];

describe('the Helm chart: rendered for every CI values file and accepted by the real API server', () => {
  let kc: KubeConfig;
  let discovery: Discovery;
  let namespace: string;

  beforeAll(async () => {
    kc = testKubeConfig();
    discovery = new Discovery(kc);
    namespace = await createTestNamespace(kc, 'chart');
  });

  it('has at least three values files under deploy/chart/ci', () => {
    expect(valuesFiles.length).toBeGreaterThanOrEqual(3);
  });

  describe.each(valuesFiles)('%s', (file) => {
    let objects: RenderedObject[];
    let values: Record<string, unknown>;
    beforeAll(async () => {
      values = (parse(readFileSync(join(ciDir, file), 'utf8')) as Record<string, unknown> | null) ?? {};
      objects = await renderChart({
        release: uniqueName('tsgw').slice(0, 20),
        namespace,
        valuesFiles: [join(ciDir, file)],
        includeCrds: true,
      });
    });

    it('every rendered object passes a strict server-side dry-run', async () => {
      expect(objects.length).toBeGreaterThan(5);
      // Like a user, create the watched namespaces first: the chart binds RBAC in each of them.
      const watched = (values.watch as { namespaces?: string[] } | undefined)?.namespaces ?? [];
      for (const name of watched) {
        await kc
          .makeApiClient(CoreV1Api)
          .createNamespace({ body: { metadata: { name } } })
          .catch((err: unknown) => {
            if ((err as { code?: number }).code !== 409) throw err;
          });
      }
      const refused: string[] = [];
      for (const obj of objects) {
        const res = await serverSideApply(kc, discovery, obj, { namespace, dryRun: true });
        if (res.status >= 300) {
          refused.push(`${obj.kind}/${obj.metadata.name}: HTTP ${res.status} ${String(res.body.message)}`);
        }
      }
      expect(refused).toEqual([]);
    });

    it('runs each process non-root on a read-only root filesystem, with probes and resources', () => {
      const workloads = [...byKind(objects, 'Deployment'), ...byKind(objects, 'Job')] as Workload[];
      expect(workloads.length).toBeGreaterThan(0);
      for (const w of workloads) {
        const pod = w.spec.template.spec;
        expect([w.metadata.name, pod.securityContext?.runAsNonRoot]).toEqual([w.metadata.name, true]);
        for (const c of pod.containers) {
          expect([w.metadata.name, c.securityContext]).toMatchObject([
            w.metadata.name,
            {
              readOnlyRootFilesystem: true,
              allowPrivilegeEscalation: false,
              capabilities: { drop: ['ALL'] },
            },
          ]);
          expect(c.resources?.requests).toBeDefined();
          if (w.kind !== 'Deployment') continue;
          expect([w.metadata.name, c.livenessProbe?.httpGet?.path]).toEqual([w.metadata.name, '/healthz']);
          expect([w.metadata.name, c.readinessProbe?.httpGet?.path]).toEqual([w.metadata.name, '/ready']);
        }
      }
    });

    it('gives each process its own ServiceAccount and the right command', () => {
      const deployments = byKind(objects, 'Deployment') as Workload[];
      const serviceAccounts = new Set(byKind(objects, 'ServiceAccount').map((s) => s.metadata.name));
      const commands = deployments.map((d) => d.spec.template.spec.containers[0]?.command?.join(' '));
      const extension = (values.extension as { enabled?: boolean } | undefined)?.enabled !== false;
      expect(commands.sort()).toEqual(
        [
          'node dist/watchers/main.js',
          'node dist/workers/main.js',
          ...(extension ? ['node dist/extension/main.js'] : []),
        ].sort(),
      );
      const accounts = deployments.map((d) => d.spec.template.spec.serviceAccountName ?? '');
      expect(new Set(accounts).size).toBe(deployments.length);
      for (const sa of accounts) expect(serviceAccounts).toContain(sa);
    });

    it('runs several watchers only under leader election, otherwise a singleton never doubled in a rollout', () => {
      const watchers = byKind(objects, 'Deployment').find((d) => component(d) === 'watchers') as Workload;
      const env = watchers.spec.template.spec.containers[0]?.env ?? [];
      const electionNamespace = env.find((e) => e.name === 'LEADER_ELECTION_NAMESPACE');
      if (electionNamespace) {
        expect(electionNamespace.value).toBe(namespace);
        expect(env.map((e) => e.name)).toContain('POD_NAME');
        expect(watchers.spec.strategy?.type).toBe('RollingUpdate');
      } else {
        expect(watchers.spec.replicas).toBeLessThanOrEqual(1);
        expect(watchers.spec.strategy?.type).toBe('Recreate');
      }
      expect(byKind(objects, 'PodDisruptionBudget').map(component)).not.toContain('watchers');
    });

    it('sets only environment variables the processes read', () => {
      const known = new Set(collectEnvVars().map((v) => v.name));
      const chartDefined = new Set(['NODE_OPTIONS']);
      const unknown = (byKind(objects, 'Deployment') as Workload[])
        .flatMap((d) => d.spec.template.spec.containers.flatMap((c) => c.env ?? []))
        .map((e) => e.name)
        // OTEL_* are the OpenTelemetry SDK's own standard variables (runtime/tracing.ts hands them over).
        .filter((name) => !known.has(name) && !chartDefined.has(name) && !name.startsWith('OTEL_'));
      expect(unknown).toEqual([]);
    });

    it('gives the worker and the watchers the identity set in the values, or what derives one per install', () => {
      for (const d of (byKind(objects, 'Deployment') as Workload[]).filter((o) =>
        ['worker', 'watchers'].includes(component(o) ?? ''),
      )) {
        const env = d.spec.template.spec.containers[0]?.env ?? [];
        const named = (name: string) => env.find((e) => e.name === name);
        expect(named('OPERATOR_ID')?.value ?? '').toBe(values.operatorId ?? '');
        expect(named('CLUSTER_ID')?.value ?? '').toBe(values.clusterId ?? '');
        expect(named('OPERATOR_NAMESPACE')?.valueFrom).toEqual({
          fieldRef: { fieldPath: 'metadata.namespace' },
        });
        expect(named('RELEASE_NAME')?.value).toMatch(/^tsgw-/);
      }
    });

    it("points Envoy Gateway's extensionManager at the extension Service, otherwise as in deploy/envoy-gateway", () => {
      const configMap = byKind(objects, 'ConfigMap').find((c) =>
        c.metadata.name.endsWith('envoy-gateway-values'),
      );
      const service = byKind(objects, 'Service').find(
        (s) => (s.spec as { ports: { name: string }[] }).ports[0]?.name === 'grpc',
      );
      if ((values.extension as { enabled?: boolean } | undefined)?.enabled === false) {
        expect([configMap, service]).toEqual([undefined, undefined]);
        return;
      }
      const rendered = (
        parse((configMap?.data as Record<string, string>)['envoy-gateway-values.yaml'] ?? '') as {
          config: { envoyGateway: { extensionManager: Record<string, unknown> } };
        }
      ).config.envoyGateway.extensionManager;
      const source = (
        parse(
          readFileSync(join(repoRoot(), 'deploy', 'envoy-gateway', 'extension-manager.yaml'), 'utf8'),
        ) as { extensionManager: Record<string, unknown> }
      ).extensionManager;
      const { service: fqdn, maxMessageSize: _m, failOpen: _f, ...rest } = rendered;
      const { service: _s, maxMessageSize: _m2, failOpen: _f2, ...sourceRest } = source;
      expect(rest).toEqual(sourceRest);
      const port = (service?.spec as { ports: { port: number }[] }).ports[0]?.port;
      const { tls, ...target } = fqdn as { tls?: unknown };
      expect(target).toEqual({
        fqdn: {
          hostname: expect.stringMatching(
            new RegExp(`^${service?.metadata.name}\\.${namespace}\\.svc\\.`),
          ) as unknown,
          port,
        },
      });
      // TLS on by default, mutual by default; the Secrets it names are rendered alongside.
      const tlsValues = (values.extension as { tls?: { enabled?: boolean; mutual?: boolean } } | undefined)
        ?.tls;
      if (tlsValues?.enabled === false) {
        expect(tls).toBeUndefined();
        return;
      }
      const ref = (name: string) => ({
        kind: 'Secret',
        name: `${service?.metadata.name}-${name}`,
        namespace,
      });
      expect(tls).toEqual({
        certificateRef: ref('ca'),
        ...(tlsValues?.mutual === false ? {} : { clientCertificateRef: ref('client-tls') }),
      });
      const secrets = byKind(objects, 'Secret').map((o) => o.metadata.name);
      for (const r of Object.values(tls as Record<string, { name: string }>))
        expect(secrets).toContain(r.name);
    });
  });

  it('sets the OTLP endpoint on every process when tracing.otlpEndpoint is set, and none without it', async () => {
    const otelEnv = (objects: RenderedObject[]) =>
      byKind(objects, 'Deployment').map((o) => [
        component(o),
        (o as Workload).spec.template.spec.containers[0]?.env?.find(
          (e) => e.name === 'OTEL_EXPORTER_OTLP_ENDPOINT',
        )?.value,
      ]);
    const endpoint = 'http://collector.observability:4318';
    const traced = await renderChart({
      release: 'traced',
      namespace,
      set: [`tracing.otlpEndpoint=${endpoint}`],
    });
    expect(otelEnv(traced).sort()).toEqual([
      ['extension', endpoint],
      ['watchers', endpoint],
      ['worker', endpoint],
    ]);
    const plain = await renderChart({ release: 'plain', namespace });
    expect(otelEnv(plain).map(([, value]) => value)).toEqual([undefined, undefined, undefined]);
  });

  it('versions the worker in its Worker Deployment, and promotes each build with a post-upgrade Job', async () => {
    const versionEnv = (c: Container | undefined) =>
      Object.fromEntries(
        (c?.env ?? [])
          .filter((e) => e.name.startsWith('TEMPORAL_WORKER_') || e.name === 'TEMPORAL_ADDRESS')
          .map((e) => [e.name, e.value]),
      );
    const release = 'versioned';
    const objects = await renderChart({ release, namespace, set: ['image.tag=1.2.3'] });
    const worker = byKind(objects, 'Deployment').find((d) => component(d) === 'worker') as Workload;
    const job = byKind(objects, 'Job').find((j) => component(j) === 'worker-version') as Workload | undefined;
    const workerEnv = versionEnv(worker.spec.template.spec.containers[0]);
    expect(workerEnv).toMatchObject({
      TEMPORAL_WORKER_DEPLOYMENT_NAME: `${release}-tailscale-gateway-operator-worker`,
      TEMPORAL_WORKER_BUILD_ID: '1.2.3',
    });
    expect(job?.metadata.annotations).toMatchObject({ 'helm.sh/hook': 'post-install,post-upgrade' });
    expect(job?.spec.template.spec.containers[0]?.command).toEqual([
      'node',
      'dist/tools/promote-worker-version.js',
    ]);
    // The Job promotes exactly the version the worker polls as, on the same Temporal.
    expect(versionEnv(job?.spec.template.spec.containers[0])).toEqual(workerEnv);

    const pinnedBuild = await renderChart({
      release,
      namespace,
      set: ['worker.versioning.buildId=rebuild-7'],
    });
    const rebuilt = byKind(pinnedBuild, 'Deployment').find((d) => component(d) === 'worker') as Workload;
    expect(versionEnv(rebuilt.spec.template.spec.containers[0]).TEMPORAL_WORKER_BUILD_ID).toBe('rebuild-7');

    const unversioned = await renderChart({ release, namespace, set: ['worker.versioning.enabled=false'] });
    const plain = byKind(unversioned, 'Deployment').find((d) => component(d) === 'worker') as Workload;
    expect(Object.keys(versionEnv(plain.spec.template.spec.containers[0]))).toEqual(['TEMPORAL_ADDRESS']);
    expect(byKind(unversioned, 'Job').map(component)).not.toContain('worker-version');
  });

  it("admits only Envoy Gateway's pods to the extension server's gRPC port, which listens on the pod IP", async () => {
    interface Peer {
      namespaceSelector?: unknown;
      podSelector?: unknown;
    }
    interface Policy {
      podSelector: { matchLabels: Record<string, string> };
      policyTypes: string[];
      ingress: { from?: Peer[]; ports?: { port: string | number; protocol: string }[] }[];
    }
    type ExtensionPod = Workload & {
      spec: {
        template: {
          metadata: { labels: Record<string, string> };
          spec: { containers: (Container & { ports?: { name: string; containerPort: number }[] })[] };
        };
      };
    };
    // Envoy Gateway's own chart: namespace envoy-gateway-system, pods labelled control-plane=envoy-gateway.
    const eg = {
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'envoy-gateway-system' } },
      podSelector: { matchLabels: { 'control-plane': 'envoy-gateway' } },
    };
    const objects = await renderChart({ release: 'netpol', namespace, set: ['extension.grpcPort=5105'] });
    const policies = byKind(objects, 'NetworkPolicy');
    expect(policies.map((p) => [component(p), p.metadata.namespace])).toEqual([['extension', namespace]]);
    const policy = policies[0] as RenderedObject & { spec: Policy };
    const deployments = byKind(objects, 'Deployment') as ExtensionPod[];
    const podLabels = (c: string) =>
      deployments.find((d) => component(d) === c)!.spec.template.metadata.labels;
    // It selects the extension server's pods and no other process's.
    expect(Object.keys(policy.spec.podSelector.matchLabels).length).toBeGreaterThan(0);
    expect(podLabels('extension')).toMatchObject(policy.spec.podSelector.matchLabels);
    for (const other of ['worker', 'watchers'])
      expect(podLabels(other)).not.toMatchObject(policy.spec.podSelector.matchLabels);
    // Ingress only: the server's own connections out (the API server) are left alone.
    expect(policy.spec.policyTypes).toEqual(['Ingress']);
    // gRPC only from Envoy Gateway's pods in Envoy Gateway's namespace (both selectors in one peer: AND),
    // the HTTP side port (probes, /metrics) from anywhere.
    expect(policy.spec.ingress).toEqual([
      { from: [eg], ports: [{ port: 'grpc', protocol: 'TCP' }] },
      { ports: [{ port: 'http', protocol: 'TCP' }] },
    ]);
    const server = deployments.find((d) => component(d) === 'extension')!.spec.template.spec.containers[0]!;
    expect(server.ports?.find((p) => p.name === 'grpc')?.containerPort).toBe(5105);
    const env = new Map(server.env?.map((e) => [e.name, e]));
    expect(env.get('EXTENSION_GRPC_PORT')?.value).toBe('5105');
    expect(env.get('POD_IP')).toEqual({
      name: 'POD_IP',
      valueFrom: { fieldRef: { fieldPath: 'status.podIP' } },
    });
    // And the API server takes the policy as rendered.
    const res = await serverSideApply(kc, discovery, policy, { namespace, dryRun: true });
    expect([res.status < 300, String(res.body.message)]).toEqual([true, 'undefined']);

    const off = await renderChart({
      release: 'netpol',
      namespace,
      set: ['extension.networkPolicy.enabled=false'],
    });
    expect(byKind(off, 'NetworkPolicy')).toEqual([]);
  });

  it('the dry-run refuses what the API server refuses (a misspelled field passed through extraEnv)', async () => {
    const objects = await renderChart({
      release: 'typo',
      namespace,
      set: ['worker.extraEnv[0].name=EXTRA', 'worker.extraEnv[0].valeu=x'],
    });
    const worker = objects.find((o) => o.kind === 'Deployment' && component(o) === 'worker');
    const res = await serverSideApply(kc, discovery, worker as RenderedObject, { namespace, dryRun: true });
    // Server-side apply answers an undeclared field with 500 ("field not declared in schema"), not 400.
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(String(res.body.message)).toMatch(/valeu.*not declared in schema/);
  });

  describe('values.schema.json and the chart reject bad values with a message naming the value', () => {
    it.each([
      [
        ['watchers.replicas=2', 'watchers.leaderElection.enabled=false'],
        'watchers.replicas is 2 but watchers.leaderElection.enabled is false',
      ],
      [
        ['watchers.leaderElection.renewDeadlineSeconds=20'],
        'renewDeadlineSeconds must be less than leaseDurationSeconds',
      ],
      [['operatorId=Bad_ID'], "'/operatorId'"],
      [['worker.replica=3'], "additional properties 'replica' not allowed"],
      [['temporal.address=http://temporal:7233'], "'/temporal/address'"],
      [['logLevel=verbose'], "'/logLevel'"],
      [['securityContext.readOnlyRootFilesystem=false'], "'/securityContext/readOnlyRootFilesystem'"],
      [['image.digest=sha256:abc'], "'/image/digest'"],
      [['tailscale.apiBaseUrl=ftp://api.tailscale.com'], "'/tailscale/apiBaseUrl'"],
      [['extension.maxMessageBytes=1000'], "'/extension/maxMessageBytes'"],
      [
        ['envoyGateway.extensionManager.maxMessageSize=32M'],
        'maxMessageSize (32M = 32000000 bytes) exceeds extension.maxMessageBytes (16777216)',
      ],
      [['extension.httpPort=5005'], 'extension.grpcPort and extension.httpPort are both 5005'],
      [['extension.tls.certManager=maybe'], "'/extension/tls/certManager'"],
    ])('--set %s', async (set, message) => {
      await expect(renderChart({ release: 'bad', namespace: 'bad', set })).rejects.toThrow(message);
    });

    it('accepts the defaults', async () => {
      await expect(renderChart({ release: 'good', namespace: 'good' })).resolves.not.toHaveLength(0);
    });
  });
});
