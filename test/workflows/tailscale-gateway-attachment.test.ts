import { attachedListeners, routeScopeOf } from '../../activities/gateway-api/attachment';
import { referenceGranted, tailscaleBackendRefs } from '../../activities/gateway-api/backends';
import { planPublications, type PublishableRoute } from '../../activities/gateway-api/publish';
import type {
  GatewayObject,
  Listener,
  ParentReference,
  ReferenceGrantObject,
  RouteKind,
  RouteObject,
} from '../../activities/gateway-api/types';

// Pure rules the TailscaleGateway workflow's activities apply; test/stack/workflows/
// tailscale-gateway.test.ts exercises them end to end.
const gwApi = 'gateway.networking.k8s.io';

const gateway = (listeners: Listener[]): GatewayObject => ({
  apiVersion: `${gwApi}/v1`,
  kind: 'Gateway',
  metadata: { name: 'eg', namespace: 'infra' },
  spec: { gatewayClassName: 'eg', listeners },
});
const route = (namespace: string, parentRefs: ParentReference[], rules: RouteObject['spec']['rules'] = []) =>
  ({
    apiVersion: `${gwApi}/v1`,
    kind: 'HTTPRoute',
    metadata: { name: 'r', namespace },
    spec: { parentRefs, rules },
  }) as RouteObject;

const http: Listener = { name: 'http', port: 80, protocol: 'HTTP' };
const https: Listener = {
  name: 'https',
  port: 443,
  protocol: 'HTTPS',
  allowedRoutes: { namespaces: { from: 'All' } },
};
const tcp: Listener = { name: 'tcp', port: 5432, protocol: 'TCP' };
const byTeam: Listener = {
  name: 'team',
  port: 8080,
  protocol: 'HTTP',
  allowedRoutes: { namespaces: { from: 'Selector', selector: { matchLabels: { team: 'a' } } } },
};
const grpcOnly: Listener = {
  name: 'grpc',
  port: 9000,
  protocol: 'HTTP',
  allowedRoutes: { kinds: [{ kind: 'GRPCRoute' }] },
};
const all = gateway([http, https, tcp, byTeam, grpcOnly]);

describe('attachedListeners: Gateway API attachment of a route to a Gateway', () => {
  const cases: {
    name: string;
    kind?: RouteKind;
    namespace?: string;
    labels?: Record<string, string>;
    refs: ParentReference[];
    want: string[];
  }[] = [
    { name: 'same-namespace-no-section', refs: [{ name: 'eg' }], want: ['http', 'https'] },
    { name: 'section-name', refs: [{ name: 'eg', sectionName: 'https' }], want: ['https'] },
    { name: 'port', refs: [{ name: 'eg', port: 80 }], want: ['http'] },
    { name: 'section-and-port-disagree', refs: [{ name: 'eg', sectionName: 'http', port: 443 }], want: [] },
    { name: 'other-gateway', refs: [{ name: 'other' }], want: [] },
    { name: 'not-a-gateway', refs: [{ name: 'eg', kind: 'ListenerSet' }], want: [] },
    { name: 'kind-by-protocol', kind: 'TCPRoute', refs: [{ name: 'eg' }], want: ['tcp'] },
    { name: 'allowed-kinds', kind: 'GRPCRoute', refs: [{ name: 'eg', sectionName: 'grpc' }], want: ['grpc'] },
    { name: 'kind-not-allowed', refs: [{ name: 'eg', sectionName: 'grpc' }], want: [] },
    {
      name: 'other-namespace-needs-from',
      namespace: 'apps',
      refs: [{ name: 'eg', namespace: 'infra' }],
      want: ['https'],
    },
    {
      name: 'namespace-selector',
      namespace: 'apps',
      labels: { team: 'a' },
      refs: [{ name: 'eg', namespace: 'infra' }],
      want: ['https', 'team'],
    },
    { name: 'namespace-default-is-the-routes', namespace: 'apps', refs: [{ name: 'eg' }], want: [] },
  ];
  it.each(cases)('$name', ({ kind, namespace, labels, refs, want }) => {
    const listeners = attachedListeners(all, route(namespace ?? 'infra', refs), kind ?? 'HTTPRoute', labels);
    expect(listeners.map((l) => l.name)).toEqual(want);
  });

  it('lists only the kinds and namespaces the listeners can admit', () => {
    expect(routeScopeOf(gateway([http, tcp, byTeam]))).toEqual({
      kinds: ['HTTPRoute', 'GRPCRoute', 'TCPRoute'],
      allNamespaces: false,
      namespaces: ['infra'],
      namespaceSelectors: [{ matchLabels: { team: 'a' } }],
    });
    expect(routeScopeOf(all).allNamespaces).toBe(true);
  });
});

