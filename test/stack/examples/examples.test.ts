import { configSecretOf, proxiesOf } from '../../support/proxies';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesObject,
} from '@kubernetes/client-node';
import type { Condition, KubeObject } from '../../../api/common';
import type {
  TailscaleEndpoints,
  TailscaleGateway,
  TailscaleRoutePolicy,
  TailscaleServices,
  TailscaleTailnet,
} from '../../../api/v1alpha1';
import { autoProvisionedAnnotation } from '../../../activities/services';
import { TailscaleClient } from '../../../activities/tailscale/client';
import { listVipServices } from '../../../activities/tailscale/vip-services';
import { startProxySimulator, type ProxySimulator } from '../../../simulators/proxy/simulator';
import {
  exampleFiles,
  examplesDir,
  readExample,
  startExampleTailscale,
  withOAuthClient,
  type ExampleTailscale,
} from '../../../tools/examples';
import { applyManifests } from '../../../tools/stack/apply';
import { eventually } from '../../support/eventually';
import { checkTailscaleConfig } from '../../support/tailscale-config-check';
import { startOperator, type TestOperator } from '../../support/operator';
import { createTestNamespace, testKubeConfig, uniqueName } from '../../support/stack';
import { tailscaledConfigKey } from '../../../activities/specs/tailscaled-config';
import { serveConfigKey } from '../../../activities/specs/proxy-group';

const group = 'gateway.tailscale.com';
const version = 'v1alpha1';
const timeoutMs = 90_000;

/**
 * Each example applied in order to the test cluster, as `npm start` applies it, and its documented
 * outcome awaited. For isolation the examples move to this file's namespace, tailnet name and
 * GatewayClass, and our objects get this file's operator label; nothing else changes.
 */
