import { CoreV1Api } from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import { isReady } from '../api/conditions';
import { resourceOf, type ResourceRef } from '../api/crd';
import { selectorToQuery } from '../api/label-selector';
import { tailscaleEndpointsCrd, type TailscaleEndpoints } from '../api/v1alpha1/tailscale-endpoints';
import type { TailscaleGatewaySpec } from '../api/v1alpha1/tailscale-gateway';
import { tailscaleServicesCrd, type TailscaleServices } from '../api/v1alpha1/tailscale-services';
import type { ActivityContext } from './context';
import { attachedListeners, routeScopeOf } from './gateway-api/attachment';
import { referenceGranted, tailscaleBackendRefs, type TailscaleBackendRef } from './gateway-api/backends';
import { planPublications, type PublishPlan } from './gateway-api/publish';
import { GatewayApiDiscovery, type ServedResource } from './gateway-api/resources';
import {
  routeKeyOf,
  type GatewayObject,
  type ReferenceGrantObject,
  type RouteKind,
  type RouteObject,
} from './gateway-api/types';
import { isNotFound, toKubeActivityFailure } from './kubernetes/errors';
import { defaultVipServiceName } from '../api/vip-service-name';

export type BackendProblemReason =
  'BackendNotFound' | 'RefNotPermitted' | 'NamespaceNotWatched' | 'BackendNotOnTailnet' | 'BackendNotReady';

export interface ResolvedBackend {
  kind: TailscaleBackendRef['kind'];
  namespace: string;
  name: string;
  /** Where the route names it, e.g. spec.rules[0].backendRefs[1]. */
  field: string;
  vipService?: string;
  ready: boolean;
  problem?: { reason: BackendProblemReason; message: string };
}

export interface ResolvedRoute {
  kind: RouteKind;
  namespace: string;
  name: string;
  listenerPorts: number[];
  backends: ResolvedBackend[];
}

export interface GatewayResolution {
  gateway: { namespace: string; name: string; found: boolean; message?: string };
  /** Routes attached to the Gateway, sorted by kind, namespace, name. */
  routes: ResolvedRoute[];
  plan: PublishPlan;
  /**
   * The operator may not read what it needs (RBAC). Then routes are unknown, not absent: the workflow
   * reports it and changes no VIP service.
   */
  forbidden?: string;
}

export interface ResolveGatewayInput {
  /** The TailscaleGateway. */
  namespace: string;
  name: string;
  spec: TailscaleGatewaySpec;
}

const backendResources: Record<TailscaleBackendRef['kind'], ResourceRef> = {
  TailscaleServices: resourceOf(tailscaleServicesCrd),
  TailscaleEndpoints: resourceOf(tailscaleEndpointsCrd),
};

type Backend = TailscaleServices | TailscaleEndpoints;

/**
 * Reads what a TailscaleGateway binds: its Gateway, the routes attached to it (by Gateway API's
 * attachment rules), the Tailscale backends those routes reference, and what `spec.publish` makes of
 * them. Read-only and idempotent; the workflow decides what to change.
 */
