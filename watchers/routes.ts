/**
 * Route discovery: caches of the Gateway API objects our kinds depend on (HTTPRoute, GRPCRoute,
 * TCPRoute, TLSRoute and UDPRoute; Gateways) and of the TailscaleServices and TailscaleRoutePolicies
 * other objects refer to. These are user objects, so the informers are scoped by namespace
 * (WATCH_NAMESPACES) but never by the operator's label selector. A change that matters (identity,
 * generation, labels, readiness; not a status write by another controller) calls `onChange`, and the
 * watchers re-evaluate the TailscaleGateways and TailscaleRoutePolicies that depend on it.
 */
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import type { KubeObject } from '../api/common';
import { resourceOf, type ResourceRef } from '../api/crd';
import { tailscaleRoutePolicyCrd, type TailscaleRoutePolicy } from '../api/v1alpha1/tailscale-route-policy';
import { tailscaleServicesCrd, type TailscaleServices } from '../api/v1alpha1/tailscale-services';
import { parentRefNames } from '../activities/gateway-api/attachment';
import {
  GatewayApiDiscovery,
  gatewayApiResources,
  type GatewayApiKind,
} from '../activities/gateway-api/resources';
import {
  gatewayApiGroup,
  routeKinds,
  type RouteKind,
  type RouteObject,
} from '../activities/gateway-api/types';
import type { Logger } from '../runtime/logger';
import { customResourceInformer } from './custom-resource-informer';
import { Informer, type InformerOptions, type ListPage, type Watchable } from './informer';

export type GatewayApiRelatedSource = 'routes' | 'gateways' | 'services' | 'routePolicies';

export interface CachedRoute {
  kind: RouteKind;
  route: RouteObject;
}

/** Read-only views of these caches, for WatchedKind.related. */
export interface GatewayApiLookups {
  /** Routes of any kind with a parentRef naming the Gateway (listeners and allowedRoutes not checked). */
  routesReferencing(gatewayNamespace: string, gatewayName: string): CachedRoute[];
  /** A Gateway or route by kind; undefined when absent (or its kind is not watched). */
  gatewayApiObject(kind: string, namespace: string, name: string): KubeObject<unknown, unknown> | undefined;
  tailscaleServices(namespace: string, name: string): TailscaleServices | undefined;
  routePoliciesIn(namespace: string): TailscaleRoutePolicy[];
}

type AnyObject = KubeObject<unknown, unknown>;

/** Objects keyed `<kind>/<ns>/<name>`, each with the part of it dependents care about. */
class RelevantCache<T extends AnyObject> {
  readonly objects = new Map<string, T>();
  private readonly relevant = new Map<string, string>();

  constructor(private readonly relevance: (obj: T) => unknown) {}

  /** Stores `obj`; true when what dependents care about changed. */
  put(key: string, obj: T): boolean {
    this.objects.set(key, obj);
    const next = JSON.stringify(this.relevance(obj));
    if (this.relevant.get(key) === next) return false;
    this.relevant.set(key, next);
    return true;
  }

  remove(key: string): boolean {
    this.relevant.delete(key);
    return this.objects.delete(key);
  }
}

const keyOf = (kind: string, namespace: string | undefined, name: string | undefined) =>
  `${kind}/${namespace ?? ''}/${name ?? ''}`;

const identity = (o: AnyObject) => [
  o.metadata.uid,
  o.metadata.generation,
  o.metadata.labels ?? {},
  o.metadata.deletionTimestamp ?? null,
];

