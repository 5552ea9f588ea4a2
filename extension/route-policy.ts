/**
 * TailscaleRoutePolicy applied to xDS routes. A rule without matches applies to every request of the
 * routes it targets, so it is applied to the route itself. A rule with matches applies only to some
 * requests: each match becomes a copy of the route, narrowed by the match and carrying the rule's
 * action, inserted just before the route (Envoy picks the first route that matches).
 */
import type {
  HeaderModifier,
  IndexSnapshot,
  PolicyAction,
  PolicyMatch,
  PolicyRule,
  RoutePolicy,
  TailscaleBackend,
} from './backend-index';
import {
  HeaderAppendAction,
  RedirectResponseCode,
  type HeaderMatcher,
  type HeaderValueOption,
  type Route,
  type RouteMatch,
} from './envoy-types';
import { tailscaleClusterName } from './tailscale-cluster';

/**
 * The request header carrying the source device's ACL tags, comma separated. The project's tailnet
 * ingress proxies set it (and strip any client-supplied copy); it means nothing on other listeners.
 */
export const deviceTagsHeader = 'tailscale-device-tags';

export interface PolicyContext {
  snapshot: IndexSnapshot;
  /** Namespace of the policy: Route actions name backends in it. */
  namespace: string;
}

export function isConditional(rule: PolicyRule): boolean {
  return rule.matches.length > 0;
}

/** Applies the unconditional rules of `policies` to `route`; returns whether anything changed. */
export function applyUnconditionalRules(
  route: Route,
  policies: readonly RoutePolicy[],
  snapshot: IndexSnapshot,
) {
  let changed = false;
  let actionTaken = false;
  for (const policy of policies) {
    for (const rule of policy.rules) {
      if (isConditional(rule)) continue;
      // The first action wins, as it would with ordered routes; header modifiers all apply.
      if (rule.action && !actionTaken) {
        applyAction(route, rule.action, { snapshot, namespace: policy.namespace });
        actionTaken = true;
        changed = true;
      }
      changed = applyHeaderModifiers(route, rule) || changed;
    }
  }
  return changed;
}

/**
 * Routes to insert before `route` for the conditional rules of `policies`, in rule order. Returns no
 * route for a match that cannot be expressed on top of the route's own match (e.g. a path outside it).
 */
export function derivedRoutes(
  route: Route,
  policies: readonly RoutePolicy[],
  snapshot: IndexSnapshot,
  clone: () => Route,
) {
  const out: Route[] = [];
  for (const policy of policies) {
    policy.rules.forEach((rule, ruleIndex) => {
      if (!isConditional(rule)) return;
      rule.matches.forEach((match, matchIndex) => {
        const copy = clone();
        copy.match ??= {};
        if (!narrowMatch(copy.match, match)) return;
        copy.name = `${route.name ?? ''}/policy/${policy.namespace}/${policy.name}/rule/${ruleIndex}/match/${matchIndex}`;
        if (rule.action) applyAction(copy, rule.action, { snapshot, namespace: policy.namespace });
        applyHeaderModifiers(copy, rule);
        out.push(copy);
      });
    });
  }
  return out;
}

/**
 * Restricts `match` (a copy the caller owns: it is changed in place, so fields we do not model stay)
 * by a policy match. Returns false when that cannot be expressed, e.g. a path outside the route's.
 */
export function narrowMatch(match: RouteMatch, policyMatch: PolicyMatch): boolean {
  if (policyMatch.path) {
    const path = narrowPath(match, policyMatch.path);
    if (!path) return false;
    for (const key of ['prefix', 'path', 'safeRegex', 'pathSeparatedPrefix'] as const) delete match[key];
    Object.assign(match, path);
  }
  const headers = [...(match.headers ?? [])];
  for (const header of policyMatch.headers ?? []) {
    headers.push({
      name: header.name.toLowerCase(),
      stringMatch: header.type === 'Exact' ? { exact: header.value } : { safeRegex: { regex: header.value } },
    });
  }
  if (policyMatch.method) headers.push({ name: ':method', stringMatch: { exact: policyMatch.method } });
  for (const tag of policyMatch.tailnetDeviceTags ?? []) headers.push(deviceTagMatcher(tag));
  if (headers.length) match.headers = headers;
  return true;
}

// Decoded messages expose proto3 defaults ('' / null) through their prototype: only own fields are set.
const own = <K extends keyof RouteMatch>(match: RouteMatch, key: K): RouteMatch[K] | undefined =>
  Object.prototype.hasOwnProperty.call(match, key) ? match[key] : undefined;

