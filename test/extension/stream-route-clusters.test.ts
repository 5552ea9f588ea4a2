import { clusterCodec, peekStringField, rpcCodecs } from '../../extension/codec';
import { routeOfName } from '../../extension/eg-names';
import { DiscoveryType } from '../../extension/envoy-types';
import { bindingFromGateway } from '../../extension/index-from-resources';
import { postTranslateModify } from '../../extension/post-translate-modify';
import { postTranslateModifyWire } from '../../extension/post-translate-modify-wire';
import type { TailscaleGateway } from '../../api/v1alpha1/tailscale-gateway';
import {
  bytesEqual,
  depsWith,
  egCustomBackendCluster,
  egServiceCluster,
  gatewayName,
  ns,
  webBackend,
} from './fixtures';

describe('routeOfName: Envoy Gateway route and cluster names', () => {
  it.each([
    ['httproute/default/web/rule/0', { kind: 'HTTPRoute', namespace: 'default', name: 'web', rule: 0 }],
    [
      'grpcroute/team-a/api/rule/12/match/0/www_example_com',
      { kind: 'GRPCRoute', namespace: 'team-a', name: 'api', rule: 12 },
    ],
    ['tcproute/default/db/rule/-1', { kind: 'TCPRoute', namespace: 'default', name: 'db', rule: -1 }],
    ['tlsroute/edge/tls-pass/rule/-1', { kind: 'TLSRoute', namespace: 'edge', name: 'tls-pass', rule: -1 }],
    ['udproute/default/dns/rule/-1', { kind: 'UDPRoute', namespace: 'default', name: 'dns', rule: -1 }],
    [
      'tcproute/default/db/rule/-1/backend/0',
      { kind: 'TCPRoute', namespace: 'default', name: 'db', rule: -1 },
    ],
  ])('%s', (name, ref) => expect(routeOfName(name)).toEqual(ref));

  it.each([
    'tcproute/default/db/rule/-2',
    'tcproute/default/db/rule/-',
    'tcproute/default/db/rule/-1x',
    'httproute/default/web/rule/',
    'tailscale/tailscaleservices/default/web',
    'default/eg/http',
    'tcproute//db/rule/-1',
  ])('not a route: %s', (name) => expect(routeOfName(name)).toBeUndefined());
});

const tcpCluster = `tcproute/${ns}/db/rule/-1`;
const gatewayWith = (routes: NonNullable<TailscaleGateway['status']>['routes']): TailscaleGateway => ({
  apiVersion: 'gateway.tailscale.com/v1alpha1',
  kind: 'TailscaleGateway',
  metadata: { name: 'tsgw', namespace: ns },
  spec: { gatewayRef: { name: gatewayName } },
  status: { routes },
});

