import type { TailscaleEndpoints, TailscaleProxyGroup } from '../../api/v1alpha1';
import { postClusterModify } from '../../extension/post-cluster-modify';
import { indexContentFrom } from '../../extension/index-from-resources';
import { decodeEnvoy } from './envoy-protos';
import { depsWith, egCustomBackendCluster, extensionResource, ns, routeClusterName } from './fixtures';

const clusterType = 'envoy.config.cluster.v3.Cluster';
const ready = [
  {
    type: 'Ready',
    status: 'True' as const,
    reason: 'Ready',
    message: '',
    lastTransitionTime: '2026-01-01T00:00:00Z',
  },
];

/** A TailscaleEndpoints with egress to db:5432 on port 5432 (and 80), as the workflow publishes it. */
function egressEndpoints(overrides: Partial<TailscaleEndpoints['spec']> = {}): TailscaleEndpoints {
  return {
    apiVersion: 'gateway.tailscale.com/v1alpha1',
    kind: 'TailscaleEndpoints',
    metadata: { name: 'db', namespace: ns },
    spec: {
      tailnet: 'corp',
      tags: ['tag:k8s'],
      ports: [{ port: 5432 }, { port: 80 }],
      egress: { tailnetTarget: { host: 'db' }, ports: [{ port: 80 }, { port: 5432 }] },
      ...overrides,
    },
    status: {
      conditions: ready,
      egress: {
        configMap: 'db-proxies',
        namespace: ns,
        ports: [
          { port: 80, matchPort: 10000, targetPort: 80 },
          { port: 5432, matchPort: 10001, targetPort: 5432 },
        ],
      },
      devices: [
        {
          hostname: 'db-0',
          statefulSetPod: 'db-0',
          podIP: '10.244.7.10',
          online: true,
          connected: true,
          tailscaleIP: '100.64.0.1',
        },
        { hostname: 'db-1', statefulSetPod: 'db-1', podIP: '10.244.7.11', online: false, connected: true },
        // Pod not Ready: no pod IP published, so no endpoint.
        { hostname: 'db-2', statefulSetPod: 'db-2', online: true, connected: true },
      ],
      statefulSets: [{ name: 'db', replicas: 3, readyReplicas: 2, service: 'db' }],
    },
  };
}

function clusterFor(endpoints: TailscaleEndpoints, proxyGroups: TailscaleProxyGroup[] = []) {
  const content = indexContentFrom(
    { services: [], endpoints: [endpoints], proxyGroups, gateways: [], policies: [] },
    { clusterDomain: 'cluster.local' },
  );
  const res = postClusterModify(
    {
      cluster: egCustomBackendCluster(),
      postClusterContext: {
        backendExtensionResources: [extensionResource(endpoints as unknown as Record<string, unknown>)],
      },
    },
    depsWith(content),
  );
  return decodeEnvoy(clusterType, res.cluster!);
}

const socket = (address: string, portValue: number) => ({
  endpoint: { address: { socketAddress: { address, portValue } } },
});

describe('egress clusters (TailscaleEndpoints with spec.egress)', () => {
  it('points Envoy at each Ready proxy pod IP on the matchPort of the routed port, healthy first', () => {
    const cluster = clusterFor(egressEndpoints());
    expect(cluster).toMatchObject({
      name: routeClusterName,
      loadAssignment: {
        endpoints: [
          { locality: { subZone: 'healthy-local' }, lbEndpoints: [socket('10.244.7.10', 10001)] },
          {
            priority: 1,
            locality: { subZone: 'unhealthy-local' },
            lbEndpoints: [socket('10.244.7.11', 10001)],
          },
        ],
      },
      outlierDetection: { consecutiveLocalOriginFailure: { value: 3 } },
    });
    // STATIC is proto3's default (0), so it is absent from the decoded cluster.
    expect(cluster.type ?? 'STATIC').toBe('STATIC');
    // Neither the pod's DNS name on the declared port nor the device's tailnet IP: nothing forwards there.
    expect(JSON.stringify(cluster)).not.toContain('svc.cluster.local');
    expect(JSON.stringify(cluster)).not.toContain('100.64.0.1');
  });

  it('routes the lowest egress port when spec.ports[0] is not an egress port', () => {
    const cluster = clusterFor(egressEndpoints({ ports: [{ port: 9000 }, { port: 80 }, { port: 5432 }] }));
    const first = (cluster.loadAssignment as { endpoints: { lbEndpoints: unknown[] }[] }).endpoints[0]!;
    expect(first.lbEndpoints).toEqual([expect.objectContaining(socket('10.244.7.10', 10000))]);
  });

  it('uses the devices of the TailscaleProxyGroup the endpoints share', () => {
    const pooled = egressEndpoints({ proxyGroup: 'pool' });
    pooled.status = { ...pooled.status, devices: [], statefulSets: [] };
    const pool: TailscaleProxyGroup = {
      apiVersion: 'gateway.tailscale.com/v1alpha1',
      kind: 'TailscaleProxyGroup',
      metadata: { name: 'pool', namespace: ns },
      spec: { tailnet: 'corp', tags: ['tag:k8s'], type: 'egress' },
      status: {
        conditions: ready,
        devices: [
          {
            hostname: 'pool-0',
            statefulSetPod: 'pool-0',
            podIP: '10.244.7.20',
            online: true,
            connected: true,
          },
        ],
      },
    };
    const cluster = clusterFor(pooled, [pool]);
    expect(cluster).toMatchObject({
      loadAssignment: { endpoints: [{ lbEndpoints: [socket('10.244.7.20', 10001)] }] },
    });
  });

  it('has no endpoints until the workflow has published status.egress', () => {
    const pending = egressEndpoints();
    delete pending.status!.egress;
    delete pending.status!.statefulSets;
    const cluster = clusterFor(pending);
    expect(JSON.stringify(cluster)).not.toContain('10.244.7.10');
  });
});
