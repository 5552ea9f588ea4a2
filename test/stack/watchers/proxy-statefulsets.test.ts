import { AppsV1Api, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { proxyLabels, proxyNames, proxyPlacement } from '../../../activities/specs/proxy-group';
import { proxyDeploymentOf } from '../../../api/v1alpha1/proxy';
import type { TailscaleEndpoints } from '../../../api/v1alpha1/tailscale-endpoints';
import { createLogger } from '../../../runtime/logger';
import { startDependencyInformers, type DependencyInformers } from '../../../watchers/dependency-informers';
import { tailscaleEndpointsWatch } from '../../../watchers/proxy-kinds';
import { eventually } from '../../support/eventually';
import { createTestNamespace, testKubeConfig } from '../../support/stack';

describe("a proxy StatefulSet's readiness reaches its parent's related versions", () => {
  let kc: KubeConfig;
  let apps: AppsV1Api;
  let deps: DependencyInformers | undefined;

  beforeAll(() => {
    kc = testKubeConfig();
    apps = kc.makeApiClient(AppsV1Api);
  });
  afterAll(async () => {
    await Promise.all(deps?.informers.map((i) => i.stop()) ?? []);
  });

  it('a replica turning ready re-evaluates the parent namespace, and moves the TailscaleEndpoints version', async () => {
    const [operatorNamespace, tenant] = await Promise.all([
      createTestNamespace(kc, 'sts-op'),
      createTestNamespace(kc, 'sts-tenant'),
    ]);
    const endpoints = {
      metadata: { name: 'web', namespace: tenant, uid: 'uid-web' },
      spec: { tailnet: 'corp', tags: ['tag:web'], proxy: { replicas: 2 } },
    } as TailscaleEndpoints;
    const d = proxyDeploymentOf('TailscaleEndpoints', endpoints.metadata, endpoints.spec);
    const p = proxyPlacement(d, operatorNamespace);
    const changes: [string, string][] = [];
    deps = startDependencyInformers({
      kc,
      sources: new Set(['proxyStatefulSets']),
      namespaces: [tenant],
      operatorNamespace,
      resyncIntervalMs: 3_600_000,
      logger: createLogger({ level: 'error' }),
      onChange: (source, namespace) => changes.push([source, namespace]),
    });
    const lookups = deps.lookups;
    const related = () => tailscaleEndpointsWatch.related!(endpoints, lookups).statefulSet;
    expect(related()).toBe('absent');

    const labels = proxyLabels(d, p);
    await apps.createNamespacedStatefulSet({
      namespace: operatorNamespace,
      body: {
        metadata: { name: proxyNames.statefulSet(p), labels },
        spec: {
          replicas: 2,
          serviceName: proxyNames.statefulSet(p),
          selector: { matchLabels: labels },
          template: { metadata: { labels }, spec: { containers: [{ name: 'tailscale', image: 'proxy' }] } },
        },
      },
    });
    const created = await eventually('the StatefulSet seen', () =>
      related() !== 'absent' ? related() : undefined,
    );
    expect(changes).toContainEqual(['proxyStatefulSets', tenant]);

    changes.length = 0;
    await apps.patchNamespacedStatefulSetStatus(
      {
        namespace: operatorNamespace,
        name: proxyNames.statefulSet(p),
        body: { status: { replicas: 2, readyReplicas: 1 } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await eventually('the ready replica seen', () => (related() !== created ? true : undefined));
    expect(changes).toEqual([['proxyStatefulSets', tenant]]);
  });
});