export function startGatewayApiInformers(opts: {
  kc: KubeConfig;
  sources: ReadonlySet<string>;
  namespaces: (string | undefined)[];
  resyncIntervalMs: number;
  logger: Logger;
  onChange(source: GatewayApiRelatedSource, namespace: string): void;
}): { informers: Informer<Watchable>[]; lookups: GatewayApiLookups } {
  const informers: Informer<Watchable>[] = [];
  const discovery = new GatewayApiDiscovery(opts.kc);
  const api = opts.kc.makeApiClient(CustomObjectsApi);
  const log = opts.logger.child({ component: 'route-discovery' });

  const routes = new RelevantCache<RouteObject>(identity);
  const gateways = new RelevantCache<AnyObject>((g) => [
    ...identity(g),
    (g.spec as { listeners?: unknown }).listeners,
  ]);
  const services = new RelevantCache<TailscaleServices>((s) => [
    ...identity(s),
    s.status?.conditions?.find((c) => c.type === 'Ready')?.status,
    s.status?.vipService?.name,
  ]);
  const policies = new RelevantCache<TailscaleRoutePolicy>((p) => [
    ...identity(p),
    p.metadata.creationTimestamp,
  ]);
  // Gateway `<ns>/<name>` → keys of the routes whose parentRefs name it.
  const byParent = new Map<string, Set<string>>();
  const routeKind = new Map<string, RouteKind>();

  const indexRoute = (key: string, route: RouteObject | undefined, add: boolean) => {
    for (const ref of route?.spec.parentRefs ?? []) {
      if ((ref.group ?? gatewayApiGroup) !== gatewayApiGroup || (ref.kind ?? 'Gateway') !== 'Gateway')
        continue;
      const parent = `${ref.namespace ?? route?.metadata.namespace ?? ''}/${ref.name}`;
      const set = byParent.get(parent) ?? new Set<string>();
      if (add) set.add(key);
      else set.delete(key);
      if (set.size) byParent.set(parent, set);
      else byParent.delete(parent);
    }
  };

  /** An informer over a Gateway API kind at whatever version the API server serves. */
  const gatewayApiInformer = (
    kind: GatewayApiKind,
    namespace: string | undefined,
    on: {
      upsert: (obj: AnyObject) => void;
      remove: (obj: AnyObject) => void;
    },
  ) => {
    const { plural, versions } = gatewayApiResources[kind];
    const pathFor = (version: string) =>
      namespace
        ? `/apis/${gatewayApiGroup}/${version}/namespaces/${namespace}/${plural}`
        : `/apis/${gatewayApiGroup}/${version}/${plural}`;
    let absentLogged = false;
    const options: InformerOptions<AnyObject> = {
      name: namespace ? `${plural}/${namespace}` : plural,
      kc: opts.kc,
      path: pathFor(versions[0] ?? 'v1'),
      // Discovery runs on every (re)list, so a CRD installed or upgraded later is picked up; the watch
      // that follows reads `options.path`, which is why it is updated here.
      list: async ({ limit, continue: cont }) => {
        const served = await discovery.resolve(kind);
        if (!served) {
          if (!absentLogged) {
            log.info(`${kind} is not served by the API server; its watch fails until the CRD is installed`, {
              tried: versions,
            });
            absentLogged = true;
          }
          return { items: [], metadata: {} };
        }
        absentLogged = false;
        options.path = pathFor(served.version);
        const common = { group: gatewayApiGroup, version: served.version, plural, limit, _continue: cont };
        const page: unknown = namespace
          ? await api.listNamespacedCustomObject({ ...common, namespace })
          : await api.listClusterCustomObject(common);
        return page as ListPage<AnyObject>;
      },
      resyncIntervalMs: opts.resyncIntervalMs,
      logger: opts.logger,
      keepObjects: false,
      onUpsert: on.upsert,
      onDelete: on.remove,
    };
    return new Informer<AnyObject>(options);
  };

  const ourInformer = <T extends AnyObject>(
    resource: ResourceRef,
    namespace: string | undefined,
    cache: RelevantCache<T>,
    source: GatewayApiRelatedSource,
  ) =>
    customResourceInformer<T>({
      kc: opts.kc,
      resource,
      namespace,
      resyncIntervalMs: opts.resyncIntervalMs,
      logger: opts.logger,
      onUpsert: (o) => {
        if (cache.put(keyOf(resource.kind, o.metadata.namespace, o.metadata.name), o))
          opts.onChange(source, o.metadata.namespace ?? '');
      },
      onDelete: (o) => {
        if (cache.remove(keyOf(resource.kind, o.metadata.namespace, o.metadata.name)))
          opts.onChange(source, o.metadata.namespace ?? '');
      },
    });

  for (const namespace of opts.namespaces) {
    if (opts.sources.has('routes')) {
      for (const kind of routeKinds) {
        informers.push(
          gatewayApiInformer(kind, namespace, {
            upsert: (o) => {
              const key = keyOf(kind, o.metadata.namespace, o.metadata.name);
              indexRoute(key, routes.objects.get(key), false);
              const changed = routes.put(key, o as RouteObject);
              routeKind.set(key, kind);
              indexRoute(key, o as RouteObject, true);
              if (changed) opts.onChange('routes', o.metadata.namespace ?? '');
            },
            remove: (o) => {
              const key = keyOf(kind, o.metadata.namespace, o.metadata.name);
              indexRoute(key, routes.objects.get(key), false);
              routeKind.delete(key);
              if (routes.remove(key)) opts.onChange('routes', o.metadata.namespace ?? '');
            },
          }),
        );
      }
    }
    if (opts.sources.has('gateways')) {
      informers.push(
        gatewayApiInformer('Gateway', namespace, {
          upsert: (o) => {
            if (gateways.put(keyOf('Gateway', o.metadata.namespace, o.metadata.name), o))
              opts.onChange('gateways', o.metadata.namespace ?? '');
          },
          remove: (o) => {
            if (gateways.remove(keyOf('Gateway', o.metadata.namespace, o.metadata.name)))
              opts.onChange('gateways', o.metadata.namespace ?? '');
          },
        }),
      );
    }
    if (opts.sources.has('services')) {
      informers.push(ourInformer(resourceOf(tailscaleServicesCrd), namespace, services, 'services'));
    }
    if (opts.sources.has('routePolicies')) {
      informers.push(ourInformer(resourceOf(tailscaleRoutePolicyCrd), namespace, policies, 'routePolicies'));
    }
  }
  for (const informer of informers) informer.start();

  return {
    informers,
    lookups: {
      routesReferencing: (gatewayNamespace, gatewayName) => {
        const gateway = { namespace: gatewayNamespace, name: gatewayName };
        return [...(byParent.get(`${gatewayNamespace}/${gatewayName}`) ?? [])].flatMap((key) => {
          const route = routes.objects.get(key);
          const kind = routeKind.get(key);
          if (!route || !kind) return [];
          const names = (route.spec.parentRefs ?? []).some((ref) =>
            parentRefNames(ref, route.metadata.namespace ?? '', gateway),
          );
          return names ? [{ kind, route }] : [];
        });
      },
      gatewayApiObject: (kind, namespace, name) =>
        kind === 'Gateway'
          ? gateways.objects.get(keyOf(kind, namespace, name))
          : routes.objects.get(keyOf(kind, namespace, name)),
      tailscaleServices: (namespace, name) =>
        services.objects.get(keyOf('TailscaleServices', namespace, name)),
      routePoliciesIn: (namespace) =>
        [...policies.objects.values()].filter((p) => (p.metadata.namespace ?? '') === namespace),
    },
  };
}