describe('examples/: applied in order, each reaches its documented outcome', () => {
  let kc: KubeConfig;
  let objects: CustomObjectsApi;
  let namespace: string;
  let operator: TestOperator;
  let tailscale: ExampleTailscale;
  let proxies: ProxySimulator;
  let api: TailscaleClient;
  const instance = uniqueName('examples');
  const tailnet = uniqueName('example-tailnet');
  const gatewayClass = uniqueName('eg');

  const isolate = (obj: KubernetesObject): KubernetesObject | undefined => {
    if (obj.kind === 'Namespace') return undefined;
    const rename = (value: unknown): unknown => {
      if (value === 'tailscale-gateway') return namespace;
      if (value === 'example-tailnet') return tailnet;
      if (Array.isArray(value)) return value.map(rename);
      if (value && typeof value === 'object') {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, rename(v)]));
      }
      return value;
    };
    const out = rename(obj) as KubernetesObject & {
      spec?: { gatewayClassName?: string; endpointTemplate?: { labels?: Record<string, string> } };
    };
    if (out.kind === 'GatewayClass' && out.metadata) out.metadata.name = gatewayClass;
    if (out.kind === 'Gateway' && out.spec) out.spec.gatewayClassName = gatewayClass;
    if (out.apiVersion?.startsWith(`${group}/`) && out.metadata) {
      out.metadata.labels = { ...out.metadata.labels, ...operator.labels };
      // Auto-provisioned endpoints carry the template's labels: the test operator must see them too.
      if (out.spec?.endpointTemplate) {
        out.spec.endpointTemplate.labels = { ...out.spec.endpointTemplate.labels, ...operator.labels };
      }
    }
    return out;
  };

  const apply = async (file: string) => {
    const manifests = withOAuthClient(readExample(file), tailscale.oauth)
      .map(isolate)
      .filter((o): o is KubernetesObject => Boolean(o));
    await applyManifests(kc, manifests);
  };

  const get = async <T>(plural: string, name: string) =>
    (plural === 'tailscaletailnets'
      ? await objects.getClusterCustomObject({ group, version, plural, name })
      : await objects.getNamespacedCustomObject({ group, version, namespace, plural, name })) as T;

  const condition = (obj: KubeObject<unknown, { conditions?: Condition[] }>, type: string) =>
    obj.status?.conditions?.find((c) => c.type === type);

  /** Polls the object until `accept` holds; the failure names the last status seen. */
  const until = async <T extends KubeObject<unknown, unknown>>(
    plural: string,
    name: string,
    what: string,
    accept: (obj: T) => boolean,
  ) => {
    let last: unknown;
    try {
      return await eventually(
        `${name}: ${what}`,
        async () => {
          const obj = await get<T>(plural, name);
          last = obj.status;
          return accept(obj) ? obj : undefined;
        },
        { timeoutMs },
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}; last status ${JSON.stringify(last)}`);
    }
  };

  const ready = (obj: KubeObject<unknown, { conditions?: Condition[] }>) =>
    condition(obj, 'Ready')?.status === 'True';

  beforeAll(async () => {
    kc = testKubeConfig();
    objects = kc.makeApiClient(CustomObjectsApi);
    namespace = await createTestNamespace(kc, 'examples');
    tailscale = await startExampleTailscale();
    api = new TailscaleClient({
      clientId: tailscale.oauth.id,
      clientSecret: tailscale.oauth.secret,
      baseUrl: tailscale.sim.url,
    });
    operator = startOperator({
      instance,
      watchNamespaces: [namespace],
      env: { TAILSCALE_API_BASE_URL: tailscale.sim.url },
    });
    proxies = startProxySimulator({ kc, tailscale: tailscale.sim.admin, namespaces: [namespace] });
  });

  afterAll(async () => {
    await proxies?.stop();
    await operator?.stop();
    await tailscale?.close();
  });

  it('are numbered 01, 02, ... in apply order, and each documents its outcome', () => {
    const files = exampleFiles();
    expect(files.map((f) => f.slice(0, 2))).toEqual(files.map((_, i) => String(i + 1).padStart(2, '0')));
    expect(files.length).toBeGreaterThanOrEqual(8);
    for (const file of files) {
      expect([file, readFileSync(join(examplesDir(), file), 'utf8')]).toEqual([
        file,
        expect.stringContaining('# Outcome:') as unknown,
      ]);
    }
  });

  it('01-tailnet.yaml: the tailnet is Ready with its MagicDNS suffix', async () => {
    await apply('01-tailnet.yaml');
    const t = await until<TailscaleTailnet>('tailscaletailnets', tailnet, 'Ready', ready);
    expect(condition(t, 'Ready')?.reason).toBe('Ready');
    expect(t.status?.dnsSuffix).toBe('tail0e1a2b.ts.net');
  });

  it('02-gateway.yaml: the TailscaleGateway is Ready, with no Tailscale backends yet', async () => {
    await apply('02-gateway.yaml');
    const gw = await until<TailscaleGateway>('tailscalegateways', 'example-gateway', 'Ready', ready);
    expect(condition(gw, 'ServicesReady')?.reason).toBe('NoTailscaleBackends');
  });

  it('03-endpoints.yaml: two proxy devices are online', async () => {
    await apply('03-endpoints.yaml');
    const ep = await until<TailscaleEndpoints>(
      'tailscaleendpoints',
      'web-proxies',
      'Ready with 2 online devices',
      (e) => ready(e) && (e.status?.devices ?? []).filter((d) => d.online).length === 2,
    );
    expect(ep.status?.devices?.map((d) => d.hostname).sort()).toEqual(['web-proxies-0', 'web-proxies-1']);
    await kc.makeApiClient(AppsV1Api).readNamespacedStatefulSet(proxiesOf(namespace, 'web-proxies'));
  });

  it('04-services.yaml: svc:web has VIP addresses and a DNS name, advertised by both proxies', async () => {
    await apply('04-services.yaml');
    const svc = await until<TailscaleServices>('tailscaleservices', 'web', 'Ready', ready);
    expect(svc.status?.vipService).toMatchObject({ name: 'svc:web', dnsName: 'web.tail0e1a2b.ts.net' });
    expect(svc.status?.vipService?.addresses?.length).toBe(2);
    const core = kc.makeApiClient(CoreV1Api);
    for (const replica of [0, 1]) {
      const secret = await core.readNamespacedSecret(
        configSecretOf(proxiesOf(namespace, 'web-proxies'), replica),
      );
      const config = Buffer.from(secret.data?.[tailscaledConfigKey] ?? '', 'base64').toString();
      expect(JSON.parse(config)).toMatchObject({ AdvertiseServices: ['svc:web'] });
    }
    // spec.backend: the proxies' serve config forwards HTTP to the web-backend Service.
    const backend = await core.readNamespacedService({ namespace, name: 'web-backend' });
    const webProxies = proxiesOf(namespace, 'web-proxies');
    const proxiesConfig = await core.readNamespacedConfigMap({
      namespace: webProxies.namespace,
      name: `${webProxies.name}-proxies`,
    });
    const serve = proxiesConfig.data?.[serveConfigKey] ?? '';
    expect(JSON.parse(serve)).toEqual({
      Services: {
        'svc:web': {
          TCP: { '80': { HTTP: true } },
          Web: {
            'web.tail0e1a2b.ts.net:80': {
              Handlers: { '/': { Proxy: `http://${backend.spec?.clusterIP}:80/` } },
            },
          },
        },
      },
    });
    expect(await checkTailscaleConfig('serve', serve)).toEqual({ ok: true, error: '' });
    expect((await listVipServices(api)).map((s) => s.name)).toContain('svc:web');
  });

  it('05-auto-provisioned-service.yaml: api-endpoints is created from the template and the service turns Ready', async () => {
    await apply('05-auto-provisioned-service.yaml');
    const svc = await until<TailscaleServices>('tailscaleservices', 'api', 'Ready', ready);
    expect(svc.status?.selectedEndpoints).toMatchObject([{ name: 'api-endpoints', autoProvisioned: true }]);
    const ep = await get<TailscaleEndpoints>('tailscaleendpoints', 'api-endpoints');
    expect(ep.metadata.annotations?.[autoProvisionedAnnotation]).toBe('true');
  });

  it('06-auto-cleanup.yaml: deleting the service removes its VIP service and auto-provisioned endpoints', async () => {
    await apply('06-auto-cleanup.yaml');
    await until<TailscaleServices>('tailscaleservices', 'scratch', 'Ready', ready);
    expect((await listVipServices(api)).map((s) => s.name)).toContain('svc:scratch');
    await objects.deleteNamespacedCustomObject({
      group,
      version,
      namespace,
      plural: 'tailscaleservices',
      name: 'scratch',
    });
    const gone = async (plural: string, name: string) => {
      try {
        await get(plural, name);
        return undefined;
      } catch {
        return true;
      }
    };
    await eventually(
      'scratch and scratch-endpoints deleted',
      async () =>
        (await gone('tailscaleservices', 'scratch')) &&
        (await gone('tailscaleendpoints', 'scratch-endpoints'))
          ? true
          : undefined,
      { timeoutMs },
    );
    await eventually(
      'svc:scratch deleted from the tailnet',
      async () => ((await listVipServices(api)).some((s) => s.name === 'svc:scratch') ? undefined : true),
      { timeoutMs },
    );
  });

  it('07-route-tailscale-backend.yaml: the gateway maps the route to svc:web', async () => {
    await apply('07-route-tailscale-backend.yaml');
    const gw = await until<TailscaleGateway>(
      'tailscalegateways',
      'example-gateway',
      'ServicesReady with the route',
      (g) => condition(g, 'ServicesReady')?.reason === 'ServicesReady' && Boolean(g.status?.routes?.length),
    );
    expect(gw.status?.routes).toEqual([
      expect.objectContaining({
        kind: 'HTTPRoute',
        name: 'web',
        backends: [
          expect.objectContaining({ kind: 'TailscaleServices', name: 'web', vipService: 'svc:web' }),
        ],
      }),
    ]);
  });

  it('08-route-policy.yaml: the policy is Accepted on its route', async () => {
    await apply('08-route-policy.yaml');
    const policy = await until<TailscaleRoutePolicy>(
      'tailscaleroutepolicies',
      'web-policy',
      'Accepted',
      (p) =>
        p.status?.ancestors?.[0]?.conditions?.some((c) => c.type === 'Accepted' && c.status === 'True') ??
        false,
    );
    expect(policy.status?.ancestors?.[0]?.ancestorRef).toMatchObject({ kind: 'HTTPRoute', name: 'web' });
  });

  it('09-egress.yaml: the egress proxies carry web-service:8080 on a matchPort written to their ConfigMap', async () => {
    await apply('09-egress.yaml');
    const ep = await until<TailscaleEndpoints>(
      'tailscaleendpoints',
      'web-service',
      'Ready with status.egress',
      (e) => ready(e) && (e.status?.egress?.ports.length ?? 0) === 1,
    );
    const [port] = ep.status!.egress!.ports;
    expect(port).toMatchObject({ port: 80, targetPort: 8080 });
    expect(port!.matchPort).toBeGreaterThanOrEqual(10000);
    const egressProxies = proxiesOf(namespace, 'web-service');
    const cm = await eventually('egress target qualified', async () => {
      const live = await kc.makeApiClient(CoreV1Api).readNamespacedConfigMap({
        namespace: egressProxies.namespace,
        name: `${egressProxies.name}-proxies`,
      });
      return live.data?.['egress-services']?.includes('web-service.tail0e1a2b.ts.net') ? live : undefined;
    });
    expect(JSON.parse(cm.data!['egress-services']!)).toEqual({
      [`${namespace}-web-service`]: {
        healthCheckEndpoint: '',
        tailnetTarget: { ip: '', fqdn: 'web-service.tail0e1a2b.ts.net' },
        ports: [{ protocol: 'TCP', matchPort: port!.matchPort, targetPort: 8080 }],
      },
    });
    expect(cm.data?.['hep-pings']).toBe('6');
  });
});
