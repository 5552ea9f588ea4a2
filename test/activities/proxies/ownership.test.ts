import { ApplicationFailure } from '@temporalio/common';
import type { WireObject } from '../../../activities/kubernetes/apply';
import { assertOwnable, isLegacyOwnedBy, isOwnedBy } from '../../../activities/proxies/ownership';

const parent = { kind: 'TailscaleEndpoints' as const, namespace: 'team-a', name: 'web', uid: 'uid-1' };

const labelled = (labels: Record<string, string>): WireObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 'team-a-web-0123abcd-0', namespace: 'tailscale-gateway', labels },
});
const labelsOf = (p: { namespace: string; name: string; uid: string }, kind = 'endpoints') => ({
  'gateway.tailscale.com/parent-kind': kind,
  'gateway.tailscale.com/parent-namespace': p.namespace,
  'gateway.tailscale.com/parent-name': p.name,
  'gateway.tailscale.com/parent-uid': p.uid,
});

describe('proxy ownership across namespaces: by the labels naming the parent', () => {
  it('owns what carries its kind, namespace, name and uid, and nothing of a same-named parent elsewhere', () => {
    expect(isOwnedBy(labelled(labelsOf(parent)), parent)).toBe(true);
    expect(isOwnedBy(labelled(labelsOf({ ...parent, namespace: 'team-b' })), parent)).toBe(false);
    expect(isOwnedBy(labelled(labelsOf({ ...parent, uid: 'uid-0' })), parent)).toBe(false);
    expect(isOwnedBy(labelled(labelsOf(parent, 'proxygroup')), parent)).toBe(false);
  });

  it("adopts its own earlier incarnation's objects and refuses another parent's, naming it", () => {
    expect(() => assertOwnable(labelled(labelsOf({ ...parent, uid: 'uid-0' })), parent)).not.toThrow();
    expect(() => assertOwnable(undefined, parent)).not.toThrow();
    let thrown: unknown;
    try {
      assertOwnable(labelled(labelsOf({ ...parent, namespace: 'team-b' })), parent);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ApplicationFailure);
    expect((thrown as ApplicationFailure).type).toBe('NameConflict');
    expect((thrown as ApplicationFailure).message).toContain('endpoints team-b/web');
  });

  it('recognises the placement before the operator namespace by its controller ownerReference', () => {
    const legacy: WireObject = {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: {
        name: 'web',
        namespace: 'team-a',
        ownerReferences: [
          {
            apiVersion: 'gateway.tailscale.com/v1alpha1',
            kind: 'TailscaleEndpoints',
            name: 'web',
            uid: 'uid-1',
            controller: true,
          },
        ],
      },
    };
    expect(isLegacyOwnedBy(legacy, parent)).toBe(true);
    expect(isLegacyOwnedBy(legacy, { ...parent, uid: 'uid-2' })).toBe(false);
  });
});