describe('PostTranslateModify: TCPRoute, TLSRoute and UDPRoute clusters with Tailscale backends', () => {
  const deps = (routes: NonNullable<TailscaleGateway['status']>['routes']) =>
    depsWith({ backends: [webBackend()], gateways: [bindingFromGateway(gatewayWith(routes))] });
  const codec = rpcCodecs.PostTranslateModify;
  const both = (clusters: Uint8Array[], d: ReturnType<typeof deps>) => {
    const decoded = postTranslateModify({ clusters }, d).clusters;
    const wire = codec.response.decode(
      postTranslateModifyWire(Buffer.from(codec.request.encode({ clusters })), d),
    );
    expect(wire.clusters?.map((c) => Buffer.from(c).toString('hex'))).toEqual(
      decoded.map((c) => Buffer.from(c).toString('hex')),
    );
    return decoded;
  };

  it.each(['tcproute', 'tlsroute', 'udproute'])(
    'turns the empty EDS cluster of a %s into the backend’s proxies, as PostClusterModify does for HTTPRoute',
    (kind) => {
      const routeKind = { tcproute: 'TCPRoute', tlsroute: 'TLSRoute', udproute: 'UDPRoute' }[
        kind
      ] as 'TCPRoute';
      const name = `${kind}/${ns}/db/rule/-1`;
      const out = both(
        [egCustomBackendCluster(name), egServiceCluster()],
        deps([
          {
            kind: routeKind,
            namespace: ns,
            name: 'db',
            backends: [{ kind: 'TailscaleServices', name: 'web', ready: true }],
          },
        ]),
      );
      expect(out).toHaveLength(2);
      const cluster = clusterCodec.decode(out[0]!);
      expect(cluster.name).toBe(name);
      expect(cluster.type).toBe(DiscoveryType.STRICT_DNS);
      expect(cluster.edsClusterConfig?.length ?? 0).toBe(0);
      expect(
        cluster.loadAssignment?.endpoints?.flatMap((l) =>
          l.lbEndpoints.map((e) => e.endpoint.address.socketAddress?.address),
        ),
      ).toEqual([
        'web-ep-0.web-ep.default.svc.cluster.local',
        '100.100.1.5',
        'web-ep-1.web-ep.default.svc.cluster.local',
      ]);
      expect(cluster.outlierDetection).toBeDefined();
      // What EG set and we do not manage stays.
      expect(cluster.connectTimeout).toEqual(
        clusterCodec.decode(egCustomBackendCluster(name)).connectTimeout,
      );
      expect(bytesEqual(out[1], egServiceCluster())).toBe(true);
    },
  );

  it('leaves a TCPRoute cluster without Tailscale backends, and every cluster when no route has any, byte for byte', () => {
    const clusters = [
      egCustomBackendCluster(tcpCluster),
      egCustomBackendCluster(`udproute/${ns}/other/rule/-1`),
    ];
    for (const d of [
      deps([{ kind: 'TCPRoute', namespace: ns, name: 'db', backends: [] }]),
      deps([
        {
          kind: 'UDPRoute',
          namespace: ns,
          name: 'dns',
          backends: [{ kind: 'TailscaleServices', name: 'web' }],
        },
      ]),
      depsWith({ backends: [webBackend()] }),
    ]) {
      const out = both(clusters, d);
      out.forEach((c, i) => expect(bytesEqual(c, clusters[i])).toBe(true));
    }
  });

  it('leaves HTTPRoute clusters to PostClusterModify, even when status lists the route', () => {
    const http = egCustomBackendCluster(`httproute/${ns}/db/rule/0`);
    const out = both(
      [http],
      deps([
        {
          kind: 'HTTPRoute',
          namespace: ns,
          name: 'db',
          backends: [{ kind: 'TailscaleServices', name: 'web', ready: true }],
        },
      ]),
    );
    expect(bytesEqual(out[0], http)).toBe(true);
  });

  it('uses a backend in another namespace only once the workflow found it permitted and Ready', () => {
    const elsewhere = webBackend({ namespace: 'other' });
    const withBackend = (ready: boolean) =>
      depsWith({
        backends: [elsewhere],
        gateways: [
          bindingFromGateway(
            gatewayWith([
              {
                kind: 'TCPRoute',
                namespace: ns,
                name: 'db',
                backends: [{ kind: 'TailscaleServices', name: 'web', namespace: 'other', ready }],
              },
            ]),
          ),
        ],
      });
    const refused = both([egCustomBackendCluster(tcpCluster)], withBackend(false));
    expect(bytesEqual(refused[0], egCustomBackendCluster(tcpCluster))).toBe(true);
    const granted = clusterCodec.decode(both([egCustomBackendCluster(tcpCluster)], withBackend(true))[0]!);
    expect(granted.type).toBe(DiscoveryType.STRICT_DNS);
  });

  it('gives a backend the index does not have (yet) an empty cluster, not EG’s EDS one', () => {
    const out = both(
      [egCustomBackendCluster(tcpCluster)],
      deps([
        {
          kind: 'TCPRoute',
          namespace: ns,
          name: 'db',
          backends: [{ kind: 'TailscaleEndpoints', name: 'missing' }],
        },
      ]),
    );
    const cluster = clusterCodec.decode(out[0]!);
    expect(peekStringField(out[0]!, 1)).toBe(tcpCluster);
    expect(cluster.edsClusterConfig?.length ?? 0).toBe(0);
    expect(cluster.loadAssignment?.endpoints ?? []).toEqual([]);
  });
});
