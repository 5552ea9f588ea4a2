import type { GatewayResolution, ResolvedRoute } from '../../activities/gateway';
import type { Publication } from '../../activities/gateway-api/publish';
import type { TailnetStatusView } from '../../activities/services';
import type { VipServiceReport } from '../../workflows/messages';
import {
  forbiddenConditions,
  gatewayStatus,
  summarize,
  type GatewayView,
} from '../../workflows/tailscale-gateway-status';

const okTailnet: TailnetStatusView = {
  exists: true,
  ready: true,
  reason: 'Ready',
  message: 'ok',
  dnsSuffix: 'ts.net',
};
const route = (name: string, backends: ResolvedRoute['backends'] = []): ResolvedRoute => ({
  kind: 'HTTPRoute',
  namespace: 'apps',
  name,
  listenerPorts: [80],
  backends,
});
const backend = (
  over: Partial<ResolvedRoute['backends'][number]> = {},
): ResolvedRoute['backends'][number] => ({
  kind: 'TailscaleServices',
  namespace: 'apps',
  name: 'web',
  field: 'spec.rules[0].backendRefs[0]',
  ready: true,
  ...over,
});
const publication: Publication = {
  tailnet: 'corp',
  serviceName: 'svc:shop',
  spec: { ports: ['tcp:80'], tags: ['tag:gw'] },
  routes: ['HTTPRoute/apps/shop'],
  consumerRoute: 'gateway/infra/gw/HTTPRoute/apps/shop',
};
const attached = (over: Partial<VipServiceReport> = {}): VipServiceReport => ({
  serviceName: 'svc:shop',
  ackRequestId: 1,
  attached: true,
  outcome: 'Created',
  addresses: ['100.100.1.1'],
  consumers: 1,
  message: 'created svc:shop',
  ...over,
});

/** A found Gateway with one route publishing svc:shop on tailnet corp, attached; `over` changes parts. */
const view = (
  over: Partial<GatewayView> = {},
  gateway: Partial<GatewayResolution['gateway']> = {},
): GatewayView => {
  const resolution: GatewayResolution = {
    gateway: { namespace: 'infra', name: 'eg', found: true, ...gateway },
    routes: [route('shop')],
    plan: {
      publications: [publication],
      problems: [],
      byRoute: { 'HTTPRoute/apps/shop': { tailnet: 'corp', serviceName: 'svc:shop' } },
    },
  };
  return {
    spec: { gatewayRef: { name: 'eg' }, tailnets: ['corp'] },
    resolution,
    tailnets: { corp: okTailnet },
    replies: { 'corp/svc:shop': attached() },
    ...over,
  };
};
const byType = (v: GatewayView) =>
  Object.fromEntries(gatewayStatus(v).conditions.map((c) => [c.type, `${c.status}/${c.reason}`]));

