import { isDeepStrictEqual } from 'node:util';
import type { Condition, KubeObject } from '../api/common';
import { setCondition, type ConditionUpdate } from '../api/conditions';
import { resourceOf, type ResourceRef } from '../api/crd';
import {
  tailscaleRoutePolicyCrd,
  type TailscaleRoutePolicy,
  type TailscaleRoutePolicyStatus,
} from '../api/v1alpha1/tailscale-route-policy';
import {
  routePolicyControllerName,
  routePolicyProblems,
  type PolicyProblem,
  type PolicyProblemKind,
} from '../api/v1alpha1/route-policy-validation';
import type { ActivityContext } from './context';
import { conflictOnTarget } from './gateway-api/policy-conflicts';
import { GatewayApiDiscovery, type GatewayApiKind } from './gateway-api/resources';
import { isConflict, isNotFound, toKubeActivityFailure } from './kubernetes/errors';
import { RoutePolicyReason } from '../api/reasons';

export { routePolicyControllerName };

export const routePolicyResource: ResourceRef = resourceOf(tailscaleRoutePolicyCrd);

export interface AncestorRef {
  group: string;
  kind: string;
  name: string;
  namespace: string;
}

export type PolicyTargetReason = 'Accepted' | 'TargetNotFound' | 'Conflicted' | PolicyProblemKind;

export interface PolicyTargetVerdict {
  ancestorRef: AncestorRef;
  reason: PolicyTargetReason;
  message: string;
}

export interface PolicyEvaluation {
  /** False: the policy is gone (or was recreated with another uid); nothing to publish. */
  found: boolean;
  targets: PolicyTargetVerdict[];
}

export interface PublishPolicyStatusInput {
  namespace: string;
  name: string;
  uid?: string;
  generation?: number;
  targets: PolicyTargetVerdict[];
}

const maxAncestors = 16;
const maxConflictRetries = 5;

type Ancestor = NonNullable<TailscaleRoutePolicyStatus['ancestors']>[number];

/**
 * TailscaleRoutePolicy status: whether each target exists, and whether an older policy on the same
 * target wins over this one (Gateway API policy attachment). The extension server applies the rules;
 * these activities only judge and publish.
 */
export function createRoutePolicyActivities(ctx: ActivityContext) {
  const discovery = new GatewayApiDiscovery(ctx.kube);

  async function targetExists(
    kind: GatewayApiKind,
    namespace: string,
    name: string,
  ): Promise<string | undefined> {
    const served = await discovery.resolve(kind);
    if (!served) return `${kind} is not served by this API server (Gateway API CRD missing)`;
    try {
      await ctx.objects.get(
        { group: served.group, version: served.version, plural: served.plural, kind, namespaced: true },
        { namespace, name },
      );
      return undefined;
    } catch (err) {
      if (isNotFound(err)) return `${kind} ${namespace}/${name} does not exist`;
      throw toKubeActivityFailure(err, `reading ${kind} ${namespace}/${name}`);
    }
  }

  return {
    async evaluateRoutePolicy(input: {
      namespace: string;
      name: string;
      uid?: string;
    }): Promise<PolicyEvaluation> {
      let policies: TailscaleRoutePolicy[];
      try {
        policies = await ctx.objects.list<TailscaleRoutePolicy>(routePolicyResource, {
          namespace: input.namespace,
        });
      } catch (err) {
        throw toKubeActivityFailure(err, `listing TailscaleRoutePolicies in ${input.namespace}`);
      }
      const self = policies.find((p) => p.metadata.name === input.name);
      if (!self || (input.uid && self.metadata.uid !== input.uid)) return { found: false, targets: [] };
      // An invalid policy is refused on every target (it never reaches xDS), so it conflicts with no one.
      const problems = routePolicyProblems(self.spec);
      if (problems.length) return { found: true, targets: refusedTargets(self, input.namespace, problems) };
      const live = policies.filter(
        (p) => p === self || (!p.metadata.deletionTimestamp && !routePolicyProblems(p.spec).length),
      );
      const identity = (p: TailscaleRoutePolicy) => ({
        namespace: p.metadata.namespace ?? input.namespace,
        name: p.metadata.name,
        creationTimestamp: p.metadata.creationTimestamp,
        rules: p.spec.rules,
      });

      const targets: PolicyTargetVerdict[] = [];
      const seen = new Set<string>();
      for (const [i, ref] of self.spec.targetRefs.entries()) {
        const key = `${ref.group}/${ref.kind}/${ref.name}`;
        if (seen.has(key)) continue;
        seen.add(key);
        const ancestorRef = { group: ref.group, kind: ref.kind, name: ref.name, namespace: input.namespace };
        const target = `${ref.kind} ${input.namespace}/${ref.name}`;
        const missing = await targetExists(ref.kind, input.namespace, ref.name);
        if (missing) {
          targets.push({
            ancestorRef,
            reason: RoutePolicyReason.TargetNotFound,
            message: `spec.targetRefs[${i}]: ${missing}`,
          });
          continue;
        }
        const rivals = live.filter((p) =>
          p.spec.targetRefs.some((t) => t.group === ref.group && t.kind === ref.kind && t.name === ref.name),
        );
        const lost = conflictOnTarget(identity(self), rivals.map(identity));
        targets.push(
          lost
            ? {
                ancestorRef,
                reason: RoutePolicyReason.Conflicted,
                message: `spec.targetRefs[${i}] ${target}: the older TailscaleRoutePolicy ${lost.winner} takes precedence (its ${lost.why.replace(' and ', ' and this policy’s ')})`,
              }
            : { ancestorRef, reason: RoutePolicyReason.Accepted, message: `applies to ${target}` },
        );
      }
      return { found: true, targets };
    },

    /**
     * Writes our ancestors (one per target) and keeps every other controller's, by read-modify-write
     * on the resourceVersion; writes only when something changed.
     */
    async publishRoutePolicyStatus(input: PublishPolicyStatusInput): Promise<{ written: boolean }> {
      const key = { namespace: input.namespace, name: input.name };
      for (let attempt = 0; ; attempt++) {
        let current: KubeObject<unknown, TailscaleRoutePolicyStatus>;
        try {
          current = await ctx.objects.get(routePolicyResource, key);
        } catch (err) {
          if (isNotFound(err)) return { written: false };
          throw toKubeActivityFailure(err, `reading TailscaleRoutePolicy ${input.namespace}/${input.name}`);
        }
        if (input.uid && current.metadata.uid !== input.uid) return { written: false };
        const status = current.status ?? {};
        const ancestors = desiredAncestors(status.ancestors ?? [], input, new Date().toISOString());
        if (isDeepStrictEqual(ancestors, status.ancestors ?? [])) return { written: false };
        try {
          await ctx.objects.replaceStatus(routePolicyResource, {
            ...current,
            status: { ...status, ancestors },
          });
          return { written: true };
        } catch (err) {
          if (isConflict(err) && attempt < maxConflictRetries) continue;
          if (isNotFound(err)) return { written: false };
          throw toKubeActivityFailure(
            err,
            `publishing status of TailscaleRoutePolicy ${input.namespace}/${input.name}`,
          );
        }
      }
    },
  };
}

