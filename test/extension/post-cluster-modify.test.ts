import { clusterCodec } from '../../extension/codec';
import { DiscoveryType } from '../../extension/envoy-types';
import { InvalidRequestError } from '../../extension/hook-context';
import { postClusterModify } from '../../extension/post-cluster-modify';
import { decodeEnvoy, withFutureField } from './envoy-protos';
import {
  bytesEqual,
  depsWith,
  egCustomBackendCluster,
  egServiceCluster,
  extensionResource,
  routeClusterName,
  tailscaleServicesObject,
  webBackend,
} from './fixtures';

const clusterType = 'envoy.config.cluster.v3.Cluster';

describe('PostClusterModify', () => {
  it('turns the EDS cluster of a TailscaleServices backendRef into a STRICT_DNS cluster of its proxies', () => {
    const deps = depsWith({ backends: [webBackend()] });
    const res = postClusterModify(
      {
        cluster: egCustomBackendCluster(),
        postClusterContext: { backendExtensionResources: [extensionResource(tailscaleServicesObject())] },
      },
      deps,
    );
    const cluster = decodeEnvoy(clusterType, res.cluster!);
    expect(cluster).toMatchObject({
      name: routeClusterName,
      type: 'STRICT_DNS',
      loadAssignment: {
        clusterName: routeClusterName,
        endpoints: [
          {
            locality: { subZone: 'healthy-local' },
            lbEndpoints: [
              {
                endpoint: {
                  address: {
                    socketAddress: { address: 'web-ep-0.web-ep.default.svc.cluster.local', portValue: 80 },
                  },
                },
              },
            ],
          },
          { priority: 1, locality: { subZone: 'healthy-remote' } },
          { priority: 2, locality: { subZone: 'unhealthy-local' } },
        ],
      },
      outlierDetection: {
        consecutiveGatewayFailure: { value: 3 },
        consecutiveLocalOriginFailure: { value: 3 },
      },
      // What EG set and we do not manage survives: circuit breakers, LB policy, buffer limit.
      circuitBreakers: { thresholds: [{ maxRetries: { value: 1024 } }] },
      perConnectionBufferLimitBytes: { value: 32768 },
      connectTimeout: { seconds: 10 },
    });
    expect(cluster.edsClusterConfig).toBeUndefined();
    expect((cluster.loadBalancingPolicy as { policies: unknown[] }).policies).toHaveLength(1);
  });

  it('keeps fields newer than every .proto we load (re-encoded cluster still carries them)', () => {
    const deps = depsWith({ backends: [webBackend()] });
    const res = postClusterModify(
      {
        cluster: egCustomBackendCluster(),
        postClusterContext: { backendExtensionResources: [extensionResource(tailscaleServicesObject())] },
      },
      deps,
    );
    const futureField = Buffer.from(withFutureField(new Uint8Array())).toString('hex');
    const unknowns =
      (clusterCodec.decode(res.cluster!) as unknown as { $unknowns?: Uint8Array[] }).$unknowns ?? [];
    expect(unknowns.map((u) => Buffer.from(u).toString('hex'))).toContain(futureField);
  });

  it('returns a cluster without our backends byte for byte', () => {
    const deps = depsWith({ backends: [webBackend()] });
    const cluster = egServiceCluster();
    const inferencePool = {
      apiVersion: 'inference.networking.k8s.io/v1',
      kind: 'InferencePool',
      metadata: { name: 'p' },
    };
    const res = postClusterModify(
      { cluster, postClusterContext: { backendExtensionResources: [extensionResource(inferencePool)] } },
      deps,
    );
    expect(res.cluster).toBe(cluster);
  });

  it('uses STATIC when every endpoint is an IP, and compacts priorities without gaps', () => {
    const deps = depsWith({
      backends: [
        webBackend({
          endpoints: [
            { address: '10.0.0.7', port: 8080, locality: 'local', healthy: false, source: 'web-ep-0' },
            { address: '100.64.0.9', port: 8080, locality: 'remote', healthy: false, source: 'svc:web' },
          ],
        }),
      ],
    });
    const res = postClusterModify(
      {
        cluster: egCustomBackendCluster(),
        postClusterContext: { backendExtensionResources: [extensionResource(tailscaleServicesObject())] },
      },
      deps,
    );
    const cluster = clusterCodec.decode(res.cluster!);
    expect(cluster.type).toBe(DiscoveryType.STATIC);
    // Only the unhealthy local proxy is left (unhealthy remote is dropped), at priority 0.
    expect(cluster.loadAssignment?.endpoints).toEqual([
      expect.objectContaining({ locality: { subZone: 'unhealthy-local' }, lbEndpoints: [expect.anything()] }),
    ]);
    expect(cluster.loadAssignment?.endpoints?.[0]?.priority ?? 0).toBe(0);
  });

  it('moves a failing local proxy from priority 0 to the unhealthy-local tier', () => {
    const healthy = webBackend({
      endpoints: [
        { address: 'a.x.default.svc.cluster.local', port: 80, locality: 'local', healthy: true, source: 'a' },
        { address: 'b.x.default.svc.cluster.local', port: 80, locality: 'local', healthy: true, source: 'b' },
        { address: '100.100.1.5', port: 80, locality: 'remote', healthy: true, source: 'svc:web' },
      ],
    });
    const failing = webBackend({
      endpoints: healthy.endpoints.map((e) => (e.source === 'b' ? { ...e, healthy: false } : e)),
    });
    const run = (backend = healthy) =>
      clusterCodec.decode(
        postClusterModify(
          {
            cluster: egCustomBackendCluster(),
            postClusterContext: { backendExtensionResources: [extensionResource(tailscaleServicesObject())] },
          },
          depsWith({ backends: [backend] }),
        ).cluster!,
      );
    const tiers = (c: ReturnType<typeof run>) =>
      (c.loadAssignment?.endpoints ?? []).map((l) => [
        l.priority ?? 0,
        l.locality?.subZone,
        l.lbEndpoints.map((e) => e.endpoint.address.socketAddress.address),
      ]);
    expect(tiers(run(healthy))).toEqual([
      [0, 'healthy-local', ['a.x.default.svc.cluster.local', 'b.x.default.svc.cluster.local']],
      [1, 'healthy-remote', ['100.100.1.5']],
    ]);
    expect(tiers(run(failing))).toEqual([
      [0, 'healthy-local', ['a.x.default.svc.cluster.local']],
      [1, 'healthy-remote', ['100.100.1.5']],
      [2, 'unhealthy-local', ['b.x.default.svc.cluster.local']],
    ]);
  });

  it('falls back to the status of the object EG attached when the index does not know the backend yet', () => {
    const deps = depsWith();
    const obj = tailscaleServicesObject('web', {
      vipService: { name: 'svc:web', addresses: ['100.100.1.5', 'fd7a:115c:a1e0::1'] },
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'Ready',
          message: '',
          lastTransitionTime: '2026-01-01T00:00:00Z',
        },
      ],
    });
    const res = postClusterModify(
      {
        cluster: egCustomBackendCluster(),
        postClusterContext: { backendExtensionResources: [extensionResource(obj)] },
      },
      deps,
    );
    const cluster = clusterCodec.decode(res.cluster!);
    expect(cluster.loadAssignment?.endpoints?.[0]?.lbEndpoints[0]?.endpoint.address.socketAddress).toEqual({
      address: '100.100.1.5',
      portValue: 80,
    });
  });

  it('answers an unknown backend with an empty cluster (503 upstream) and logs it, rather than failing translation', () => {
    const deps = depsWith();
    const res = postClusterModify(
      {
        cluster: egCustomBackendCluster(),
        postClusterContext: {
          backendExtensionResources: [extensionResource(tailscaleServicesObject('missing'))],
        },
      },
      deps,
    );
    const cluster = clusterCodec.decode(res.cluster!);
    expect(cluster.type).toBe(DiscoveryType.STATIC);
    expect(cluster.loadAssignment).toEqual(expect.objectContaining({ clusterName: routeClusterName }));
    expect(cluster.loadAssignment?.endpoints ?? []).toEqual([]);
    expect(deps.logs).toContainEqual(
      expect.objectContaining({
        msg: 'Tailscale backend has no endpoints yet',
        backends: ['TailscaleServices/default/missing'],
      }),
    );
  });

  it.each([
    ['resource JSON is garbage', { unstructuredBytes: Buffer.from('{nope') }, egCustomBackendCluster()],
    [
      'resource lacks a kind',
      extensionResource({ apiVersion: 'v1', metadata: { name: 'x' } }),
      egCustomBackendCluster(),
    ],
    [
      'cluster bytes are not a Cluster',
      extensionResource(tailscaleServicesObject()),
      Buffer.from([0x0a, 0xff, 0x01]),
    ],
  ])('rejects a request whose %s with InvalidRequestError', (_what, resource, cluster) => {
    expect(() =>
      postClusterModify(
        { cluster, postClusterContext: { backendExtensionResources: [resource] } },
        depsWith(),
      ),
    ).toThrow(InvalidRequestError);
  });

  it('is unchanged by the bytes of a cluster we leave alone (sanity: the fixture really has unknown fields)', () => {
    expect(bytesEqual(egServiceCluster(), egServiceCluster())).toBe(true);
  });
});
