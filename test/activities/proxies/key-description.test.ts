/** Auth key descriptions: what the pre-mint revocation matches on, so they must name one replica only. */
import { keyDescription } from '../../../activities/proxies/configs';
import { proxyDeploymentOf, type ProxyDeployment } from '../../../api/v1alpha1/proxy';

const deployment = (name: string, namespace = 'apps', kind: ProxyDeployment['kind'] = 'TailscaleEndpoints') =>
  proxyDeploymentOf(kind, { name, namespace, uid: 'uid-1' }, { tailnet: 'corp', tags: ['tag:k8s'] });

// What the Tailscale API accepts as a key description.
const acceptable = /^[A-Za-z0-9 -]{0,50}$/;

test('starts with the replica and its namespace, readable in the admin console', () => {
  expect(keyDescription(deployment('web'), 1, 'east/op-a')).toMatch(/^web-1 in apps [0-9a-f]{8}$/);
});

test('is stable for one replica of one operator', () => {
  expect(keyDescription(deployment('web'), 0, 'east/op-a')).toBe(
    keyDescription(deployment('web'), 0, 'east/op-a'),
  );
});

test('differs between operators, replicas, namespaces and kinds that share a name', () => {
  const descriptions = [
    keyDescription(deployment('web'), 0, 'east/op-a'),
    keyDescription(deployment('web'), 0, 'west/op-a'),
    keyDescription(deployment('web'), 1, 'east/op-a'),
    keyDescription(deployment('web', 'other'), 0, 'east/op-a'),
    keyDescription(deployment('web', 'apps', 'TailscaleProxyGroup'), 0, 'east/op-a'),
  ];
  expect(new Set(descriptions).size).toBe(descriptions.length);
});

test('long names still fit the API limit and stay distinct where truncation makes them alike', () => {
  const long = 'a-very-long-endpoints-name-that-goes-on-and-on';
  const a = keyDescription(deployment(`${long}-x`, 'a-long-namespace-name'), 0, 'east/op-a');
  const b = keyDescription(deployment(`${long}-y`, 'a-long-namespace-name'), 0, 'east/op-a');
  for (const d of [a, b]) expect(d).toMatch(acceptable);
  expect(a.slice(0, 41)).toBe(b.slice(0, 41));
  expect(a).not.toBe(b);
});

test('characters the API refuses become dashes', () => {
  expect(keyDescription(deployment('web.v2'), 0, 'east/op-a')).toMatch(/^web-v2-0 in apps [0-9a-f]{8}$/);
});
