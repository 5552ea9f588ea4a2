/**
 * Conflicts between TailscaleRoutePolicies, as Gateway API policy attachment (GEP-713) resolves them:
 * when two policies of one kind target the same object and cannot both apply, the older one wins
 * (creationTimestamp, then namespace/name alphabetically) and the newer one is Conflicted for that
 * target. Two policies conflict when a rule of each could apply to the same request and both decide
 * its fate (each has an action) or both change the same header. Rules that provably match disjoint
 * requests (different methods, paths that cannot both match, different exact header values) compose.
 * A regular expression is assumed to overlap anything: we do not decide regex intersection. Pure.
 */
import type { TailscaleRoutePolicy } from '../../api/v1alpha1/tailscale-route-policy';

type Rule = TailscaleRoutePolicy['spec']['rules'][number];
type Match = NonNullable<Rule['matches']>[number];

export interface PolicyIdentity {
  namespace: string;
  name: string;
  creationTimestamp?: string;
}

/** Gateway API's precedence: older first, then alphabetical by namespace/name. */
export function comparePolicyAge(a: PolicyIdentity, b: PolicyIdentity): number {
  const ta = a.creationTimestamp ? Date.parse(a.creationTimestamp) : Number.POSITIVE_INFINITY;
  const tb = b.creationTimestamp ? Date.parse(b.creationTimestamp) : Number.POSITIVE_INFINITY;
  if (ta !== tb) return ta < tb ? -1 : 1;
  return `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`);
}

/** Whether segment-wise PathPrefix `prefix` matches `path` (Gateway API: /foo matches /foo/bar, not /foobar). */
function hasPathPrefix(path: string, prefix: string): boolean {
  const p = prefix.replace(/\/+$/, '');
  return p === '' || path === p || path.startsWith(`${p}/`);
}

function pathsOverlap(a: Match['path'], b: Match['path']): boolean {
  if (!a || !b) return true;
  const ta = a.type ?? 'PathPrefix';
  const tb = b.type ?? 'PathPrefix';
  if (ta === 'RegularExpression' || tb === 'RegularExpression') return true;
  if (ta === 'Exact' && tb === 'Exact') return a.value === b.value;
  if (ta === 'Exact') return hasPathPrefix(a.value, b.value);
  if (tb === 'Exact') return hasPathPrefix(b.value, a.value);
  return hasPathPrefix(a.value, b.value) || hasPathPrefix(b.value, a.value);
}

function headersOverlap(a: Match['headers'], b: Match['headers']): boolean {
  for (const ha of a ?? []) {
    for (const hb of b ?? []) {
      if (ha.name.toLowerCase() !== hb.name.toLowerCase()) continue;
      if ((ha.type ?? 'Exact') === 'Exact' && (hb.type ?? 'Exact') === 'Exact' && ha.value !== hb.value) {
        return false;
      }
    }
  }
  return true;
}

/** Whether some request could satisfy both matches (conservative: true unless provably disjoint). */
export function matchesOverlap(a: Match, b: Match): boolean {
  if (a.method && b.method && a.method !== b.method) return false;
  return pathsOverlap(a.path, b.path) && headersOverlap(a.headers, b.headers);
}

/** Rules without matches apply to every request. */
function rulesCanMatchTogether(a: Rule, b: Rule): boolean {
  const ma = a.matches?.length ? a.matches : [{} as Match];
  const mb = b.matches?.length ? b.matches : [{} as Match];
  return ma.some((x) => mb.some((y) => matchesOverlap(x, y)));
}

function modifiedHeaders(m: Rule['requestHeaderModifier']): Set<string> {
  return new Set(
    [...(m?.set ?? []).map((h) => h.name), ...(m?.add ?? []).map((h) => h.name), ...(m?.remove ?? [])].map(
      (n) => n.toLowerCase(),
    ),
  );
}

/** Why two rules cannot both apply, or undefined when they compose. */
export function ruleConflict(a: Rule, b: Rule): string | undefined {
  if (!rulesCanMatchTogether(a, b)) return undefined;
  if (a.action && b.action) return `both decide the action (${a.action.type} and ${b.action.type})`;
  for (const [direction, ha, hb] of [
    ['request', a.requestHeaderModifier, b.requestHeaderModifier],
    ['response', a.responseHeaderModifier, b.responseHeaderModifier],
  ] as const) {
    const theirs = modifiedHeaders(hb);
    const shared = [...modifiedHeaders(ha)].filter((h) => theirs.has(h));
    if (shared.length) return `both modify ${direction} header ${shared.join(', ')}`;
  }
  return undefined;
}

/** The first pair of rules (by index) of `a` and `b` that conflict, described. */
export function policyRulesConflict(a: readonly Rule[], b: readonly Rule[]): string | undefined {
  for (const [i, ra] of a.entries()) {
    for (const [j, rb] of b.entries()) {
      const why = ruleConflict(ra, rb);
      if (why) return `rules[${i}] and rules[${j}] ${why}`;
    }
  }
  return undefined;
}

export interface ConflictVerdict {
  /** The older, accepted policy this one conflicts with on the target. */
  winner: string;
  why: string;
}

/**
 * For one target: walks the policies targeting it from oldest to newest; each is accepted unless it
 * conflicts with an already accepted (older) one. A policy that lost on this target does not block
 * newer ones, since it is not in effect there. Returns the verdict for `subject`, if it lost.
 */
export function conflictOnTarget(
  subject: PolicyIdentity,
  policies: readonly (PolicyIdentity & { rules: readonly Rule[] })[],
): ConflictVerdict | undefined {
  const accepted: (PolicyIdentity & { rules: readonly Rule[] })[] = [];
  for (const p of [...policies].sort(comparePolicyAge)) {
    const lostTo = accepted
      .map((winner) => ({ winner, why: policyRulesConflict(winner.rules, p.rules) }))
      .find((c) => c.why);
    const isSubject = p.namespace === subject.namespace && p.name === subject.name;
    if (lostTo?.why) {
      if (isSubject) return { winner: lostTo.winner.name, why: lostTo.why };
      continue;
    }
    if (isSubject) return undefined;
    accepted.push(p);
  }
  return undefined;
}
