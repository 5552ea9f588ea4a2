/**
 * The Events a user sees with `kubectl describe` / `kubectl events`, read through the events.k8s.io API:
 * Warnings for reasons that ask the user to act, Normal events for the lifecycle, repeats counted on
 * one Event (series.count) instead of new ones.
 */
import {
  CoreV1Api,
  CustomObjectsApi,
  EventsV1Api,
  type EventsV1Event,
  type KubeConfig,
} from '@kubernetes/client-node';
import { startTailscaleSimulator, type TailscaleSimulator } from '../../../simulators/tailscale/server';
import { eventually } from '../../support/eventually';
import { ourEventsAbout } from '../../support/events';
import { createServicesWithProxies, createTailscaleServices } from '../../support/objects';
import { startOperator, type TestOperator } from '../../support/operator';
import { createTestNamespace, testKubeConfig, uniqueName } from '../../support/stack';
import { startTestTailnet, type TestTailnet } from '../../support/tailscale';

const group = 'gateway.tailscale.com';
const version = 'v1alpha1';

describe('Kubernetes Events about our objects', () => {
  let kc: KubeConfig;
  let events: EventsV1Api;
  let core: CoreV1Api;
  let objects: CustomObjectsApi;
  let namespace: string;
  let tailnet: TestTailnet;
  let operator: TestOperator;
  let sim: TailscaleSimulator;

  beforeAll(async () => {
    kc = testKubeConfig();
    events = kc.makeApiClient(EventsV1Api);
    core = kc.makeApiClient(CoreV1Api);
    objects = kc.makeApiClient(CustomObjectsApi);
    namespace = await createTestNamespace(kc, 'events');
    const instance = uniqueName('events');
    sim = await startTailscaleSimulator({ dnsSuffix: 'tail9e7f.ts.net' });
    operator = startOperator({ instance, env: { TAILSCALE_API_BASE_URL: sim.url } });
    tailnet = await startTestTailnet({
      kc,
      namespace,
      name: uniqueName('corp'),
      labels: operator.labels,
      sim,
    });
  });

  afterAll(async () => {
    await operator?.stop();
    await sim?.close();
  });

  const eventsAbout = (eventNamespace: string, kind: string, name: string) =>
    ourEventsAbout(kc, eventNamespace, kind, name);
  const countOf = (e: EventsV1Event | undefined) => (e ? (e.series?.count ?? 1) : 0);

  it('warns about a broken OAuth Secret, once per breakage, counting repeats on one Event', async () => {
    const name = uniqueName('badsecret');
    const secretName = `${name}-oauth`;
    const putSecret = async (data: Record<string, string>) => {
      const body = { metadata: { name: secretName }, stringData: data };
      try {
        await core.createNamespacedSecret({ namespace, body });
      } catch {
        await core.replaceNamespacedSecret({ namespace, name: secretName, body });
      }
    };
    await putSecret({ client_id: 'kabc' });
    await objects.createClusterCustomObject({
      group,
      version,
      plural: 'tailscaletailnets',
      body: {
        apiVersion: `${group}/${version}`,
        kind: 'TailscaleTailnet',
        metadata: { name, labels: operator.labels },
        spec: { oauthSecretRef: { namespace, name: secretName } },
      },
    });
    // A cluster-scoped object's Events live in `default` (the only namespace the API server accepts
    // besides kube-system).
    const home = 'default';
    const first = await eventually('an InvalidSecret Warning', async () => {
      const found = await eventsAbout(home, 'TailscaleTailnet', name);
      const e = found.get('InvalidSecret');
      if (e) return e;
      throw new Error(`the tailnet has Events ${[...found.keys()].join(', ') || 'none'}`);
    });
    expect(first.type).toBe('Warning');
    expect(first.note).toContain('client_secret');
    expect(first.action).toBe('Reconcile');

    await putSecret({ client_id: tailnet.oauth.id, client_secret: tailnet.oauth.secret });
    const ready = await eventually('a Normal Ready event', async () =>
      (await eventsAbout(home, 'TailscaleTailnet', name)).get('Ready'),
    );
    expect(ready.type).toBe('Normal');

    await putSecret({ client_id: 'kabc' });
    const again = await eventually('the same Warning counted once more', async () => {
      const e = (await eventsAbout(home, 'TailscaleTailnet', name)).get('InvalidSecret');
      return countOf(e) > countOf(first) ? e : undefined;
    });
    expect(again.metadata?.name).toBe(first.metadata?.name);
    const all = await events.listNamespacedEvent({ namespace: home });
    expect(JSON.stringify(all.items)).not.toContain(tailnet.oauth.secret);
  });

  it('tells the lifecycle of a VIP service and its proxies as Normal events', async () => {
    const name = uniqueName('web');
    await createServicesWithProxies(kc, {
      namespace,
      name,
      operatorLabels: operator.labels,
      tailnet: tailnet.name,
      vipService: { name: `svc:${name}`, ports: ['tcp:443'], tags: ['tag:web'] },
    });
    const servicesEvents = await eventually('VIPServiceCreated and Ready', async () => {
      const found = await eventsAbout(namespace, 'TailscaleServices', name);
      return found.has('VIPServiceCreated') && found.has('Ready') ? found : undefined;
    });
    expect(servicesEvents.get('VIPServiceCreated')).toMatchObject({
      type: 'Normal',
      action: 'AttachVIPService',
      regarding: { apiVersion: `${group}/${version}`, namespace, name },
    });
    expect(servicesEvents.get('VIPServiceCreated')?.note).toContain(`svc:${name}`);
  });

  it('tells what the proxies of a TailscaleEndpoints went through', async () => {
    const name = uniqueName('proxies');
    await objects.createNamespacedCustomObject({
      group,
      version,
      namespace,
      plural: 'tailscaleendpoints',
      body: {
        apiVersion: `${group}/${version}`,
        kind: 'TailscaleEndpoints',
        metadata: { name, labels: operator.labels },
        spec: { tailnet: tailnet.name, tags: ['tag:k8s'], proxy: { replicas: 1 } },
      },
    });
    const proxyEvents = await eventually('ProxiesApplied and AuthKeyMinted', async () => {
      const found = await eventsAbout(namespace, 'TailscaleEndpoints', name);
      if (found.has('ProxiesApplied') && found.has('AuthKeyMinted')) return found;
      throw new Error(`the endpoints have Events ${[...found.keys()].join(', ') || 'none'}`);
    });
    expect(proxyEvents.get('ProxiesApplied')).toMatchObject({ type: 'Normal', action: 'ApplyProxies' });
    expect(proxyEvents.get('AuthKeyMinted')).toMatchObject({ type: 'Normal', action: 'MintAuthKey' });
    expect(proxyEvents.get('AuthKeyMinted')?.note).not.toMatch(/tskey-/);
  });

  it('warns when an object names a tailnet that does not exist', async () => {
    const name = uniqueName('orphan');
    await createTailscaleServices(kc, {
      namespace,
      name,
      labels: operator.labels,
      spec: {
        tailnet: 'no-such-tailnet',
        selector: { matchLabels: { app: name } },
        vipService: { name: `svc:${name}`, ports: ['tcp:443'], tags: ['tag:web'] },
      },
    });
    const warning = await eventually('a TailnetNotFound Warning', async () =>
      (await eventsAbout(namespace, 'TailscaleServices', name)).get('TailnetNotFound'),
    );
    expect(warning.type).toBe('Warning');
    expect(warning.note).toContain('no-such-tailnet');
  });
});
