import * as grpc from '@grpc/grpc-js';
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { BackendIndex } from '../../../extension/backend-index';
import { clusterCodec, healthCodecs, rpcCodecs } from '../../../extension/codec';
import { loadExtensionConfig } from '../../../extension/config';
import { DiscoveryType } from '../../../extension/envoy-types';
import { HookHealth } from '../../../extension/health';
import { IndexFeed } from '../../../extension/index-feed';
import { createExtensionMetrics } from '../../../extension/metrics';
import { createExtensionServer, listen } from '../../../extension/server';
import { serverCredentials } from '../../../extension/tls';
import { createLogger } from '../../../runtime/logger';
import { renderChart, type RenderedObject } from '../../../tools/helm';
import {
  envoyGatewayLockWaitMs,
  startEnvoyGateway,
  type EnvoyGateway,
} from '../../../tools/stack/envoy-gateway';
import { eventually } from '../../support/eventually';
import { createTestNamespace, stackInfo, testKubeConfig } from '../../support/stack';
import { makeTestPki } from '../../support/test-certs';
import { createWithStatus } from '../../support/objects';
import { readyCondition } from './eg-fixture';

const group = 'gateway.tailscale.com';
const version = 'v1alpha1';

interface SecretRef {
  name: string;
  namespace: string;
}
interface ServiceBlock {
  fqdn: { hostname: string; port: number };
  tls: { certificateRef: SecretRef; clientCertificateRef: SecretRef };
}

/** The extensionManager block the chart renders into Envoy Gateway's Helm values. */
function chartExtensionManager(
  objects: RenderedObject[],
): Record<string, unknown> & { service: ServiceBlock } {
  const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name.endsWith('envoy-gateway-values'));
  const values = parse((cm?.data as Record<string, string>)['envoy-gateway-values.yaml'] ?? '') as {
    config: { envoyGateway: { extensionManager: Record<string, unknown> & { service: ServiceBlock } } };
  };
  return values.config.envoyGateway.extensionManager;
}

/** The Secret the chart mounts into the extension pod (server certificate, key and client CA). */
function serverSecretName(objects: RenderedObject[]): string {
  const d = objects.find(
    (o) => o.kind === 'Deployment' && o.metadata.name.endsWith('-extension'),
  ) as unknown as {
    spec: { template: { spec: { volumes: { name: string; secret?: { secretName: string } }[] } } };
  };
  return d.spec.template.spec.volumes.find((v) => v.name === 'tls')!.secret!.secretName;
}

/**
 * A real Envoy Gateway (Kubernetes provider on the test API server, Host infrastructure) configured with
 * the extensionManager block and the certificates the chart renders, calling an extension server that
 * requires client certificates, as the chart runs it. EG reads the CA and its client certificate from the
 * Secrets the chart issues; the server reads its pair and the client CA from the files the chart mounts.
 */