describe('Tailscale backendRefs and ReferenceGrants', () => {
  it('finds our kinds only, with the field that names them', () => {
    const r = route(
      'apps',
      [],
      [
        { backendRefs: [{ name: 'svc', port: 80 }] },
        {
          backendRefs: [
            { group: 'gateway.tailscale.com', kind: 'TailscaleServices', name: 'web' },
            { group: 'gateway.tailscale.com', kind: 'TailscaleEndpoints', name: 'db', namespace: 'data' },
            { group: 'gateway.tailscale.com', kind: 'Other', name: 'x' },
          ],
        },
      ],
    );
    expect(tailscaleBackendRefs(r)).toEqual([
      { kind: 'TailscaleServices', namespace: 'apps', name: 'web', field: 'spec.rules[1].backendRefs[0]' },
      { kind: 'TailscaleEndpoints', namespace: 'data', name: 'db', field: 'spec.rules[1].backendRefs[1]' },
    ]);
  });

  it('permits a cross-namespace reference only when a grant names the route kind, its namespace and the target', () => {
    const grant = (from: string, to: { kind: string; name?: string }): ReferenceGrantObject => ({
      apiVersion: `${gwApi}/v1beta1`,
      kind: 'ReferenceGrant',
      metadata: { name: 'g', namespace: 'data' },
      spec: {
        from: [{ group: gwApi, kind: 'HTTPRoute', namespace: from }],
        to: [{ group: 'gateway.tailscale.com', ...to }],
      },
    });
    const ref = { kind: 'TailscaleEndpoints' as const, name: 'db' };
    const from = { kind: 'HTTPRoute' as const, namespace: 'apps' };
    expect(referenceGranted([grant('apps', { kind: 'TailscaleEndpoints' })], from, ref)).toBe(true);
    expect(referenceGranted([grant('apps', { kind: 'TailscaleEndpoints', name: 'db' })], from, ref)).toBe(
      true,
    );
    expect(referenceGranted([grant('apps', { kind: 'TailscaleEndpoints', name: 'other' })], from, ref)).toBe(
      false,
    );
    expect(referenceGranted([grant('other', { kind: 'TailscaleEndpoints' })], from, ref)).toBe(false);
    expect(referenceGranted([grant('apps', { kind: 'TailscaleServices' })], from, ref)).toBe(false);
    expect(
      referenceGranted([grant('apps', { kind: 'TailscaleEndpoints' })], { ...from, kind: 'TCPRoute' }, ref),
    ).toBe(false);
  });
});

