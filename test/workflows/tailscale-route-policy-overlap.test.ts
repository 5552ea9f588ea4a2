import {
  comparePolicyAge,
  conflictOnTarget,
  policyRulesConflict,
  ruleConflict,
} from '../../activities/gateway-api/policy-conflicts';
import type { TailscaleRoutePolicy } from '../../api/v1alpha1';

// Pure rules of the TailscaleRoutePolicy workflow's conflict detection; test/stack/workflows/
// tailscale-route-policy.test.ts runs them end to end.
type Rule = TailscaleRoutePolicy['spec']['rules'][number];

const deny = (matches?: Rule['matches']): Rule => ({ matches, action: { type: 'Deny' } });
const prefix = (value: string) => ({ path: { type: 'PathPrefix' as const, value } });
const exact = (value: string) => ({ path: { type: 'Exact' as const, value } });
const setHeader = (name: string, matches?: Rule['matches']): Rule => ({
  matches,
  requestHeaderModifier: { set: [{ name, value: 'x' }] },
});

describe('ruleConflict: two rules conflict when some request matches both and both decide its fate', () => {
  const cases: { name: string; a: Rule; b: Rule; conflict: string | undefined }[] = [
    {
      name: 'same-prefix',
      a: deny([prefix('/admin')]),
      b: deny([prefix('/admin')]),
      conflict: 'both decide',
    },
    {
      name: 'nested-prefix',
      a: deny([prefix('/admin')]),
      b: deny([prefix('/admin/panel')]),
      conflict: 'both decide',
    },
    {
      name: 'prefix-is-segment-wise',
      a: deny([prefix('/admin')]),
      b: deny([prefix('/administrator')]),
      conflict: undefined,
    },
    {
      name: 'root-prefix-matches-all',
      a: deny([prefix('/')]),
      b: deny([exact('/x')]),
      conflict: 'both decide',
    },
    {
      name: 'exact-under-prefix',
      a: deny([exact('/admin/x')]),
      b: deny([prefix('/admin')]),
      conflict: 'both decide',
    },
    { name: 'different-exact', a: deny([exact('/a')]), b: deny([exact('/b')]), conflict: undefined },
    {
      name: 'different-methods',
      a: deny([{ method: 'GET', ...prefix('/') }]),
      b: deny([{ method: 'POST', ...prefix('/') }]),
      conflict: undefined,
    },
    {
      name: 'different-exact-header-values',
      a: deny([{ headers: [{ name: 'X-Env', type: 'Exact', value: 'prod' }] }]),
      b: deny([{ headers: [{ name: 'x-env', type: 'Exact', value: 'staging' }] }]),
      conflict: undefined,
    },
    {
      name: 'different-header-names-can-both-be-present',
      a: deny([{ headers: [{ name: 'x-a', type: 'Exact', value: '1' }] }]),
      b: deny([{ headers: [{ name: 'x-b', type: 'Exact', value: '1' }] }]),
      conflict: 'both decide',
    },
    {
      name: 'regex-assumed-to-overlap',
      a: deny([{ path: { type: 'RegularExpression', value: '^/api/v[0-9]+$' } }]),
      b: deny([exact('/static')]),
      conflict: 'both decide',
    },
    { name: 'no-matches-matches-everything', a: deny(), b: deny([exact('/x')]), conflict: 'both decide' },
    {
      name: 'any-match-of-a-rule',
      a: deny([exact('/a'), exact('/b')]),
      b: deny([exact('/b')]),
      conflict: 'both decide',
    },
    {
      name: 'action-and-header-compose',
      a: deny([prefix('/')]),
      b: setHeader('x-a', [prefix('/')]),
      conflict: undefined,
    },
    {
      name: 'same-header-case-insensitive',
      a: setHeader('X-Team'),
      b: setHeader('x-team'),
      conflict: 'request header x-team',
    },
    { name: 'different-headers-compose', a: setHeader('x-a'), b: setHeader('x-b'), conflict: undefined },
    {
      name: 'request-and-response-headers-compose',
      a: setHeader('x-a'),
      b: { responseHeaderModifier: { remove: ['x-a'] } },
      conflict: undefined,
    },
  ];

  it.each(cases)('$name', ({ a, b, conflict }) => {
    const why = ruleConflict(a, b);
    if (conflict === undefined) expect(why).toBeUndefined();
    else expect(why).toContain(conflict);
    // Symmetric: which policy is older never changes whether they conflict.
    expect(ruleConflict(b, a) === undefined).toBe(why === undefined);
  });

  it('names the first conflicting pair of rules', () => {
    expect(policyRulesConflict([deny([exact('/a')]), deny([prefix('/b')])], [deny([exact('/b/c')])])).toBe(
      'rules[1] and rules[0] both decide the action (Deny and Deny)',
    );
  });
});

describe('conflictOnTarget: the older policy wins; a policy that lost does not block newer ones', () => {
  const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
  const policy = (name: string, t: number, rules: Rule[]) => ({
    namespace: 'ns',
    name,
    creationTimestamp: at(t),
    rules,
  });
  const oldest = policy('zz-oldest', 0, [deny([prefix('/admin')])]);
  const middle = policy('mm-middle', 1, [deny([prefix('/admin/panel')]), setHeader('x-team')]);
  const newest = policy('aa-newest', 2, [setHeader('x-team')]);

  it('orders by creationTimestamp, then by name', () => {
    expect([newest, middle, oldest].sort(comparePolicyAge).map((p) => p.name)).toEqual([
      'zz-oldest',
      'mm-middle',
      'aa-newest',
    ]);
    const tie = [policy('b', 5, []), policy('a', 5, [])];
    expect(tie.sort(comparePolicyAge).map((p) => p.name)).toEqual(['a', 'b']);
  });

  it('judges each policy against the accepted older ones only', () => {
    const all = [newest, middle, oldest];
    expect(conflictOnTarget(oldest, all)).toBeUndefined();
    expect(conflictOnTarget(middle, all)).toEqual({
      winner: 'zz-oldest',
      why: 'rules[0] and rules[0] both decide the action (Deny and Deny)',
    });
    // newest overlaps only middle (same header), and middle lost: newest applies.
    expect(conflictOnTarget(newest, all)).toBeUndefined();
    // Without the oldest, middle applies and newest loses to it.
    expect(conflictOnTarget(newest, [newest, middle])).toEqual({
      winner: 'mm-middle',
      why: 'rules[1] and rules[0] both modify request header x-team',
    });
  });
});
