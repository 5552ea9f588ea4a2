import { clusterCodec, peekStringField } from '../../extension/codec';
import { postTranslateModify } from '../../extension/post-translate-modify';
import {
  bytesEqual,
  depsWith,
  egCustomBackendCluster,
  egListener,
  egRouteConfiguration,
  egSecret,
  egServiceCluster,
  gatewayName,
  ns,
  webBackend,
} from './fixtures';

const binding = {
  namespace: ns,
  name: 'tsgw',
  gateway: { namespace: ns, name: gatewayName },
  tailnets: [],
  routeGeneration: { pathPrefix: '/tailscale/{service}/', rewritePrefix: '/' },
};

describe('PostTranslateModify', () => {
  const request = () => ({
    clusters: [egCustomBackendCluster(), egServiceCluster()],
    secrets: [egSecret('default/a'), egSecret('default/b')],
    listeners: [egListener()],
    routes: [egRouteConfiguration()],
  });

  it('returns every cluster, secret, listener and route configuration it received, byte for byte', () => {
    const req = request();
    const res = postTranslateModify(req, depsWith({ backends: [webBackend()] }));
    expect(res.clusters).toHaveLength(2);
    req.clusters.forEach((c, i) => expect(bytesEqual(res.clusters[i], c)).toBe(true));
    expect(res.secrets).toHaveLength(2);
    req.secrets.forEach((s, i) => expect(bytesEqual(res.secrets[i], s)).toBe(true));
    expect(bytesEqual(res.listeners[0], req.listeners[0])).toBe(true);
    expect(bytesEqual(res.routes[0], req.routes[0])).toBe(true);
  });

  it('adds the cluster each generated route points at, after everything it received', () => {
    const req = request();
    const res = postTranslateModify(req, depsWith({ backends: [webBackend()], gateways: [binding] }));
    expect(res.clusters.map((c) => peekStringField(c, 1))).toEqual([
      'httproute/default/web/rule/0',
      'httproute/default/other/rule/0',
      'tailscale/tailscaleservices/default/web',
    ]);
    expect(res.secrets).toHaveLength(2);
    const added = clusterCodec.decode(res.clusters[2]!);
    expect(added.loadAssignment?.endpoints?.map((l) => l.locality?.subZone)).toEqual([
      'healthy-local',
      'healthy-remote',
      'unhealthy-local',
    ]);
  });

  it('does not add a cluster EG already has under that name', () => {
    const req = request();
    req.clusters.push(egServiceCluster('tailscale/tailscaleservices/default/web'));
    const res = postTranslateModify(req, depsWith({ backends: [webBackend()], gateways: [binding] }));
    expect(
      res.clusters.map((c) => peekStringField(c, 1)).filter((n) => n?.startsWith('tailscale/')),
    ).toHaveLength(1);
  });

  it('adds an empty cluster for a policy that routes to a backend the index lacks, so the route stays valid', () => {
    const policy = {
      namespace: ns,
      name: 'p',
      targets: [{ kind: 'HTTPRoute' as const, namespace: ns, name: 'web' }],
      rules: [
        {
          matches: [],
          action: { type: 'Route' as const, backend: { kind: 'TailscaleServices' as const, name: 'later' } },
        },
      ],
    };
    const res = postTranslateModify({ clusters: [] }, depsWith({ policies: [policy] }));
    const added = clusterCodec.decode(res.clusters[0]!);
    expect(added.name).toBe('tailscale/tailscaleservices/default/later');
    expect(added.loadAssignment?.endpoints ?? []).toEqual([]);
  });

  it('answers a request with nothing included (secret.includeAll: false and friends) with empty lists', () => {
    expect(postTranslateModify({}, depsWith())).toEqual({
      clusters: [],
      secrets: [],
      listeners: [],
      routes: [],
    });
  });
});
