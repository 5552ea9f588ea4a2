import type { RoutePolicy } from '../../extension/backend-index';
import { routeCodec } from '../../extension/codec';
import { RedirectResponseCode } from '../../extension/envoy-types';
import { InvalidRequestError } from '../../extension/hook-context';
import { postRouteModify } from '../../extension/post-route-modify';
import { depsWith, egRoute, extensionResource, ns } from './fixtures';

const policyObject = (rules: unknown[], name = 'p') => ({
  apiVersion: 'gateway.tailscale.com/v1alpha1',
  kind: 'TailscaleRoutePolicy',
  metadata: { name, namespace: ns },
  spec: { targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: 'web' }], rules },
});

describe('PostRouteModify', () => {
  it('applies an attached policy (EG >= 1.9 extension_policies): deny with a body', () => {
    const res = postRouteModify(
      {
        route: egRoute(),
        postRouteContext: {
          extensionPolicies: [
            extensionResource(
              policyObject([{ action: { type: 'Deny', deny: { statusCode: 451, body: 'no' } } }]),
            ),
          ],
        },
      },
      depsWith(),
    );
    const route = routeCodec.decode(res.route!);
    expect(route.directResponse).toEqual({ status: 451, body: { inlineString: 'no' } });
    expect(route.route).toBeFalsy();
    expect((route as unknown as { $unknowns?: unknown[] }).$unknowns).toHaveLength(1);
  });

  it('applies policies the index holds for the route, redirect and header modifiers included', () => {
    const policy: RoutePolicy = {
      namespace: ns,
      name: 'move',
      targets: [{ kind: 'HTTPRoute', namespace: ns, name: 'web' }],
      rules: [
        {
          matches: [],
          action: { type: 'Redirect', scheme: 'https', hostname: 'new.example.com', statusCode: 301 },
        },
        { matches: [], requestHeaderModifier: { remove: ['x-debug'] } },
      ],
    };
    const route = routeCodec.decode(
      postRouteModify({ route: egRoute() }, depsWith({ policies: [policy] })).route!,
    );
    expect(route.redirect).toMatchObject({ schemeRedirect: 'https', hostRedirect: 'new.example.com' });
    expect(route.redirect?.responseCode).toBe(RedirectResponseCode.MOVED_PERMANENTLY);
    expect(route.requestHeadersToRemove).toEqual(['x-debug']);
  });

  it('leaves conditional rules to PostVirtualHostModify and returns the route byte for byte', () => {
    const route = egRoute();
    const res = postRouteModify(
      {
        route,
        postRouteContext: {
          extensionPolicies: [
            extensionResource(policyObject([{ matches: [{ method: 'POST' }], action: { type: 'Deny' } }])),
          ],
        },
      },
      depsWith(),
    );
    expect(res.route).toBe(route);
  });

  it('returns a route no policy targets byte for byte', () => {
    const route = egRoute({ route: 'other' });
    expect(postRouteModify({ route }, depsWith()).route).toBe(route);
  });

  it('rejects a request without a route', () => {
    expect(() => postRouteModify({}, depsWith())).toThrow(InvalidRequestError);
  });
});
