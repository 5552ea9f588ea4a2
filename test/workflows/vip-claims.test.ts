import type { VipConsumerChange, VipClaim } from '../../workflows/messages';
import { decideClaims } from '../../workflows/vip-claims';

const spec = { ports: ['tcp:443'], tags: ['tag:web'] };

function consumer(route: string, claim?: VipClaim, withSpec = true): VipConsumerChange {
  return { consumerWorkflowId: route, route, requestId: 1, ...(withSpec ? { spec } : {}), claim };
}

const routes = (cs: VipConsumerChange[]) => cs.map((c) => c.route);

describe('decideClaims: who owns a VIP service and who may share it', () => {
  it('makes the earliest-created claimer the owner, whatever the names sort as', () => {
    const later = consumer('services/team/a-later', { createdAt: '2026-01-02T00:00:00Z', uid: 'u1' });
    const earlier = consumer('services/team/z-earlier', { createdAt: '2026-01-01T00:00:00Z', uid: 'u2' });
    const d = decideClaims('svc:web', [later, earlier]);
    expect(d.owner).toBe(earlier);
    expect(routes(d.members)).toEqual(['services/team/z-earlier', 'services/team/a-later']);
    expect(d.refused.size).toBe(0);
  });

  it('breaks a same-second tie by uid, not by name', () => {
    const at = '2026-01-01T00:00:00Z';
    const d = decideClaims('svc:web', [
      consumer('services/team/a', { createdAt: at, uid: 'uid-b' }),
      consumer('services/team/b', { createdAt: at, uid: 'uid-a' }),
    ]);
    expect(d.owner?.route).toBe('services/team/b');
  });

  it("refuses another namespace's claim, naming the owner and how to get access", () => {
    const owner = consumer('services/tailscale-gateway/web', { createdAt: '2026-01-01T00:00:00Z' });
    const hostile = consumer('services/hostile/aaa', { createdAt: '2026-01-02T00:00:00Z' });
    const d = decideClaims('svc:web', [hostile, owner]);
    expect(d.owner).toBe(owner);
    expect(routes(d.members)).toEqual(['services/tailscale-gateway/web']);
    const why = d.refused.get(hostile.consumerWorkflowId);
    expect(why).toContain('TailscaleServices tailscale-gateway/web');
    expect(why).toContain('spec.vipService.allowedNamespaces');
    expect(why).toContain('"hostile"');
  });

  it('admits the namespaces the owner grants, or every namespace with "*"', () => {
    const granted = (allowedNamespaces: string[]) =>
      decideClaims('svc:web', [
        consumer('services/own/web', { createdAt: '2026-01-01T00:00:00Z', allowedNamespaces }),
        consumer('services/friend/web', { createdAt: '2026-01-02T00:00:00Z' }),
        consumer('services/other/web', { createdAt: '2026-01-03T00:00:00Z' }),
      ]);
    expect(routes(granted(['friend']).members)).toEqual(['services/own/web', 'services/friend/web']);
    expect([...granted(['friend']).refused.keys()]).toEqual(['services/other/web']);
    expect(granted(['*']).refused.size).toBe(0);
    // Only the owner's grant counts: a later claimer cannot open the service to more namespaces.
    const d = decideClaims('svc:web', [
      consumer('services/own/web', { createdAt: '2026-01-01T00:00:00Z' }),
      consumer('services/hostile/web', { createdAt: '2026-01-02T00:00:00Z', allowedNamespaces: ['*'] }),
    ]);
    expect([...d.refused.keys()]).toEqual(['services/hostile/web']);
  });

  it('decides gateways by their own namespace', () => {
    const d = decideClaims('svc:web', [
      consumer('services/own/web', { createdAt: '2026-01-01T00:00:00Z' }),
      consumer('gateway/own/gw/HTTPRoute/own/r', { createdAt: '2026-01-02T00:00:00Z' }),
      consumer('gateway/else/gw/HTTPRoute/else/r', { createdAt: '2026-01-02T00:00:00Z' }),
    ]);
    expect([...d.refused.keys()]).toEqual(['gateway/else/gw/HTTPRoute/else/r']);
  });

  it('keeps a consumer that sent no creation time (an older worker) ahead of newcomers', () => {
    const legacy = consumer('services/own/zzz');
    const newcomer = consumer('services/hostile/aaa', { createdAt: '2020-01-01T00:00:00Z' });
    const d = decideClaims('svc:web', [newcomer, legacy]);
    expect(d.owner).toBe(legacy);
    expect([...d.refused.keys()]).toEqual(['services/hostile/aaa']);
  });

  it('lets the next claimer own the service once the owner is gone', () => {
    const next = consumer('services/hostile/aaa', { createdAt: '2026-01-02T00:00:00Z' });
    expect(decideClaims('svc:web', [next]).owner).toBe(next);
  });

  it('owns by the first claimer carrying a spec', () => {
    const noSpec = consumer('services/a/x', { createdAt: '2026-01-01T00:00:00Z' }, false);
    const withSpec = consumer('services/a/y', { createdAt: '2026-01-02T00:00:00Z' });
    expect(decideClaims('svc:web', [noSpec, withSpec]).owner).toBe(withSpec);
  });
});
