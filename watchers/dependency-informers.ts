import { createHash } from 'node:crypto';
import {
  AppsV1Api,
  CoreV1Api,
  type KubeConfig,
  type V1Service,
  type V1StatefulSet,
} from '@kubernetes/client-node';
import type { KubeObject } from '../api/common';
import { managedByValue, proxyLabelKeys } from '../activities/specs/proxy-group';
import { resourceOf } from '../api/crd';
import { tailscaleEndpointsCrd } from '../api/v1alpha1/tailscale-endpoints';
import { tailscaleTailnetCrd, type TailscaleTailnet } from '../api/v1alpha1/tailscale-tailnet';
import type { Logger } from '../runtime/logger';
import { customResourceInformer } from './custom-resource-informer';
import { Informer, type Watchable } from './informer';
import { startGatewayApiInformers } from './routes';
import type { RelatedLookups, RelatedSource } from './watched-kind';

export interface DependencyInformers {
  lookups: RelatedLookups;
  informers: Informer<Watchable>[];
}

/**
 * Caches of the objects other kinds depend on (Secrets referenced by tailnets, endpoints picked by
 * selectors). Secrets are listed and watched as metadata only: their version for dependents is the
 * resourceVersion, and no Secret data ever reaches this process. Each change calls `onChange(source, namespace)` so dependents are re-evaluated; the
 * signaler drops the ones whose related versions did not move.
 */
export function startDependencyInformers(opts: {
  kc: KubeConfig;
  sources: Set<RelatedSource>;
  namespaces: (string | undefined)[];
  /** The proxies' Secrets are here: watched too when the namespaces above are a list. */
  operatorNamespace: string;
  resyncIntervalMs: number;
  logger: Logger;
  onChange(source: RelatedSource, namespace: string): void;
}): DependencyInformers {
  const secretVersions = new Map<string, string>();
  const backendServiceStates = new Map<string, string>();
  const endpoints = new Map<string, Map<string, KubeObject<unknown, unknown>>>();
  const informers: DependencyInformers['informers'] = [];
  const core = opts.kc.makeApiClient(CoreV1Api);

  const secretNamespaces =
    opts.namespaces.includes(undefined) || opts.namespaces.includes(opts.operatorNamespace)
      ? opts.namespaces
      : [...opts.namespaces, opts.operatorNamespace];
  for (const namespace of secretNamespaces) {
    if (opts.sources.has('secrets')) {
      const informer = new Informer<Watchable>({
        name: namespace ? `secrets/${namespace}` : 'secrets',
        kc: opts.kc,
        path: namespace ? `/api/v1/namespaces/${namespace}/secrets` : '/api/v1/secrets',
        list: async ({ limit, continue: cont, options }) =>
          namespace
            ? await core.listNamespacedSecret({ namespace, limit, _continue: cont }, options)
            : await core.listSecretForAllNamespaces({ limit, _continue: cont }, options),
        // Secret data never reaches this process: the API server sends metadata only.
        metadataOnly: true,
        resyncIntervalMs: opts.resyncIntervalMs,
        logger: opts.logger,
        onUpsert: (s) => {
          const key = `${s.metadata?.namespace}/${s.metadata?.name}`;
          const version = s.metadata?.resourceVersion ?? '';
          if (secretVersions.get(key) === version) return;
          secretVersions.set(key, version);
          opts.onChange('secrets', s.metadata?.namespace ?? '');
        },
        onDelete: (s) => {
          secretVersions.delete(`${s.metadata?.namespace}/${s.metadata?.name}`);
          opts.onChange('secrets', s.metadata?.namespace ?? '');
        },
        keepObjects: false,
      });
      informer.start();
      informers.push(informer);
    }
    if (opts.sources.has('backendServices') && opts.namespaces.includes(namespace)) {
      // Kubernetes Services that TailscaleServices forward to: created, deleted, or a port or cluster IP
      // changed re-runs the TailscaleServices of the namespace (only those naming it see a new version).
      const informer = new Informer<V1Service>({
        name: namespace ? `services/${namespace}` : 'services',
        kc: opts.kc,
        path: namespace ? `/api/v1/namespaces/${namespace}/services` : '/api/v1/services',
        list: async ({ limit, continue: cont }) =>
          namespace
            ? await core.listNamespacedService({ namespace, limit, _continue: cont })
            : await core.listServiceForAllNamespaces({ limit, _continue: cont }),
        resyncIntervalMs: opts.resyncIntervalMs,
        logger: opts.logger,
        onUpsert: (s) => {
          const key = `${s.metadata?.namespace}/${s.metadata?.name}`;
          const state = backendServiceStateOf(s);
          if (backendServiceStates.get(key) === state) return;
          backendServiceStates.set(key, state);
          opts.onChange('backendServices', s.metadata?.namespace ?? '');
        },
        onDelete: (s) => {
          backendServiceStates.delete(`${s.metadata?.namespace}/${s.metadata?.name}`);
          opts.onChange('backendServices', s.metadata?.namespace ?? '');
        },
        keepObjects: false,
      });
      informer.start();
      informers.push(informer);
    }
    if (opts.sources.has('endpoints') && opts.namespaces.includes(namespace)) {
      const put = (e: KubeObject<unknown, unknown>, present: boolean) => {
        const ns = e.metadata.namespace ?? '';
        const inNs = endpoints.get(ns) ?? new Map<string, KubeObject<unknown, unknown>>();
        endpoints.set(ns, inNs);
        if (present) inNs.set(e.metadata.name, e);
        else inNs.delete(e.metadata.name);
        opts.onChange('endpoints', ns);
      };
      const informer = customResourceInformer<KubeObject<unknown, unknown>>({
        kc: opts.kc,
        resource: resourceOf(tailscaleEndpointsCrd),
        namespace,
        resyncIntervalMs: opts.resyncIntervalMs,
        logger: opts.logger,
        onUpsert: (e) => put(e, true),
        onDelete: (e) => put(e, false),
      });
      informer.start();
      informers.push(informer);
    }
  }
  const statefulSetStates = new Map<string, string>();
  if (opts.sources.has('proxyStatefulSets')) {
    informers.push(startProxyStatefulSetInformer(opts, statefulSetStates));
  }
  // Tailnets are cluster-scoped and referenced by name: one turning Ready (or appearing) re-runs the
  // objects waiting for it instead of leaving them TailnetNotReady until their recheck timer.
  const tailnetStates = new Map<string, string>();
  if (opts.sources.has('tailnets')) {
    const informer = customResourceInformer<TailscaleTailnet>({
      kc: opts.kc,
      resource: resourceOf(tailscaleTailnetCrd),
      resyncIntervalMs: opts.resyncIntervalMs,
      logger: opts.logger,
      onUpsert: (t) => {
        const ready = t.status?.conditions?.find((c) => c.type === 'Ready');
        const state = JSON.stringify([t.metadata.uid, ready?.status, ready?.reason, t.status?.dnsSuffix]);
        if (tailnetStates.get(t.metadata.name) === state) return;
        tailnetStates.set(t.metadata.name, state);
        opts.onChange('tailnets', '');
      },
      onDelete: (t) => {
        tailnetStates.delete(t.metadata.name);
        opts.onChange('tailnets', '');
      },
    });
    informer.start();
    informers.push(informer);
  }
  const gatewayApi = startGatewayApiInformers(opts);
  informers.push(...gatewayApi.informers);
  return {
    informers,
    lookups: {
      ...gatewayApi.lookups,
      secretVersion: (namespace, name) => secretVersions.get(`${namespace}/${name}`),
      operatorNamespace: opts.operatorNamespace,
      endpointsIn: (namespace) => [...(endpoints.get(namespace)?.values() ?? [])],
      tailnetState: (name) => tailnetStates.get(name),
      backendServiceState: (namespace, name) => backendServiceStates.get(`${namespace}/${name}`),
      statefulSetState: (namespace, name) => statefulSetStates.get(`${namespace}/${name}`),
    },
  };
}