function narrowPath(
  base: RouteMatch,
  path: NonNullable<PolicyMatch['path']>,
): Partial<RouteMatch> | undefined {
  const basePrefix = own(base, 'prefix') ?? own(base, 'pathSeparatedPrefix');
  const baseExact = own(base, 'path');
  if (basePrefix === undefined) {
    // An exact or regex route can only keep its own path: accept a policy path that is exactly it.
    return baseExact !== undefined && path.type === 'Exact' && path.value === baseExact
      ? { path: baseExact }
      : undefined;
  }
  // RE2 has no lookahead, so a regex can be combined only with a route that matches every path.
  if (path.type === 'RegularExpression')
    return basePrefix === '/' || basePrefix === '' ? { safeRegex: { regex: path.value } } : undefined;
  if (!path.value.startsWith(basePrefix)) return undefined;
  return path.type === 'Exact' ? { path: path.value } : { prefix: path.value };
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function deviceTagMatcher(tag: string): HeaderMatcher {
  return {
    name: deviceTagsHeader,
    stringMatch: { safeRegex: { regex: `(?:^|.*,\\s*)${escapeRegex(tag)}(?:\\s*,.*|$)` } },
  };
}

const redirectCodes: Record<number, number> = {
  301: RedirectResponseCode.MOVED_PERMANENTLY,
  302: RedirectResponseCode.FOUND,
  303: RedirectResponseCode.SEE_OTHER,
  307: RedirectResponseCode.TEMPORARY_REDIRECT,
  308: RedirectResponseCode.PERMANENT_REDIRECT,
};

/** Replaces the route's action (route, redirect and direct_response are one oneof in Envoy). */
export function applyAction(route: Route, action: PolicyAction, ctx: PolicyContext): void {
  switch (action.type) {
    case 'Deny':
      delete route.route;
      delete route.redirect;
      route.directResponse = {
        status: action.statusCode,
        ...(action.body ? { body: { inlineString: action.body } } : {}),
      };
      return;
    case 'Redirect':
      delete route.route;
      delete route.directResponse;
      route.redirect = {
        ...(action.scheme ? { schemeRedirect: action.scheme } : {}),
        ...(action.hostname ? { hostRedirect: action.hostname } : {}),
        ...(action.port ? { portRedirect: action.port } : {}),
        ...(action.path ? { pathRedirect: action.path } : {}),
        responseCode: redirectCodes[action.statusCode] ?? RedirectResponseCode.FOUND,
      };
      return;
    case 'Route': {
      delete route.redirect;
      delete route.directResponse;
      const backend = { kind: action.backend.kind, namespace: ctx.namespace, name: action.backend.name };
      const routeAction = route.route ?? {};
      delete routeAction.weightedClusters;
      routeAction.cluster = tailscaleClusterName(backend);
      if (action.rewritePrefix !== undefined) {
        delete routeAction.regexRewrite;
        routeAction.prefixRewrite = action.rewritePrefix;
      }
      route.route = routeAction;
      return;
    }
  }
}

export function applyHeaderModifiers(route: Route, rule: PolicyRule): boolean {
  let changed = false;
  if (rule.requestHeaderModifier) {
    route.requestHeadersToAdd = [
      ...(route.requestHeadersToAdd ?? []),
      ...headerOptions(rule.requestHeaderModifier),
    ];
    route.requestHeadersToRemove = [
      ...(route.requestHeadersToRemove ?? []),
      ...(rule.requestHeaderModifier.remove ?? []),
    ];
    changed = true;
  }
  if (rule.responseHeaderModifier) {
    route.responseHeadersToAdd = [
      ...(route.responseHeadersToAdd ?? []),
      ...headerOptions(rule.responseHeaderModifier),
    ];
    route.responseHeadersToRemove = [
      ...(route.responseHeadersToRemove ?? []),
      ...(rule.responseHeaderModifier.remove ?? []),
    ];
    changed = true;
  }
  for (const key of [
    'requestHeadersToAdd',
    'requestHeadersToRemove',
    'responseHeadersToAdd',
    'responseHeadersToRemove',
  ] as const) {
    if (route[key]?.length === 0) delete route[key];
  }
  return changed;
}

function headerOptions(modifier: HeaderModifier): HeaderValueOption[] {
  return [
    ...(modifier.set ?? []).map((h) => ({
      header: { key: h.name, value: h.value },
      appendAction: HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD,
    })),
    ...(modifier.add ?? []).map((h) => ({
      header: { key: h.name, value: h.value },
      appendAction: HeaderAppendAction.APPEND_IF_EXISTS_OR_ADD,
    })),
  ];
}

/** Backends that policy Route actions point at (their clusters must exist). */
export function policyRouteBackends(
  snapshot: IndexSnapshot,
): Pick<TailscaleBackend, 'kind' | 'namespace' | 'name'>[] {
  const out = new Map<string, Pick<TailscaleBackend, 'kind' | 'namespace' | 'name'>>();
  for (const policies of snapshot.policiesByTarget.values()) {
    for (const policy of policies) {
      for (const rule of policy.rules) {
        if (rule.action?.type !== 'Route') continue;
        const backend = {
          kind: rule.action.backend.kind,
          namespace: policy.namespace,
          name: rule.action.backend.name,
        };
        out.set(tailscaleClusterName(backend), backend);
      }
    }
  }
  return [...out.values()];
}
