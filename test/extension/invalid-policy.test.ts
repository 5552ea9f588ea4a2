/**
 * A TailscaleRoutePolicy that would make Envoy reject the route configuration never reaches xDS: the
 * index drops it (whatever its status says), PostRouteModify ignores it when Envoy Gateway attaches it,
 * and a target our controller refused is not applied either.
 */
import type { TailscaleRoutePolicy } from '../../api/v1alpha1/tailscale-route-policy';
import { routeCodec, virtualHostCodec } from '../../extension/codec';
import { indexContentFrom } from '../../extension/index-from-resources';
import { postRouteModify } from '../../extension/post-route-modify';
import { postVirtualHostModify } from '../../extension/post-virtual-host-modify';
import { depsWith, egRoute, egVirtualHost, extensionResource, ns } from './fixtures';

type Rule = TailscaleRoutePolicy['spec']['rules'][number];

const policy = (
  name: string,
  rules: Rule[],
  status?: TailscaleRoutePolicy['status'],
): TailscaleRoutePolicy => ({
  apiVersion: 'gateway.tailscale.com/v1alpha1',
  kind: 'TailscaleRoutePolicy',
  metadata: { name, namespace: ns, generation: 2 },
  spec: { targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: 'web' }], rules },
  status,
});

const deny: Rule['action'] = { type: 'Deny' };
const lookBehind = policy('look-behind', [
  { matches: [{ path: { type: 'RegularExpression', value: '(?<=x)/admin' } }], action: deny },
]);
const unclosed = policy('unclosed', [
  {
    matches: [{ headers: [{ name: 'x-user', type: 'RegularExpression', value: '(unclosed[(' }] }],
    action: deny,
  },
]);
const crlf = policy('crlf', [
  { responseHeaderModifier: { set: [{ name: 'x-note', value: 'a\r\nset-cookie: stolen=1' }] } },
]);
const valid = policy('valid', [
  { matches: [{ path: { type: 'RegularExpression', value: '/api/v[0-9]+/.*' } }], action: deny },
]);

const depsFor = (...policies: TailscaleRoutePolicy[]) =>
  depsWith(
    indexContentFrom(
      { services: [], endpoints: [], proxyGroups: [], gateways: [], policies },
      { clusterDomain: 'cluster.local' },
    ),
  );

const routeNames = (vh: Uint8Array) =>
  (virtualHostCodec.decode(vh).routes ?? []).map((r) => routeCodec.decode(r).name);

describe('invalid TailscaleRoutePolicies never reach xDS', () => {
  it('adds no route for a policy whose regex RE2 rejects (look-behind, unclosed group), and keeps valid ones', () => {
    const vh = egVirtualHost([egRoute({ prefix: '/' })]);
    const res = postVirtualHostModify({ virtualHost: vh }, depsFor(lookBehind, unclosed, valid));
    const names = routeNames(res.virtualHost!);
    expect(names.filter((n) => n?.includes('/policy/'))).toEqual([
      expect.stringContaining(`/policy/${ns}/valid/rule/0/match/0`),
    ]);
    const alone = postVirtualHostModify({ virtualHost: vh }, depsFor(lookBehind, unclosed));
    expect(alone.virtualHost).toBe(vh);
  });

  it('sets no header value containing CR/LF, from the index or attached by Envoy Gateway', () => {
    const route = egRoute();
    expect(postRouteModify({ route }, depsFor(crlf)).route).toBe(route);
    const attached = postRouteModify(
      {
        route,
        postRouteContext: {
          extensionPolicies: [extensionResource(crlf as unknown as Record<string, unknown>)],
        },
      },
      depsFor(),
    );
    expect(attached.route).toBe(route);
  });

  it('skips a target our controller refused at the current generation, not one refused at an older one', () => {
    const accepted = (status: 'True' | 'False', observedGeneration: number) => ({
      ancestors: [
        {
          ancestorRef: { group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: 'web', namespace: ns },
          controllerName: 'gateway.tailscale.com/tailscale-gateway-operator',
          conditions: [
            {
              type: 'Accepted',
              status,
              reason: status === 'True' ? 'Accepted' : 'Conflicted',
              message: '',
              lastTransitionTime: '2026-01-01T00:00:00Z',
              observedGeneration,
            },
          ],
        },
      ],
    });
    const header: Rule[] = [{ responseHeaderModifier: { set: [{ name: 'x-note', value: 'hi' }] } }];
    const route = egRoute();
    const refusedNow = policy('p', header, accepted('False', 2));
    expect(postRouteModify({ route }, depsFor(refusedNow)).route).toBe(route);
    const refusedBefore = policy('p', header, accepted('False', 1));
    const applied = routeCodec.decode(postRouteModify({ route }, depsFor(refusedBefore)).route!);
    expect(applied.responseHeadersToAdd?.map((h) => h.header?.value)).toEqual(['hi']);
  });
});