export function createGatewayActivities(ctx: ActivityContext) {
  const discovery = new GatewayApiDiscovery(ctx.kube);
  const core = ctx.kube.makeApiClient(CoreV1Api);

  const asRef = (served: ServedResource): ResourceRef => ({
    group: served.group,
    version: served.version,
    plural: served.plural,
    kind: served.kind,
    namespaced: true,
  });

  const watched = ctx.watchNamespaces;
  const isWatched = (namespace: string) => !watched.length || watched.includes(namespace);
  const notWatched = (namespace: string) =>
    `namespace ${namespace} is not one this operator watches (watch.namespaces: ${watched.join(', ')})`;

  async function readGateway(namespace: string, name: string): Promise<GatewayObject | string> {
    if (!isWatched(namespace)) return `Gateway ${namespace}/${name}: ${notWatched(namespace)}`;
    const served = await discovery.resolve('Gateway');
    if (!served) return 'the Gateway API (gateway.networking.k8s.io Gateway) is not installed';
    try {
      return await ctx.objects.get<GatewayObject>(asRef(served), { namespace, name });
    } catch (err) {
      if (isNotFound(err)) return `Gateway ${namespace}/${name} does not exist`;
      throw toKubeActivityFailure(err, `reading Gateway ${namespace}/${name}`);
    }
  }

  /** Labels of every namespace a Selector listener could admit (only read when one exists). */
  async function namespaceLabels(gateway: GatewayObject): Promise<Map<string, Record<string, string>>> {
    const scope = routeScopeOf(gateway);
    const labels = new Map<string, Record<string, string>>();
    if (!scope.namespaceSelectors.length) return labels;
    try {
      for (const ns of (await core.listNamespace()).items) {
        labels.set(ns.metadata?.name ?? '', ns.metadata?.labels ?? {});
      }
    } catch (err) {
      throw toKubeActivityFailure(err, 'listing namespaces for allowedRoutes selectors');
    }
    return labels;
  }

  /** Namespaces whose routes may attach, limited to the watched ones: routes elsewhere are not ours. */
  async function candidateNamespaces(gateway: GatewayObject): Promise<string[] | 'all'> {
    const scope = routeScopeOf(gateway);
    if (scope.allNamespaces) return watched.length ? [...watched].sort() : 'all';
    const names = new Set(scope.namespaces);
    for (const selector of scope.namespaceSelectors) {
      try {
        const list = await core.listNamespace({ labelSelector: selectorToQuery(selector) });
        for (const ns of list.items) names.add(ns.metadata?.name ?? '');
      } catch (err) {
        throw toKubeActivityFailure(err, 'listing namespaces for allowedRoutes selectors');
      }
    }
    return [...names].filter((n) => n && isWatched(n)).sort();
  }

  async function listRoutes(kind: RouteKind, namespaces: string[] | 'all'): Promise<RouteObject[]> {
    const served = await discovery.resolve(kind);
    if (!served) return [];
    const resource = asRef(served);
    try {
      if (namespaces === 'all') return await ctx.objects.list<RouteObject>(resource);
      const lists = await Promise.all(
        namespaces.map((namespace) => ctx.objects.list<RouteObject>(resource, { namespace })),
      );
      return lists.flat();
    } catch (err) {
      if (isNotFound(err)) {
        discovery.invalidate();
        return [];
      }
      throw toKubeActivityFailure(err, `listing ${kind}s`);
    }
  }

  async function getBackend(kind: TailscaleBackendRef['kind'], namespace: string, name: string) {
    try {
      return await ctx.objects.get<Backend>(backendResources[kind], { namespace, name });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw toKubeActivityFailure(err, `reading ${kind} ${namespace}/${name}`);
    }
  }

  async function referenceGrants(namespace: string): Promise<ReferenceGrantObject[]> {
    const served = await discovery.resolve('ReferenceGrant');
    if (!served) return [];
    try {
      return await ctx.objects.list<ReferenceGrantObject>(asRef(served), { namespace });
    } catch (err) {
      throw toKubeActivityFailure(err, `listing ReferenceGrants in ${namespace}`);
    }
  }

  return {
    async resolveGatewayRoutes(input: ResolveGatewayInput): Promise<GatewayResolution> {
      try {
        return await resolve(input);
      } catch (err) {
        if (!(err instanceof ApplicationFailure) || err.type !== 'Kubernetes403') throw err;
        return {
          gateway: {
            namespace: input.spec.gatewayRef.namespace ?? input.namespace,
            name: input.spec.gatewayRef.name,
            found: true,
          },
          routes: [],
          plan: { publications: [], problems: [], byRoute: {} },
          forbidden: err.message,
        };
      }
    },
  };

  async function resolve(input: ResolveGatewayInput): Promise<GatewayResolution> {
    const gwNamespace = input.spec.gatewayRef.namespace ?? input.namespace;
    const gwName = input.spec.gatewayRef.name;
    const tailnets = input.spec.tailnets ?? [];
    const gateway = await readGateway(gwNamespace, gwName);
    const labelsOf = new Map<string, Record<string, string>>();
    const plan = (routes: ResolvedRoute[]) =>
      planPublications({
        gateway: { namespace: input.namespace, name: input.name },
        publish: input.spec.publish ?? [],
        tailnets,
        routes: routes.map((r) => ({
          ...r,
          labels: labelsOf.get(routeKeyOf(r.kind, r.namespace, r.name)) ?? {},
        })),
      });
    if (typeof gateway === 'string') {
      return {
        gateway: { namespace: gwNamespace, name: gwName, found: false, message: gateway },
        routes: [],
        plan: plan([]),
      };
    }

    const [namespaces, nsLabels] = await Promise.all([
      candidateNamespaces(gateway),
      namespaceLabels(gateway),
    ]);
    const attached: { kind: RouteKind; route: RouteObject; ports: number[] }[] = [];
    for (const kind of routeScopeOf(gateway).kinds) {
      for (const route of await listRoutes(kind, namespaces)) {
        if (route.metadata.deletionTimestamp) continue;
        const listeners = attachedListeners(
          gateway,
          route,
          kind,
          nsLabels.get(route.metadata.namespace ?? ''),
        );
        if (!listeners.length) continue;
        attached.push({ kind, route, ports: listeners.map((l) => l.port) });
        labelsOf.set(
          routeKeyOf(kind, route.metadata.namespace ?? '', route.metadata.name),
          route.metadata.labels ?? {},
        );
      }
    }

    // Each backend and each namespace's grants are read once, however many routes share them.
    const backends = new Map<string, Promise<Backend | undefined>>();
    const grants = new Map<string, Promise<ReferenceGrantObject[]>>();
    const once = <T>(cache: Map<string, Promise<T>>, key: string, load: () => Promise<T>) => {
      const hit = cache.get(key);
      if (hit) return hit;
      const loaded = load();
      cache.set(key, loaded);
      return loaded;
    };

    const routes: ResolvedRoute[] = [];
    for (const { kind, route, ports } of attached) {
      const routeNamespace = route.metadata.namespace ?? '';
      const where = `${kind} ${routeNamespace}/${route.metadata.name}`;
      const resolved: ResolvedBackend[] = [];
      for (const ref of tailscaleBackendRefs(route)) {
        const backend: ResolvedBackend = {
          kind: ref.kind,
          namespace: ref.namespace,
          name: ref.name,
          field: ref.field,
          ready: false,
        };
        const target = `${ref.kind} ${ref.namespace}/${ref.name}`;
        if (!isWatched(ref.namespace)) {
          backend.problem = {
            reason: 'NamespaceNotWatched',
            message: `${where} ${ref.field}: ${target}: ${notWatched(ref.namespace)}`,
          };
          resolved.push(backend);
          continue;
        }
        if (ref.namespace !== routeNamespace) {
          const granted = referenceGranted(
            await once(grants, ref.namespace, () => referenceGrants(ref.namespace)),
            { kind, namespace: routeNamespace },
            { kind: ref.kind, name: ref.name },
          );
          if (!granted) {
            backend.problem = {
              reason: 'RefNotPermitted',
              message: `${where} ${ref.field}: ${target} is in another namespace and no ReferenceGrant there allows ${kind}s from ${routeNamespace}`,
            };
            resolved.push(backend);
            continue;
          }
        }
        const obj = await once(backends, `${ref.kind}/${ref.namespace}/${ref.name}`, () =>
          getBackend(ref.kind, ref.namespace, ref.name),
        );
        if (!obj) {
          backend.problem = {
            reason: 'BackendNotFound',
            message: `${where} ${ref.field}: ${target} does not exist`,
          };
        } else {
          if (ref.kind === 'TailscaleServices') {
            const svc = obj as TailscaleServices;
            backend.vipService =
              svc.status?.vipService?.name ??
              svc.spec.vipService.name ??
              defaultVipServiceName(svc.metadata.name);
          }
          const ready = obj.status?.conditions?.find((c) => c.type === 'Ready');
          if (tailnets.length && !tailnets.includes(obj.spec.tailnet)) {
            backend.problem = {
              reason: 'BackendNotOnTailnet',
              message: `${where} ${ref.field}: ${target} is on tailnet ${obj.spec.tailnet}, not one of spec.tailnets (${tailnets.join(', ')})`,
            };
          } else if (!isReady(obj.status?.conditions)) {
            backend.problem = {
              reason: 'BackendNotReady',
              message: `${where} ${ref.field}: ${target} is not Ready${ready ? ` (${ready.reason}: ${ready.message})` : ' yet'}`,
            };
          } else {
            backend.ready = true;
          }
        }
        resolved.push(backend);
      }
      routes.push({
        kind,
        namespace: routeNamespace,
        name: route.metadata.name,
        listenerPorts: [...new Set(ports)].sort((a, b) => a - b),
        backends: resolved,
      });
    }
    const kindOrder = (k: RouteKind) =>
      ['HTTPRoute', 'GRPCRoute', 'TCPRoute', 'TLSRoute', 'UDPRoute'].indexOf(k);
    routes.sort(
      (a, b) =>
        kindOrder(a.kind) - kindOrder(b.kind) ||
        a.namespace.localeCompare(b.namespace) ||
        a.name.localeCompare(b.name),
    );
    return { gateway: { namespace: gwNamespace, name: gwName, found: true }, routes, plan: plan(routes) };
  }
}
