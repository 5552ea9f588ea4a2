/**
 * Gateway API route attachment, as a Gateway's controller decides it: a route is attached to a
 * Gateway through a listener when one of its parentRefs names the Gateway (and, if given, the
 * listener's sectionName and port), and that listener allows the route's kind and namespace
 * (`allowedRoutes`). Hostname intersection is not checked: it decides which requests reach a route,
 * not whether its backends must exist. Pure functions.
 */
import type { LabelSelector } from '../../api/common';
import { selectorMatches } from '../../api/label-selector';
import {
  gatewayApiGroup,
  routeKinds,
  type GatewayObject,
  type Listener,
  type ParentReference,
  type RouteKind,
  type RouteObject,
} from './types';

export interface GatewayKey {
  namespace: string;
  name: string;
}

/** Whether `ref` (a parentRef of a route in `routeNamespace`) names the Gateway `gateway`. */
export function parentRefNames(ref: ParentReference, routeNamespace: string, gateway: GatewayKey): boolean {
  return (
    (ref.group ?? gatewayApiGroup) === gatewayApiGroup &&
    (ref.kind ?? 'Gateway') === 'Gateway' &&
    ref.name === gateway.name &&
    (ref.namespace ?? routeNamespace) === gateway.namespace
  );
}

/** Route kinds a listener accepts: `allowedRoutes.kinds` when set, else the defaults of its protocol. */
export function listenerRouteKinds(listener: Listener): RouteKind[] {
  const explicit = listener.allowedRoutes?.kinds;
  if (explicit?.length) {
    return explicit
      .filter((k) => (k.group ?? gatewayApiGroup) === gatewayApiGroup)
      .map((k) => k.kind)
      .filter((k): k is RouteKind => (routeKinds as readonly string[]).includes(k));
  }
  switch (listener.protocol) {
    case 'HTTP':
    case 'HTTPS':
      return ['HTTPRoute', 'GRPCRoute'];
    case 'TLS':
      return ['TLSRoute'];
    case 'TCP':
      return ['TCPRoute'];
    case 'UDP':
      return ['UDPRoute'];
    default:
      return [];
  }
}

/** `allowedRoutes.namespaces` (default `Same`); a Selector needs the route namespace's labels. */
export function listenerAllowsNamespace(
  listener: Listener,
  gatewayNamespace: string,
  routeNamespace: string,
  namespaceLabels: Record<string, string> | undefined,
): boolean {
  const from = listener.allowedRoutes?.namespaces?.from ?? 'Same';
  switch (from) {
    case 'All':
      return true;
    case 'Same':
      return routeNamespace === gatewayNamespace;
    case 'Selector': {
      const selector = listener.allowedRoutes?.namespaces?.selector;
      return Boolean(selector && namespaceLabels && selectorMatches(selector, namespaceLabels));
    }
    default:
      return false;
  }
}

/** The Gateway's listeners `route` attaches through (empty: not attached). */
export function attachedListeners(
  gateway: GatewayObject,
  route: RouteObject,
  kind: RouteKind,
  namespaceLabels: Record<string, string> | undefined,
): Listener[] {
  const key = { namespace: gateway.metadata.namespace ?? '', name: gateway.metadata.name };
  const routeNamespace = route.metadata.namespace ?? '';
  const listeners = gateway.spec.listeners ?? [];
  const attached = new Set<Listener>();
  for (const ref of route.spec.parentRefs ?? []) {
    if (!parentRefNames(ref, routeNamespace, key)) continue;
    for (const listener of listeners) {
      if (ref.sectionName !== undefined && ref.sectionName !== listener.name) continue;
      if (ref.port !== undefined && ref.port !== listener.port) continue;
      if (!listenerRouteKinds(listener).includes(kind)) continue;
      if (!listenerAllowsNamespace(listener, key.namespace, routeNamespace, namespaceLabels)) continue;
      attached.add(listener);
    }
  }
  return listeners.filter((l) => attached.has(l));
}

/** Where routes that may attach to `gateway` can live, so only those namespaces are listed. */
export interface RouteScope {
  kinds: RouteKind[];
  /** Some listener admits routes from every namespace. */
  allNamespaces: boolean;
  namespaces: string[];
  /** Namespaces matching any of these selectors are admitted too. */
  namespaceSelectors: LabelSelector[];
}

export function routeScopeOf(gateway: GatewayObject): RouteScope {
  const namespace = gateway.metadata.namespace ?? '';
  const listeners = gateway.spec.listeners ?? [];
  const kinds = routeKinds.filter((k) => listeners.some((l) => listenerRouteKinds(l).includes(k)));
  const froms = listeners.map((l) => l.allowedRoutes?.namespaces ?? {});
  return {
    kinds,
    allNamespaces: froms.some((f) => f.from === 'All'),
    namespaces: froms.some((f) => (f.from ?? 'Same') === 'Same') ? [namespace] : [],
    namespaceSelectors: froms.flatMap((f) => (f.from === 'Selector' && f.selector ? [f.selector] : [])),
  };
}
