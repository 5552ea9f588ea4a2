/**
 * Which attached routes a TailscaleGateway publishes as VIP services (`spec.publish`), and with what
 * VIP service spec. Pure: the workflow turns the result into consumer changes for `vip/<tailnet>/<svc>`.
 */
import { vipServiceNamePattern } from '../../api/common';
import { selectorIsEmpty, selectorMatches } from '../../api/label-selector';
import type { TailscaleGatewayPublish } from '../../api/v1alpha1/tailscale-gateway';
import { routeKeyOf, type RouteKind } from './types';
import { defaultVipServiceName } from '../../api/vip-service-name';

export interface PublishableRoute {
  kind: RouteKind;
  namespace: string;
  name: string;
  labels: Record<string, string>;
  /** Ports of the Gateway listeners the route attaches through. */
  listenerPorts: number[];
}

export interface Publication {
  tailnet: string;
  serviceName: string;
  spec: { ports: string[]; tags: string[]; comment?: string };
  /** Route keys (`<kind>/<ns>/<name>`) published as this service, sorted. */
  routes: string[];
  /**
   * What the VIP service registry records for this gateway: `gateway/<ns>/<name>/<kind>/<ns>/<route>`
   * of the first route. The VIP workflow keeps one entry per consumer workflow, so several routes of one
   * gateway publishing the same service share that entry (status lists them all).
   */
  consumerRoute: string;
  /** The TailscaleProxyGroup (the gateway's namespace) that hosts it, from spec.publish[].proxyGroup. */
  proxyGroup?: string;
}

export interface PublishProblem {
  reason: 'InvalidPublish' | 'PublishedRouteNotAttached' | 'PublishConflict';
  message: string;
}

export interface PublishPlan {
  publications: Publication[];
  problems: PublishProblem[];
  /** Route key → the service it is published as. */
  byRoute: Record<string, { tailnet: string; serviceName: string }>;
}

const serviceNameRe = new RegExp(vipServiceNamePattern);

export function planPublications(input: {
  gateway: { namespace: string; name: string };
  publish: readonly TailscaleGatewayPublish[];
  tailnets: readonly string[];
  routes: readonly PublishableRoute[];
}): PublishPlan {
  const { gateway } = input;
  const problems: PublishProblem[] = [];
  const byKey = new Map<string, Publication>();
  const byRoute: PublishPlan['byRoute'] = {};

  input.publish.forEach((entry, i) => {
    const field = `spec.publish[${i}]`;
    const tailnet = entry.tailnet ?? (input.tailnets.length === 1 ? input.tailnets[0] : undefined);
    if (!tailnet) {
      problems.push({
        reason: 'InvalidPublish',
        message: `${field}.tailnet is required unless spec.tailnets names exactly one tailnet`,
      });
      return;
    }
    for (const route of selectRoutes(entry, field, input, problems)) {
      const routeKey = routeKeyOf(route.kind, route.namespace, route.name);
      const serviceName = entry.vipService.name ?? defaultVipServiceName(route.name);
      if (byRoute[routeKey]) {
        problems.push({
          reason: 'PublishConflict',
          message: `${field}: ${route.kind} ${route.namespace}/${route.name} is already published as ${byRoute[routeKey].serviceName}`,
        });
        continue;
      }
      if (!serviceNameRe.test(serviceName)) {
        problems.push({
          reason: 'InvalidPublish',
          message: `${field}.vipService.name is unset and ${route.kind} ${route.namespace}/${route.name} does not make a valid svc:<dns-label>: set ${field}.vipService.name`,
        });
        continue;
      }
      const ports = entry.vipService.ports ?? defaultPorts(route);
      if (!ports.length) {
        problems.push({
          reason: 'InvalidPublish',
          message:
            route.kind === 'UDPRoute'
              ? `${field}.vipService.ports: VIP services carry TCP only; set the ports of ${route.kind} ${route.namespace}/${route.name} explicitly`
              : `${field}.vipService.ports: ${route.kind} ${route.namespace}/${route.name} attaches through no listener with a port; set the ports`,
        });
        continue;
      }
      const key = `${tailnet}/${serviceName}`;
      const spec = { ports, tags: [...entry.vipService.tags], comment: entry.vipService.comment };
      const existing = byKey.get(key);
      if (existing) {
        if (!sameTagsAndComment(existing.spec, spec)) {
          problems.push({
            reason: 'PublishConflict',
            message: `${field}: ${serviceName} is also published with other tags or comment by ${existing.routes.join(', ')}; the first spec is used`,
          });
        }
        if (entry.proxyGroup && existing.proxyGroup && entry.proxyGroup !== existing.proxyGroup) {
          problems.push({
            reason: 'PublishConflict',
            message: `${field}.proxyGroup: ${serviceName} is also hosted on TailscaleProxyGroup ${existing.proxyGroup} by ${existing.routes.join(', ')}; that one is used`,
          });
        }
        existing.proxyGroup ??= entry.proxyGroup;
        existing.spec.ports = sortPorts([...existing.spec.ports, ...ports]);
        existing.routes = [...existing.routes, routeKey].sort();
      } else {
        byKey.set(key, {
          tailnet,
          serviceName,
          spec,
          routes: [routeKey],
          consumerRoute: '',
          ...(entry.proxyGroup ? { proxyGroup: entry.proxyGroup } : {}),
        });
      }
      byRoute[routeKey] = { tailnet, serviceName };
    }
  });

  const publications = [...byKey.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([, p]) => ({ ...p, consumerRoute: `gateway/${gateway.namespace}/${gateway.name}/${p.routes[0]}` }));
  return { publications, problems, byRoute };
}

function selectRoutes(
  entry: TailscaleGatewayPublish,
  field: string,
  input: { gateway: { namespace: string; name: string }; routes: readonly PublishableRoute[] },
  problems: PublishProblem[],
): PublishableRoute[] {
  if (entry.route) {
    const kind = entry.route.kind ?? 'HTTPRoute';
    const namespace = entry.route.namespace ?? input.gateway.namespace;
    const route = input.routes.find(
      (r) => r.kind === kind && r.namespace === namespace && r.name === entry.route?.name,
    );
    if (!route) {
      problems.push({
        reason: 'PublishedRouteNotAttached',
        message: `${field}.route: ${kind} ${namespace}/${entry.route.name} is not attached to the Gateway (missing, or its parentRefs or the listener's allowedRoutes do not admit it)`,
      });
      return [];
    }
    return [route];
  }
  const selector = entry.routeSelector ?? {};
  if (selectorIsEmpty(selector)) {
    problems.push({
      reason: 'InvalidPublish',
      message: `${field}.routeSelector is empty: it must name the labels of the routes to publish`,
    });
    return [];
  }
  return input.routes.filter((r) => selectorMatches(selector, r.labels));
}

function defaultPorts(route: PublishableRoute): string[] {
  if (route.kind === 'UDPRoute') return [];
  return sortPorts(route.listenerPorts.map((p) => `tcp:${p}`));
}

/** Unique, in numeric order (tcp:80 before tcp:443), so equal sets always compare equal. */
function sortPorts(ports: readonly string[]): string[] {
  const first = (p: string) => Number(/(\d+)/.exec(p)?.[1] ?? 0);
  return [...new Set(ports)].sort((a, b) => first(a) - first(b) || a.localeCompare(b));
}

function sameTagsAndComment(a: Publication['spec'], b: Publication['spec']): boolean {
  return JSON.stringify([[...a.tags].sort(), a.comment]) === JSON.stringify([[...b.tags].sort(), b.comment]);
}
