import type {
  TailscaleEndpoints,
  TailscaleGateway,
  TailscaleProxyGroup,
  TailscaleServices,
} from '../../api/v1alpha1';
import type { TailscaleRoutePolicy } from '../../api/v1alpha1/tailscale-route-policy';
import { firstVipPort, indexContentFrom } from '../../extension/index-from-resources';

const ready = [
  {
    type: 'Ready',
    status: 'True' as const,
    reason: 'Ready',
    message: '',
    lastTransitionTime: '2026-01-01T00:00:00Z',
  },
];
const meta = (name: string, labels: Record<string, string> = {}) => ({ name, namespace: 'apps', labels });

const services: TailscaleServices = {
  apiVersion: 'gateway.tailscale.com/v1alpha1',
  kind: 'TailscaleServices',
  metadata: meta('web', { team: 'a' }),
  spec: {
    tailnet: 'corp',
    selector: { matchLabels: { app: 'web' } },
    vipService: { ports: ['tcp:8443-8444'], tags: ['tag:web'] },
  },
  status: {
    conditions: ready,
    vipService: { name: 'svc:web-prod', addresses: ['fd7a::1', '100.100.3.3'] },
    selectedEndpoints: [
      { name: 'own', ready: true },
      { name: 'pooled', ready: false },
      { name: 'gone', ready: true },
    ],
  },
};

const own: TailscaleEndpoints = {
  apiVersion: 'gateway.tailscale.com/v1alpha1',
  kind: 'TailscaleEndpoints',
  metadata: meta('own'),
  spec: { tailnet: 'corp', tags: ['tag:web'], ports: [{ port: 8443 }] },
  status: {
    conditions: ready,
    devices: [
      { hostname: 'own-0', statefulSetPod: 'own-0', tailscaleIPs: ['100.64.0.1', 'fd7a::2'], online: true },
      { hostname: 'own-1', statefulSetPod: 'own-1', online: false },
    ],
    statefulSets: [{ name: 'own', replicas: 2, readyReplicas: 1, service: 'own' }],
  },
};

const pooled: TailscaleEndpoints = {
  apiVersion: 'gateway.tailscale.com/v1alpha1',
  kind: 'TailscaleEndpoints',
  metadata: meta('pooled'),
  spec: { tailnet: 'corp', tags: ['tag:web'], proxyGroup: 'pool' },
};

const pool: TailscaleProxyGroup = {
  apiVersion: 'gateway.tailscale.com/v1alpha1',
  kind: 'TailscaleProxyGroup',
  metadata: meta('pool'),
  spec: { tailnet: 'corp', tags: ['tag:web'], type: 'egress' },
  status: {
    devices: [
      { hostname: 'pool-0', statefulSetPod: 'pool-0', online: true },
      { hostname: 'pool-1', statefulSetPod: 'pool-1' },
    ],
    // Proxies in the operator namespace (status says where); `own` above predates that and has none.
    statefulSets: [
      { name: 'pool', replicas: 2, readyReplicas: 1, service: 'pool', namespace: 'tailscale-gateway' },
    ],
  },
};

const gateway: TailscaleGateway = {
  apiVersion: 'gateway.tailscale.com/v1alpha1',
  kind: 'TailscaleGateway',
  metadata: meta('tsgw'),
  spec: { gatewayRef: { name: 'eg' }, routeGeneration: { serviceSelector: { matchLabels: { team: 'a' } } } },
};

const policy: TailscaleRoutePolicy = {
  apiVersion: 'gateway.tailscale.com/v1alpha1',
  kind: 'TailscaleRoutePolicy',
  metadata: meta('p'),
  spec: {
    targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: 'web' }],
    rules: [
      { matches: [{ method: 'POST' }], action: { type: 'Redirect', redirect: { scheme: 'https' } } },
      { action: { type: 'Deny' } },
    ],
  },
};

describe('index-from-resources: the CRs the workflows publish, as the index sees them', () => {
  const content = indexContentFrom(
    {
      services: [services],
      endpoints: [own, pooled],
      proxyGroups: [pool],
      gateways: [gateway],
      policies: [policy],
    },
    { clusterDomain: 'cluster.example' },
  );
  const web = content.backends.find((b) => b.kind === 'TailscaleServices')!;

  it('maps a TailscaleServices to its selected proxies (own StatefulSet or proxy group) and its IPv4 VIP', () => {
    expect(web).toMatchObject({
      namespace: 'apps',
      name: 'web',
      tailnet: 'corp',
      serviceName: 'web-prod',
      ready: true,
    });
    expect(web.endpoints).toEqual([
      {
        address: 'own-0.own.apps.svc.cluster.example',
        port: 8443,
        locality: 'local',
        healthy: true,
        source: 'own-0',
      },
      {
        address: 'own-1.own.apps.svc.cluster.example',
        port: 8443,
        locality: 'local',
        healthy: false,
        source: 'own-1',
      },
      // Selected but not ready (a sibling is down): a device known online stays healthy...
      {
        address: 'pool-0.pool.tailscale-gateway.svc.cluster.example',
        port: 8443,
        locality: 'local',
        healthy: true,
        source: 'pool-0',
      },
      // ...and one whose state is unknown takes the object's readiness.
      {
        address: 'pool-1.pool.tailscale-gateway.svc.cluster.example',
        port: 8443,
        locality: 'local',
        healthy: false,
        source: 'pool-1',
      },
      { address: '100.100.3.3', port: 8443, locality: 'remote', healthy: true, source: 'svc:web-prod' },
    ]);
  });

  it('maps a TailscaleEndpoints to its pods and its devices’ tailnet IPs', () => {
    const backend = content.backends.find((b) => b.kind === 'TailscaleEndpoints' && b.name === 'own')!;
    expect(backend.endpoints.map((e) => [e.address, e.locality, e.healthy])).toEqual([
      ['own-0.own.apps.svc.cluster.example', 'local', true],
      ['own-1.own.apps.svc.cluster.example', 'local', false],
      ['100.64.0.1', 'remote', true],
    ]);
  });

  it('applies route generation defaults and keeps the Gateway in the binding’s namespace', () => {
    expect(content.gateways).toEqual([
      {
        namespace: 'apps',
        name: 'tsgw',
        gateway: { namespace: 'apps', name: 'eg' },
        tailnets: [],
        routeGeneration: {
          pathPrefix: '/tailscale/{service}/',
          rewritePrefix: '/',
          serviceSelector: { matchLabels: { team: 'a' } },
        },
        routes: [],
      },
    ]);
  });

  it('maps policy rules with their action defaults (302 redirect, 403 deny)', () => {
    expect(content.policies[0]).toEqual({
      namespace: 'apps',
      name: 'p',
      targets: [{ kind: 'HTTPRoute', namespace: 'apps', name: 'web' }],
      rules: [
        { matches: [{ method: 'POST' }], action: { type: 'Redirect', scheme: 'https', statusCode: 302 } },
        { matches: [], action: { type: 'Deny', statusCode: 403 } },
      ],
    });
  });

  it('reads the first VIP port from tcp:<port> and tcp:<first>-<last>', () => {
    expect(firstVipPort(['tcp:8443-8444'])).toBe(8443);
    expect(firstVipPort(['do-not-validate'])).toBeUndefined();
  });
});