describe('TailscaleGateway conditions', () => {
  it('is Ready when the Gateway is found and every publication is attached', () => {
    const status = gatewayStatus(view());
    expect(byType(view())).toEqual({ ServicesReady: 'True/ServicesReady', Ready: 'True/Ready' });
    expect(status.conditions[1]?.message).toBe(
      'Gateway infra/eg: 1 route(s); 0 Tailscale backend(s) Ready; 1 VIP service(s) published',
    );
  });

  it.each<[string, GatewayView, string, string]>([
    ['a missing Gateway', view({}, { found: false }), 'Unknown/GatewayNotFound', 'False/GatewayNotFound'],
    ['no VIP reply yet', view({ replies: {} }), 'False/VIPServicePending', 'False/VIPServicePending'],
    [
      'a VIP error',
      view({ replies: { 'corp/svc:shop': attached({ error: 'TailscaleError: boom' }) } }),
      'False/VIPServiceError',
      'False/VIPServiceError',
    ],
    [
      'an outcome not attached',
      view({ replies: { 'corp/svc:shop': attached({ attached: false, outcome: 'ClaimRefused' }) } }),
      'False/ClaimRefused',
      'False/ClaimRefused',
    ],
    [
      'the published tailnet missing',
      view({
        tailnets: { corp: { exists: false, ready: false, reason: 'TailnetNotFound', message: 'gone' } },
      }),
      'False/TailnetNotFound',
      'False/TailnetNotFound',
    ],
    [
      'no host approved',
      view({
        replies: {
          'corp/svc:shop': attached({
            hosts: [{ name: 'p-0', nodeId: 'n1', advertising: true, approved: false, tags: ['tag:gw'] }],
          }),
        },
      }),
      'False/HostNotApproved',
      'False/HostNotApproved',
    ],
    [
      'a backend problem',
      view({
        resolution: {
          ...view().resolution,
          routes: [
            route('shop', [backend({ ready: false, problem: { reason: 'BackendNotFound', message: 'x' } })]),
          ],
        },
      }),
      'False/BackendNotFound',
      'False/BackendNotFound',
    ],
  ])('with %s: ServicesReady %s, Ready %s', (_, v, servicesReady, ready) => {
    expect(byType(v)).toEqual({ ServicesReady: servicesReady, Ready: ready });
  });

  it('holds Ready back on a spec.tailnets entry not Ready even when the services are', () => {
    const v = view({
      spec: { gatewayRef: { name: 'eg' }, tailnets: ['corp', 'lab'] },
      tailnets: {
        corp: okTailnet,
        lab: { exists: true, ready: false, reason: 'MissingScope', message: 'no services' },
      },
    });
    const [servicesReady, ready] = gatewayStatus(v).conditions;
    expect(servicesReady).toMatchObject({ status: 'True', reason: 'ServicesReady' });
    expect(ready).toMatchObject({
      status: 'False',
      reason: 'TailnetNotReady',
      message: 'spec.tailnets[1]: TailscaleTailnet lab is not Ready (MissingScope: no services)',
    });
  });

  it('says NoTailscaleBackends when nothing references or publishes a Tailscale backend', () => {
    const v = view({
      resolution: { ...view().resolution, plan: { publications: [], problems: [], byRoute: {} } },
      replies: {},
    });
    expect(byType(v)).toEqual({ ServicesReady: 'True/NoTailscaleBackends', Ready: 'True/Ready' });
  });

  it('names a published service that kept its owner operator spec', () => {
    const v = view({ replies: { 'corp/svc:shop': attached({ outcome: 'SpecMismatch' }) } });
    expect(gatewayStatus(v).conditions[0]?.message).toMatch(
      /svc:shop kept the spec of its owner operator \(SpecMismatch\)$/,
    );
  });

  it('is not Ready when this install owns a publication and another install’s spec is applied', () => {
    const reply = attached({
      outcome: 'SpecMismatch',
      specOwner: true,
      message: 'managed by operator c/other',
    });
    const v = view({ replies: { 'corp/svc:shop': reply } });
    expect(byType(v)).toEqual({ ServicesReady: 'False/SpecMismatch', Ready: 'False/SpecMismatch' });
    expect(gatewayStatus(v).conditions[0]?.message).toContain('svc:shop on tailnet corp');
    expect(gatewayStatus(v).conditions[0]?.message).toContain('managed by operator c/other');
  });

  it('publishes the route with its VIP addresses and MagicDNS name', () => {
    expect(gatewayStatus(view()).routes).toEqual([
      {
        kind: 'HTTPRoute',
        namespace: 'apps',
        name: 'shop',
        backends: [],
        published: {
          tailnet: 'corp',
          vipService: 'svc:shop',
          addresses: ['100.100.1.1'],
          dnsName: 'shop.ts.net',
        },
      },
    ]);
  });

  it('reports Forbidden on both conditions', () => {
    expect(forbiddenConditions('no list on routes').map((c) => `${c.type}=${c.status}/${c.reason}`)).toEqual([
      'ServicesReady=Unknown/Forbidden',
      'Ready=False/Forbidden',
    ]);
  });

  it('summarizes the first reason and at most three messages', () => {
    const problems = ['a', 'b', 'c', 'd', 'e'].map((m, i) => ({ reason: `R${i}`, message: m }));
    expect(summarize(problems)).toEqual({ reason: 'R0', message: 'a; b; c; and 2 more' });
  });
});
