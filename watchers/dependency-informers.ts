import { createHash } from 'node:crypto';
import { CoreV1Api, type KubeConfig, type V1Secret } from '@kubernetes/client-node';
import type { KubeObject } from '../api/common';
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
 * selectors). Each change calls `onChange(source, namespace)` so dependents are re-evaluated; the
 * signaler drops the ones whose related versions did not move.
 */
export function startDependencyInformers(opts: {
  kc: KubeConfig;
  sources: Set<RelatedSource>;
  namespaces: (string | undefined)[];
  resyncIntervalMs: number;
  logger: Logger;
  onChange(source: RelatedSource, namespace: string): void;
}): DependencyInformers {
  const secretVersions = new Map<string, string>();
  const endpoints = new Map<string, Map<string, KubeObject<unknown, unknown>>>();
  const informers: DependencyInformers['informers'] = [];
  const core = opts.kc.makeApiClient(CoreV1Api);

  for (const namespace of opts.namespaces) {
    if (opts.sources.has('secrets')) {
      const informer = new Informer<V1Secret>({
        name: namespace ? `secrets/${namespace}` : 'secrets',
        kc: opts.kc,
        path: namespace ? `/api/v1/namespaces/${namespace}/secrets` : '/api/v1/secrets',
        list: async ({ limit, continue: cont }) =>
          namespace
            ? await core.listNamespacedSecret({ namespace, limit, _continue: cont })
            : await core.listSecretForAllNamespaces({ limit, _continue: cont }),
        resyncIntervalMs: opts.resyncIntervalMs,
        logger: opts.logger,
        // Only a digest is kept: Secret data never sits in the watchers' memory longer than an event.
        onUpsert: (s) => {
          const key = `${s.metadata?.namespace}/${s.metadata?.name}`;
          const version = secretVersionOf(s);
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
    if (opts.sources.has('endpoints')) {
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
      endpointsIn: (namespace) => [...(endpoints.get(namespace)?.values() ?? [])],
      tailnetState: (name) => tailnetStates.get(name),
    },
  };
}

/**
 * What a Secret's dependents see of it: a digest of its data, without tailscaled's own state keys
 * (`_current-profile`, `profile-…`, `_machinekey`…). A proxy rewrites its profile in its state Secret
 * whenever its advertised services change, i.e. once per TailscaleServices added to its pool; keyed on
 * resourceVersion, each of those re-ran the pool's reconcile. Device, key and credential keys
 * (`device_id`, `reissue_authkey`, `client_secret`…) still count.
 */
export function secretVersionOf(secret: V1Secret): string {
  const data = Object.entries(secret.data ?? {})
    .filter(([k]) => !k.startsWith('_') && !k.startsWith('profile-'))
    .sort(([a], [b]) => a.localeCompare(b));
  return createHash('sha256').update(JSON.stringify(data)).digest('hex').slice(0, 16);
}