/**
 * The proxies' StatefulSets (operator namespace, ours by label): a replica turning ready or going away
 * changes the parent's status (its StatefulSet's ready count, its devices), so it re-runs the parent's
 * reconcile instead of leaving that to its timer, which doubles up to 30 min once the proxies are up.
 * Each change re-evaluates the objects of the parent's namespace (its label).
 */
function startProxyStatefulSetInformer(
  opts: Parameters<typeof startDependencyInformers>[0],
  states: Map<string, string>,
): Informer<V1StatefulSet> {
  const apps = opts.kc.makeApiClient(AppsV1Api);
  const namespace = opts.operatorNamespace;
  const labelSelector = `${proxyLabelKeys.managedBy}=${managedByValue}`;
  const parentNamespace = (sts: V1StatefulSet) =>
    sts.metadata?.labels?.[proxyLabelKeys.parentNamespace] ?? '';
  const informer = new Informer<V1StatefulSet>({
    name: `statefulsets/${namespace}`,
    kc: opts.kc,
    path: `/apis/apps/v1/namespaces/${namespace}/statefulsets`,
    labelSelector,
    list: async ({ limit, continue: cont }) =>
      await apps.listNamespacedStatefulSet({ namespace, labelSelector, limit, _continue: cont }),
    resyncIntervalMs: opts.resyncIntervalMs,
    logger: opts.logger,
    onUpsert: (sts) => {
      const key = `${namespace}/${sts.metadata?.name}`;
      const state = statefulSetStateOf(sts);
      if (states.get(key) === state) return;
      states.set(key, state);
      opts.onChange('proxyStatefulSets', parentNamespace(sts));
    },
    onDelete: (sts) => {
      states.delete(`${namespace}/${sts.metadata?.name}`);
      opts.onChange('proxyStatefulSets', parentNamespace(sts));
    },
    keepObjects: false,
  });
  informer.start();
  return informer;
}

/** What a proxy parent's status shows of its StatefulSet: identity, desired and ready replicas. */
export const statefulSetStateOf = (sts: V1StatefulSet): string =>
  JSON.stringify([sts.metadata?.uid, sts.spec?.replicas ?? 0, sts.status?.readyReplicas ?? 0]);

/** What a serve config is built from: identity, cluster IP and ports (not status, labels or endpoints). */
export function backendServiceStateOf(service: V1Service): string {
  const facts = [
    service.metadata?.uid,
    service.spec?.clusterIP,
    (service.spec?.ports ?? []).map((p) => [p.name, p.port]),
  ];
  return createHash('sha256').update(JSON.stringify(facts)).digest('hex').slice(0, 16);
}
