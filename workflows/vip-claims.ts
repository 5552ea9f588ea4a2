import type { VipConsumerChange } from './messages';
import { byCodeUnits } from './order';

/** The reply's outcome for a consumer whose claim on the VIP service is refused. */
export const claimRefusedOutcome = 'ClaimRefused';

/** Who may use one VIP service of this install, and whose spec is applied. */
export interface ClaimDecision {
  /** The first claimer carrying a spec: its spec is the one applied. */
  owner?: VipConsumerChange;
  /** The owner and every consumer it admits, in claim order. */
  members: VipConsumerChange[];
  /** Consumers of another namespace the owner does not admit, keyed by workflow id: why. */
  refused: Map<string, string>;
}

/** `services/<ns>/<name>` or `gateway/<ns>/<name>/<route>` (the consumers' routes): the object's namespace. */
export const namespaceOfRoute = (route: string): string => route.split('/')[1] ?? '';

/** The claiming object as a user names it, e.g. `TailscaleServices tailscale-gateway/web`. */
function objectOfRoute(route: string): string {
  const [kind, namespace, name] = route.split('/');
  const kindName = kind === 'services' ? 'TailscaleServices' : kind === 'gateway' ? 'TailscaleGateway' : kind;
  return `${kindName} ${namespace}/${name}`;
}

const createdAtOf = (c: VipConsumerChange) => {
  const ms = c.claim?.createdAt ? Date.parse(c.claim.createdAt) : NaN;
  return Number.isNaN(ms) ? undefined : ms;
};

/**
 * Claim order: earliest creation first, ties (same second) by uid, then by route. A consumer that sent
 * no creation time joined before claims existed (an older worker): it keeps its place ahead of every
 * consumer that did, so an upgrade hands no existing service to a newcomer.
 */
export function byClaimOrder(a: VipConsumerChange, b: VipConsumerChange): number {
  const ta = createdAtOf(a);
  const tb = createdAtOf(b);
  if (ta !== tb) {
    if (ta === undefined) return -1;
    if (tb === undefined) return 1;
    return ta - tb;
  }
  return byCodeUnits(a.claim?.uid ?? '', b.claim?.uid ?? '') || byCodeUnits(a.route, b.route);
}

const admits = (owner: VipConsumerChange, namespace: string) =>
  namespace === namespaceOfRoute(owner.route) ||
  (owner.claim?.allowedNamespaces ?? []).some((n) => n === '*' || n === namespace);

/**
 * The first claimer owns the VIP service's spec; consumers of its namespace, and of namespaces its
 * `spec.vipService.allowedNamespaces` grants, share it; any other namespace's claim is refused.
 */
export function decideClaims(serviceName: string, consumers: Iterable<VipConsumerChange>): ClaimDecision {
  const ordered = [...consumers].sort(byClaimOrder);
  const owner = ordered.find((c) => c.spec);
  if (!owner) return { members: ordered, refused: new Map() };
  const members: VipConsumerChange[] = [];
  const refused = new Map<string, string>();
  for (const c of ordered) {
    const namespace = namespaceOfRoute(c.route);
    if (admits(owner, namespace)) {
      members.push(c);
      continue;
    }
    refused.set(
      c.consumerWorkflowId,
      `${serviceName} belongs to ${objectOfRoute(owner.route)}, which claimed it first; namespace ${namespace} may not use it: ` +
        `choose another spec.vipService.name, or ask the owner to add "${namespace}" to its spec.vipService.allowedNamespaces`,
    );
  }
  return { owner, members, refused };
}
