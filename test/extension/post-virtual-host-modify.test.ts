import { peekStringField, routeCodec, virtualHostCodec } from '../../extension/codec';
import type { RoutePolicy } from '../../extension/backend-index';
import { HeaderAppendAction } from '../../extension/envoy-types';
import { postVirtualHostModify } from '../../extension/post-virtual-host-modify';
import { bytesEqual, depsWith, egRoute, egVirtualHost, gatewayName, ns, webBackend } from './fixtures';

const binding = (pathPrefix = '/tailscale/{service}/') => ({
  namespace: ns,
  name: 'tsgw',
  gateway: { namespace: ns, name: gatewayName },
  tailnets: [],
  routeGeneration: { pathPrefix, rewritePrefix: '/' },
});

const routesOf = (bytes: Uint8Array) => virtualHostCodec.decode(bytes).routes ?? [];

describe('PostVirtualHostModify', () => {
  it('injects a /tailscale/{service}/ route per backend ahead of the Gateway routes, which stay byte-identical', () => {
    const existing = [egRoute({ prefix: '/' })];
    const vh = egVirtualHost(existing);
    const api = webBackend({ name: 'api', serviceName: 'api' });
    const res = postVirtualHostModify(
      { virtualHost: vh },
      depsWith({ backends: [webBackend(), api], gateways: [binding()] }),
    );
    const routes = routesOf(res.virtualHost!);
    expect(routes).toHaveLength(3);
    expect(bytesEqual(routes[2], existing[0])).toBe(true);
    const generated = routes.slice(0, 2).map((r) => routeCodec.decode(r));
    const web = generated.find((r) => r.name === 'tailscale/default/tsgw/tailscaleservices/web');
    expect(web?.match?.prefix).toBe('/tailscale/web/');
    expect(web?.route).toMatchObject({
      cluster: 'tailscale/tailscaleservices/default/web',
      prefixRewrite: '/',
    });
    expect(generated.map((r) => r.match?.prefix).sort()).toEqual(['/tailscale/api/', '/tailscale/web/']);
    // The virtual host's own fields (including one no .proto knows) are kept.
    expect(virtualHostCodec.decode(res.virtualHost!).domains).toEqual(['www.example.com']);
    expect(
      (virtualHostCodec.decode(res.virtualHost!) as unknown as { $unknowns?: unknown[] }).$unknowns,
    ).toHaveLength(1);
  });

  it('substitutes {tailnet} and only selects backends on the bound tailnets', () => {
    const other = webBackend({ name: 'db', serviceName: 'db', tailnet: 'lab' });
    const deps = depsWith({
      backends: [webBackend(), other],
      gateways: [{ ...binding('/ts/{tailnet}/{service}/'), tailnets: ['corp'] }],
    });
    const res = postVirtualHostModify({ virtualHost: egVirtualHost([egRoute()]) }, deps);
    const prefixes = routesOf(res.virtualHost!).map((r) => routeCodec.decode(r).match?.prefix);
    expect(prefixes).toEqual(['/ts/corp/web/', '/']);
  });

  it('returns a virtual host of another Gateway, or named by XDSNameSchemeV2, byte for byte', () => {
    const deps = depsWith({ backends: [webBackend()], gateways: [binding()] });
    const otherGateway = egVirtualHost([egRoute()], `${ns}/other-gw/http/www_example_com`);
    expect(postVirtualHostModify({ virtualHost: otherGateway }, deps).virtualHost).toBe(otherGateway);
    const v2 = egVirtualHost([egRoute()], 'www_example_com');
    expect(postVirtualHostModify({ virtualHost: v2 }, deps).virtualHost).toBe(v2);
  });

  it('inserts narrowed copies carrying conditional policy rules just before the targeted route', () => {
    const policy: RoutePolicy = {
      namespace: ns,
      name: 'admin-only',
      targets: [{ kind: 'HTTPRoute', namespace: ns, name: 'web' }],
      rules: [
        {
          matches: [{ path: { type: 'PathPrefix', value: '/admin' }, tailnetDeviceTags: ['tag:admin'] }],
          action: { type: 'Route', backend: { kind: 'TailscaleServices', name: 'admin' } },
          requestHeaderModifier: { set: [{ name: 'x-via', value: 'tailscale' }] },
        },
        { matches: [{ method: 'DELETE' }], action: { type: 'Deny', statusCode: 403 } },
      ],
    };
    const target = egRoute({ route: 'web' });
    const untouched = egRoute({ route: 'other', prefix: '/other' });
    const res = postVirtualHostModify(
      { virtualHost: egVirtualHost([untouched, target]) },
      depsWith({ policies: [policy] }),
    );
    const routes = routesOf(res.virtualHost!);
    expect(routes).toHaveLength(4);
    expect(bytesEqual(routes[0], untouched)).toBe(true);
    expect(bytesEqual(routes[3], target)).toBe(true);
    const [admin, deny] = [routeCodec.decode(routes[1]!), routeCodec.decode(routes[2]!)];
    expect(admin).toMatchObject({
      name: 'httproute/default/web/rule/0/match/0/www_example_com/policy/default/admin-only/rule/0/match/0',
      match: { prefix: '/admin', headers: [{ name: 'tailscale-device-tags' }] },
      route: { cluster: 'tailscale/tailscaleservices/default/admin' },
      requestHeadersToAdd: [{ header: { key: 'x-via', value: 'tailscale' }, appendAction: 2 }],
    });
    expect(deny).toMatchObject({
      match: { prefix: '/', headers: [{ name: ':method', stringMatch: { exact: 'DELETE' } }] },
      directResponse: { status: 403 },
    });
    expect(deny.route).toBeFalsy();
    // The copy keeps what EG put on the route that we do not model (upgrade configs, future fields).
    expect((admin as unknown as { $unknowns?: unknown[] }).$unknowns).toHaveLength(1);
  });

  it('applies unconditional rules of Gateway-targeted policies to every route of the Gateway', () => {
    const policy: RoutePolicy = {
      namespace: ns,
      name: 'gw',
      targets: [{ kind: 'Gateway', namespace: ns, name: gatewayName }],
      rules: [{ matches: [], responseHeaderModifier: { add: [{ name: 'x-served-by', value: 'tsgw' }] } }],
    };
    const res = postVirtualHostModify(
      { virtualHost: egVirtualHost([egRoute()]) },
      depsWith({ policies: [policy] }),
    );
    const route = routeCodec.decode(routesOf(res.virtualHost!)[0]!);
    expect(route.responseHeadersToAdd).toMatchObject([{ header: { key: 'x-served-by', value: 'tsgw' } }]);
    expect(route.responseHeadersToAdd?.[0]?.appendAction).toBe(HeaderAppendAction.APPEND_IF_EXISTS_OR_ADD);
  });

  it('returns the virtual host byte for byte when nothing applies', () => {
    const vh = egVirtualHost([egRoute()]);
    expect(postVirtualHostModify({ virtualHost: vh }, depsWith()).virtualHost).toBe(vh);
  });

  it('reads route names without decoding routes', () => {
    expect(peekStringField(egRoute(), 14)).toBe('httproute/default/web/rule/0/match/0/www_example_com');
  });
});
