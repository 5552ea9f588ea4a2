import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { TailscaleClientRegistry } from '../../../activities/tailscale/client-registry';
import { TailnetClients, TailnetUnavailable } from '../../../activities/tailnets';
import { startRecordingKubeProxy } from '../../support/recording-kube-proxy';
import { createTestNamespace, testKubeConfig, uniqueName } from '../../support/stack';

const tailnets = { group: 'gateway.tailscale.com', version: 'v1alpha1', plural: 'tailscaletailnets' };
const ttlMs = 5_000;

describe('TailnetClients: the API client of a tailnet, from its Secret', () => {
  let kc: KubeConfig;
  let core: CoreV1Api;
  let namespace: string;
  let tailnet: string;
  let secretName: string;
  let recorder: Awaited<ReturnType<typeof startRecordingKubeProxy>>;
  let now: number;
  let clients: TailnetClients;

  const reads = () => {
    const gets = recorder.exchanges.filter((e) => e.method === 'GET');
    return {
      tailnet: gets.filter((e) => e.url.includes(`/tailscaletailnets/${tailnet}`)).length,
      secret: gets.filter((e) => e.url.includes(`/secrets/${secretName}`)).length,
    };
  };
  const writeCredentials = (clientId: string) =>
    core.replaceNamespacedSecret({
      namespace,
      name: secretName,
      body: {
        metadata: { name: secretName },
        stringData: { client_id: clientId, client_secret: 'not-logged' },
      },
    });

  beforeAll(async () => {
    kc = testKubeConfig();
    core = kc.makeApiClient(CoreV1Api);
    namespace = await createTestNamespace(kc, 'tailnet-clients');
    tailnet = uniqueName('clients');
    secretName = `${tailnet}-oauth`;
    await core.createNamespacedSecret({
      namespace,
      body: {
        metadata: { name: secretName },
        stringData: { client_id: 'first', client_secret: 'not-logged' },
      },
    });
    await kc.makeApiClient(CustomObjectsApi).createClusterCustomObject({
      ...tailnets,
      body: {
        apiVersion: `${tailnets.group}/${tailnets.version}`,
        kind: 'TailscaleTailnet',
        // No operator of the stack selects this label: only the test reads the object.
        metadata: { name: tailnet, labels: { 'test.tailscale.com/unselected': 'true' } },
        spec: { oauthSecretRef: { namespace, name: secretName } },
      },
    });
    recorder = await startRecordingKubeProxy(kc);
  });
  beforeEach(() => {
    now = 0;
    const options = { credentialsTtlMs: ttlMs, now: () => now };
    clients = new TailnetClients(
      recorder.kubeConfig,
      new TailscaleClientRegistry(),
      'http://127.0.0.1:1',
      options,
    );
    recorder.exchanges.length = 0;
  });
  afterAll(async () => {
    await recorder.close();
    await kc.makeApiClient(CustomObjectsApi).deleteClusterCustomObject({ ...tailnets, name: tailnet });
  });

  it('reads the tailnet and its Secret once for concurrent and repeated callers within the TTL', async () => {
    const concurrent = await Promise.all(Array.from({ length: 10 }, () => clients.apiClient(tailnet)));
    now = ttlMs - 1;
    const later = await clients.apiClient(tailnet);

    expect(new Set([...concurrent, later]).size).toBe(1);
    expect(reads()).toEqual({ tailnet: 1, secret: 1 });
  });

  it('uses rotated credentials after the TTL, and at once through client()', async () => {
    const first = await clients.apiClient(tailnet);
    await writeCredentials('rotated');
    try {
      now = ttlMs - 1;
      expect(await clients.apiClient(tailnet)).toBe(first);
      const fresh = (await clients.client(tailnet)).client;
      expect(fresh).not.toBe(first);

      now = ttlMs;
      expect(await clients.apiClient(tailnet)).toBe(fresh);
      expect(reads()).toEqual({ tailnet: 3, secret: 3 });
    } finally {
      await writeCredentials('first');
    }
  });

  it('keeps no failure: a Secret fixed within the TTL is used by the next call', async () => {
    await core.deleteNamespacedSecret({ namespace, name: secretName });
    await expect(clients.apiClient(tailnet)).rejects.toThrow(TailnetUnavailable);
    await core.createNamespacedSecret({
      namespace,
      body: {
        metadata: { name: secretName },
        stringData: { client_id: 'first', client_secret: 'not-logged' },
      },
    });

    await expect(clients.apiClient(tailnet)).resolves.toBeDefined();
    expect(reads()).toEqual({ tailnet: 2, secret: 2 });
  });
});
