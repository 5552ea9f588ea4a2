import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { kubeRequest } from '../deploy/kube-requests';
import { createTestNamespace, testKubeConfig } from '../../support/stack';

const group = 'gateway.tailscale.com';
const version = 'v1alpha1';

interface Table {
  columnDefinitions: { name: string }[];
  rows: { cells: unknown[] }[];
}

/** What `kubectl get` prints: the API server's Table for one object, as column name → cell. */
async function tableRow(kc: KubeConfig, path: string): Promise<Record<string, unknown>> {
  const res = await kubeRequest(
    kc,
    'GET',
    path,
    undefined,
    undefined,
    'application/json;as=Table;v=v1;g=meta.k8s.io',
  );
  if (res.status !== 200) throw new Error(`GET ${path} as Table: HTTP ${res.status}`);
  const table = res.body as unknown as Table;
  const [row] = table.rows;
  return Object.fromEntries(table.columnDefinitions.map((c, i) => [c.name, row?.cells[i]]));
}

describe('kubectl get tailscaleroutepolicies', () => {
  let kc: KubeConfig;
  let namespace: string;

  beforeAll(async () => {
    kc = testKubeConfig();
    namespace = await createTestNamespace(kc, 'columns');
  });

  it('shows every target and whether the policy is accepted', async () => {
    const objects = kc.makeApiClient(CustomObjectsApi);
    const ref = { group, version, namespace, plural: 'tailscaleroutepolicies', name: 'two-targets' };
    const targetRefs = [
      { group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'eg' },
      { group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: 'web' },
    ];
    const created = (await objects.createNamespacedCustomObject({
      ...ref,
      body: {
        apiVersion: `${group}/${version}`,
        kind: 'TailscaleRoutePolicy',
        metadata: { name: ref.name },
        spec: { targetRefs, rules: [{ action: { type: 'Deny' } }] },
      },
    })) as Record<string, unknown>;
    const condition = (status: string) => ({
      type: 'Accepted',
      status,
      reason: status === 'True' ? 'Accepted' : 'TargetNotFound',
      message: '',
      lastTransitionTime: '2026-01-01T00:00:00Z',
    });
    await objects.replaceNamespacedCustomObjectStatus({
      ...ref,
      body: {
        ...created,
        status: {
          ancestors: targetRefs.map((t, i) => ({
            ancestorRef: { ...t, namespace },
            controllerName: 'gateway.tailscale.com/tailscale-gateway-operator',
            conditions: [condition(i === 0 ? 'True' : 'False')],
          })),
        },
      },
    });

    const row = await tableRow(
      kc,
      `/apis/${group}/${version}/namespaces/${namespace}/tailscaleroutepolicies/${ref.name}`,
    );
    expect(Object.keys(row)).toEqual(['Name', 'Targets', 'Accepted', 'Age']);
    expect(JSON.parse(String(row.Targets))).toEqual(targetRefs);
    expect(row.Accepted).toBe('True');
  });
});