/** Every distinct target, refused for the first problem; the message lists them all (up to three). */
function refusedTargets(
  policy: TailscaleRoutePolicy,
  namespace: string,
  problems: PolicyProblem[],
): PolicyTargetVerdict[] {
  const shown = problems.slice(0, 3).map((p) => p.message);
  if (problems.length > shown.length) shown.push(`and ${problems.length - shown.length} more`);
  const message = `not applied: ${shown.join('; ')}`;
  const seen = new Set<string>();
  return policy.spec.targetRefs.flatMap((ref) => {
    const key = `${ref.group}/${ref.kind}/${ref.name}`;
    if (seen.has(key)) return [];
    seen.add(key);
    return [
      {
        ancestorRef: { group: ref.group, kind: ref.kind, name: ref.name, namespace },
        reason: problems[0]!.kind,
        message,
      },
    ];
  });
}

const sameRef = (a: Ancestor['ancestorRef'], b: AncestorRef) =>
  a.group === b.group &&
  a.kind === b.kind &&
  a.name === b.name &&
  (a.namespace ?? b.namespace) === b.namespace;

/** Other controllers' entries as they are, then ours; conditions keep lastTransitionTime unless they flip. */
export function desiredAncestors(
  current: readonly Ancestor[],
  input: Pick<PublishPolicyStatusInput, 'generation' | 'targets'>,
  now: string,
): Ancestor[] {
  const others = current.filter((a) => a.controllerName !== routePolicyControllerName);
  const ours = input.targets.map((t): Ancestor => {
    const previous = current.find(
      (a) => a.controllerName === routePolicyControllerName && sameRef(a.ancestorRef, t.ancestorRef),
    );
    let conditions: Condition[] = previous?.conditions ?? [];
    conditions = conditions.filter((c) => c.type === 'Accepted' || c.type === 'Conflicted');
    for (const update of verdictConditions(t))
      conditions = setCondition(conditions, update, input.generation, now);
    return { ancestorRef: t.ancestorRef, controllerName: routePolicyControllerName, conditions };
  });
  return [...others, ...ours.slice(0, Math.max(0, maxAncestors - others.length))];
}

function verdictConditions(t: PolicyTargetVerdict): ConditionUpdate[] {
  switch (t.reason) {
    case RoutePolicyReason.Accepted:
      return [
        { type: 'Accepted', status: 'True', reason: RoutePolicyReason.Accepted, message: t.message },
        {
          type: 'Conflicted',
          status: 'False',
          reason: RoutePolicyReason.NoConflict,
          message: 'no older policy on this target overlaps',
        },
      ];
    case RoutePolicyReason.Conflicted:
      return [
        { type: 'Accepted', status: 'False', reason: RoutePolicyReason.Conflicted, message: t.message },
        { type: 'Conflicted', status: 'True', reason: RoutePolicyReason.Conflicted, message: t.message },
      ];
    case RoutePolicyReason.TargetNotFound:
    case RoutePolicyReason.InvalidRegex:
    case RoutePolicyReason.InvalidHeader:
      return [
        { type: 'Accepted', status: 'False', reason: t.reason, message: t.message },
        { type: 'Conflicted', status: 'Unknown', reason: t.reason, message: t.message },
      ];
  }
}