describe('Envoy Gateway v1.9 (real) calls the extension server over mutual TLS, with the chart’s certificates', () => {
  let kc: KubeConfig;
  let namespace: string;
  let feed: IndexFeed;
  let server: grpc.Server;
  let eg: EnvoyGateway | undefined;
  let port: number;
  let service: ServiceBlock;
  let secretData: (name: string) => Record<string, string>;
  const calls: { hook: string; request: Buffer; response: Buffer | undefined }[] = [];
  const routeCluster = () => `httproute/${namespace}/web/rule/0`;

  beforeAll(async () => {
    kc = testKubeConfig();
    namespace = await createTestNamespace(kc, 'ext-mtls');
    const dir = mkdtempSync(join(stackInfo().dir, 'eg-mtls-'));

    // The chart's certificates, installed as the chart installs them.
    const rendered = await renderChart({ release: 'mtls', namespace });
    const { service: shippedService, ...block } = chartExtensionManager(rendered);
    const secrets = rendered.filter((o) => o.kind === 'Secret');
    secretData = (name) =>
      (secrets.find((s) => s.metadata.name === name)?.data ?? {}) as Record<string, string>;
    const core = kc.makeApiClient(CoreV1Api);
    for (const secret of secrets) {
      await core.createNamespacedSecret({ namespace, body: secret });
    }
    const mounted = join(dir, 'extension-tls');
    mkdirSync(mounted);
    for (const [file, b64] of Object.entries(secretData(serverSecretName(rendered)))) {
      writeFileSync(join(mounted, file), Buffer.from(b64, 'base64'));
    }

    const objects = kc.makeApiClient(CustomObjectsApi);
    await createWithStatus(
      kc,
      namespace,
      'tailscaleendpoints',
      {
        apiVersion: `${group}/${version}`,
        kind: 'TailscaleEndpoints',
        metadata: { name: 'web-ep', labels: { app: 'web' } },
        spec: { tailnet: 'corp', tags: ['tag:web'], connectionType: 'egress', ports: [{ port: 8080 }] },
      },
      {
        conditions: [readyCondition],
        devices: [
          { hostname: 'web-ep-0', statefulSetPod: 'web-ep-0', tailscaleIPs: ['100.64.0.10'], online: true },
        ],
        statefulSets: [{ name: 'web-ep', replicas: 1, readyReplicas: 1, service: 'web-ep' }],
      },
    );
    await createWithStatus(
      kc,
      namespace,
      'tailscaleservices',
      {
        apiVersion: `${group}/${version}`,
        kind: 'TailscaleServices',
        metadata: { name: 'web' },
        spec: {
          tailnet: 'corp',
          selector: { matchLabels: { app: 'web' } },
          vipService: { ports: ['tcp:8080'], tags: ['tag:web'] },
        },
      },
      {
        conditions: [readyCondition],
        vipService: { name: 'svc:web', addresses: ['100.100.7.1'] },
        selectedEndpoints: [{ name: 'web-ep', ready: true }],
      },
    );

    const index = new BackendIndex();
    const logger = createLogger({ level: 'warn' });
    feed = new IndexFeed({
      kc,
      index,
      logger,
      clusterDomain: 'cluster.local',
      resyncIntervalMs: 60_000,
      namespaces: [namespace],
    });
    feed.start();
    await eventually('index has the VIP service', () =>
      Promise.resolve(
        index.current().backend('TailscaleServices', namespace, 'web')?.endpoints.length === 2
          ? true
          : undefined,
      ),
    );
    server = createExtensionServer({
      index,
      logger,
      clusterDomain: 'cluster.local',
      metrics: createExtensionMetrics({
        size: () => 0,
        ageSeconds: () => 0,
        version: () => 0,
        loaded: () => true,
      }),
      health: new HookHealth({ windowMs: 60_000, maxFailureRatio: 0.1, staleAfterMs: 600_000 }),
      maxMessageBytes: 16 << 20,
      observer: (hook, request, response) => calls.push({ hook, request, response }),
    });
    // The variables the chart sets, pointing at the files it mounts.
    const config = loadExtensionConfig({
      EXTENSION_TLS_CERT_FILE: join(mounted, 'tls.crt'),
      EXTENSION_TLS_KEY_FILE: join(mounted, 'tls.key'),
      EXTENSION_TLS_CLIENT_CA_FILE: join(mounted, 'ca.crt'),
    });
    port = await listen(server, '127.0.0.1:0', serverCredentials(config.tls));
    service = { ...shippedService, fqdn: { ...shippedService.fqdn, port } };

    const gateway = (kind: string, plural: string, body: Record<string, unknown>) =>
      objects.createNamespacedCustomObject({
        group: 'gateway.networking.k8s.io',
        version: 'v1',
        namespace,
        plural,
        body: { apiVersion: 'gateway.networking.k8s.io/v1', kind, ...body },
      });
    await objects.createClusterCustomObject({
      group: 'gateway.networking.k8s.io',
      version: 'v1',
      plural: 'gatewayclasses',
      body: {
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'GatewayClass',
        metadata: { name: namespace },
        spec: { controllerName: 'gateway.envoyproxy.io/gatewayclass-controller' },
      },
    });
    await gateway('Gateway', 'gateways', {
      metadata: { name: 'eg' },
      spec: { gatewayClassName: namespace, listeners: [{ name: 'http', protocol: 'HTTP', port: 8080 }] },
    });
    await gateway('HTTPRoute', 'httproutes', {
      metadata: { name: 'web' },
      spec: {
        parentRefs: [{ name: 'eg' }],
        hostnames: ['www.example.com'],
        rules: [{ backendRefs: [{ group, kind: 'TailscaleServices', name: 'web', port: 8080 }] }],
      },
    });

    eg = await startEnvoyGateway({
      dir,
      extensionPort: port,
      extensionManager: block,
      extensionService: service,
      resources: [],
      kubernetes: { kubeconfigPath: stackInfo().kubeconfigPath, namespace },
    });
    await eventually(
      'a PostClusterModify call for the route',
      () =>
        Promise.resolve(
          calls.some(
            (c) =>
              c.hook === 'PostClusterModify' &&
              clusterCodec.decode(rpcCodecs.PostClusterModify.request.decode(c.request).cluster!).name ===
                routeCluster(),
          )
            ? true
            : undefined,
        ),
      { timeoutMs: 90_000 },
    );
  }, envoyGatewayLockWaitMs + 240_000);

  afterAll(async () => {
    await eg?.stop();
    server?.forceShutdown();
    await feed?.stop();
  });

  it('EG presents the chart’s client certificate and verifies the server’s: the hooks answer and the cluster comes back filled in', () => {
    expect(service.tls.certificateRef.namespace).toBe(namespace);
    expect(service.tls.clientCertificateRef).toBeDefined();
    const call = calls.find(
      (c) =>
        c.hook === 'PostClusterModify' &&
        clusterCodec.decode(rpcCodecs.PostClusterModify.request.decode(c.request).cluster!).name ===
          routeCluster(),
    )!;
    const returned = clusterCodec.decode(
      rpcCodecs.PostClusterModify.response.decode(call.response!).cluster!,
    );
    expect(returned.type).toBe(DiscoveryType.STRICT_DNS);
    expect(eg!.log()).not.toMatch(/failed to get gRPC TLS credentials|failed to get client certificate/);
  });

  /** grpc.health.v1 Check as a client other than EG; resolves with the call's status code. */
  const healthCheck = (credentials: grpc.ChannelCredentials): Promise<grpc.status> => {
    const client = new grpc.Client(`127.0.0.1:${port}`, credentials, {
      'grpc.ssl_target_name_override': service.fqdn.hostname,
    });
    return new Promise<grpc.status>((resolve) =>
      client.makeUnaryRequest(
        '/grpc.health.v1.Health/Check',
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.from(healthCodecs.request.encode({})),
        { deadline: Date.now() + 10_000 },
        (err) => resolve(err ? err.code : grpc.status.OK),
      ),
    ).finally(() => client.close());
  };

  it('refuses any other client: no certificate, one from another CA, or plaintext; the chart’s client certificate gets in', async () => {
    const pem = (name: string, key: string) => Buffer.from(secretData(name)[key] ?? '', 'base64');
    const ca = pem(service.tls.certificateRef.name, 'tls.crt');
    const clientSecret = service.tls.clientCertificateRef.name;
    const rogue = makeTestPki([], stackInfo().dir, 'rogue-ca');
    expect(await healthCheck(grpc.credentials.createSsl(ca))).toBe(grpc.status.UNAVAILABLE);
    expect(
      await healthCheck(
        grpc.credentials.createSsl(ca, rogue.read(rogue.client.key), rogue.read(rogue.client.cert)),
      ),
    ).toBe(grpc.status.UNAVAILABLE);
    expect(await healthCheck(grpc.credentials.createInsecure())).toBe(grpc.status.UNAVAILABLE);
    expect(
      await healthCheck(
        grpc.credentials.createSsl(ca, pem(clientSecret, 'tls.key'), pem(clientSecret, 'tls.crt')),
      ),
    ).toBe(grpc.status.OK);
  });
});
