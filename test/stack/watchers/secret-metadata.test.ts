import { CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import type { TailscaleTailnet } from '../../../api/v1alpha1/tailscale-tailnet';
import { createLogger } from '../../../runtime/logger';
import { startDependencyInformers, type DependencyInformers } from '../../../watchers/dependency-informers';
import { tailscaleTailnetWatch } from '../../../watchers/tailscale-tailnet';
import { eventually } from '../../support/eventually';
import { startRecordingKubeProxy } from '../../support/recording-kube-proxy';
import { createTestNamespace, testKubeConfig } from '../../support/stack';

const b64 = (s: string) => Buffer.from(s).toString('base64');

/** Every object a response carried: list items, or the objects of a watch stream's events. */
function objectsIn(body: string, watch: boolean): Record<string, unknown>[] {
  if (!watch) return (JSON.parse(body) as { items: Record<string, unknown>[] }).items;
  return body
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => (JSON.parse(line) as { object: Record<string, unknown> }).object);
}

describe('the watchers read Secrets as metadata only', () => {
  let kc: KubeConfig;
  let core: CoreV1Api;
  let namespace: string;
  let recorder: Awaited<ReturnType<typeof startRecordingKubeProxy>>;
  let deps: DependencyInformers | undefined;

  beforeAll(async () => {
    kc = testKubeConfig();
    core = kc.makeApiClient(CoreV1Api);
    namespace = await createTestNamespace(kc, 'secret-meta');
    recorder = await startRecordingKubeProxy(kc);
  });
  afterAll(async () => {
    await Promise.all(deps?.informers.map((i) => i.stop()) ?? []);
    await recorder.close();
  });

  it("receive no Secret data, and a change of a tailnet's OAuth Secret still moves its related version", async () => {
    const secretValue = 'first-client-secret-value';
    await core.createNamespacedSecret({
      namespace,
      body: { metadata: { name: 'oauth' }, data: { client_id: b64('id'), client_secret: b64(secretValue) } },
    });
    deps = startDependencyInformers({
      kc: recorder.kubeConfig,
      sources: new Set(['secrets']),
      namespaces: [namespace],
      operatorNamespace: namespace,
      resyncIntervalMs: 3_600_000,
      logger: createLogger({ level: 'error' }),
      onChange: () => undefined,
    });
    const lookups = deps.lookups;
    const tailnet = {
      metadata: { name: 'corp' },
      spec: { oauthSecretRef: { namespace, name: 'oauth' } },
    } as TailscaleTailnet;
    const related = () => JSON.stringify(tailscaleTailnetWatch.related!(tailnet, lookups));
    const before = await eventually('the OAuth Secret listed', () =>
      lookups.secretVersion(namespace, 'oauth') ? related() : undefined,
    );

    const rotated = 'rotated-client-secret-value';
    await core.patchNamespacedSecret(
      { namespace, name: 'oauth', body: { data: { client_secret: b64(rotated) } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await eventually('the rotation seen', () => (related() !== before ? true : undefined));

    const secretExchanges = recorder.exchanges.filter((e) => /\/secrets(\?|$)/.test(e.url));
    const watches = secretExchanges.filter((e) => e.url.includes('watch=true'));
    expect(secretExchanges.length).toBeGreaterThan(watches.length);
    expect(watches.length).toBeGreaterThan(0);
    for (const exchange of secretExchanges) {
      const body = exchange.body();
      for (const value of [secretValue, rotated]) {
        expect(body).not.toContain(b64(value));
      }
      const objects = objectsIn(body, exchange.url.includes('watch=true'));
      for (const obj of objects) {
        expect(Object.keys(obj)).not.toContain('data');
        expect(obj.kind).toBe('PartialObjectMetadata');
      }
    }
    // The watch delivered the rotation itself (not a relist).
    expect(watches.flatMap((w) => objectsIn(w.body(), true)).length).toBeGreaterThan(0);
  });
});