describe('planPublications: spec.publish → VIP services', () => {
  const r = (
    kind: RouteKind,
    name: string,
    ports: number[],
    labels: Record<string, string> = {},
  ): PublishableRoute => ({
    kind,
    namespace: 'apps',
    name,
    labels,
    listenerPorts: ports,
  });
  const gw = { namespace: 'apps', name: 'tsgw' };

  it('defaults the name to svc:<route>, the ports to its listeners, the tailnet to the only one bound', () => {
    const plan = planPublications({
      gateway: gw,
      tailnets: ['corp'],
      routes: [r('HTTPRoute', 'web', [443, 80])],
      publish: [{ route: { name: 'web' }, vipService: { tags: ['tag:web'] } }],
    });
    expect(plan.problems).toEqual([]);
    expect(plan.publications).toEqual([
      {
        tailnet: 'corp',
        serviceName: 'svc:web',
        spec: { ports: ['tcp:80', 'tcp:443'], tags: ['tag:web'], comment: undefined },
        routes: ['HTTPRoute/apps/web'],
        consumerRoute: 'gateway/apps/tsgw/HTTPRoute/apps/web',
      },
    ]);
    expect(plan.byRoute).toEqual({ 'HTTPRoute/apps/web': { tailnet: 'corp', serviceName: 'svc:web' } });
  });

  it('carries the hosting pool; a second pool for the same service is a conflict and the first is used', () => {
    const plan = planPublications({
      gateway: gw,
      tailnets: ['corp'],
      routes: [r('HTTPRoute', 'a', [80]), r('HTTPRoute', 'b', [80])],
      publish: [
        { route: { name: 'a' }, proxyGroup: 'pool-1', vipService: { name: 'svc:s', tags: ['tag:x'] } },
        { route: { name: 'b' }, proxyGroup: 'pool-2', vipService: { name: 'svc:s', tags: ['tag:x'] } },
      ],
    });
    expect(plan.publications).toEqual([
      expect.objectContaining({ serviceName: 'svc:s', proxyGroup: 'pool-1' }),
    ]);
    expect(plan.problems.map((p) => p.reason)).toEqual(['PublishConflict']);
    expect(plan.problems[0]?.message).toContain('TailscaleProxyGroup pool-1');
  });

  it('merges routes publishing one service, the first route naming the consumer', () => {
    const plan = planPublications({
      gateway: gw,
      tailnets: ['corp'],
      routes: [r('HTTPRoute', 'b', [80], { pub: 'y' }), r('HTTPRoute', 'a', [8080], { pub: 'y' })],
      publish: [
        { routeSelector: { matchLabels: { pub: 'y' } }, vipService: { name: 'svc:both', tags: ['tag:x'] } },
      ],
    });
    expect(plan.publications).toHaveLength(1);
    expect(plan.publications[0]).toMatchObject({
      spec: { ports: ['tcp:80', 'tcp:8080'] },
      routes: ['HTTPRoute/apps/a', 'HTTPRoute/apps/b'],
      consumerRoute: 'gateway/apps/tsgw/HTTPRoute/apps/a',
    });
  });

  it('names each problem by field', () => {
    const plan = planPublications({
      gateway: gw,
      tailnets: ['corp', 'lab'],
      routes: [r('UDPRoute', 'dns', [53]), r('HTTPRoute', 'Bad.Name', [80]), r('HTTPRoute', 'web', [80])],
      publish: [
        { route: { name: 'web' }, vipService: { tags: ['tag:x'] } },
        { route: { kind: 'UDPRoute', name: 'dns' }, tailnet: 'corp', vipService: { tags: ['tag:x'] } },
        { route: { name: 'Bad.Name' }, tailnet: 'corp', vipService: { tags: ['tag:x'] } },
        { route: { name: 'gone' }, tailnet: 'corp', vipService: { tags: ['tag:x'] } },
        { routeSelector: {}, tailnet: 'corp', vipService: { tags: ['tag:x'] } },
      ],
    });
    expect(plan.publications).toEqual([]);
    expect(plan.problems.map((p) => p.message.split(':')[0])).toEqual([
      'spec.publish[0].tailnet is required unless spec.tailnets names exactly one tailnet',
      'spec.publish[1].vipService.ports',
      'spec.publish[2].vipService.name is unset and HTTPRoute apps/Bad.Name does not make a valid svc',
      'spec.publish[3].route',
      'spec.publish[4].routeSelector is empty',
    ]);
    expect(plan.problems.map((p) => p.reason)).toEqual([
      'InvalidPublish',
      'InvalidPublish',
      'InvalidPublish',
      'PublishedRouteNotAttached',
      'InvalidPublish',
    ]);
  });
});
