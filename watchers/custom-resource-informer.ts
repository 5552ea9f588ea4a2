import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import type { KubeObject } from '../api/common';
import type { ResourceRef } from '../api/crd';
import type { Logger } from '../runtime/logger';
import { Informer, type InformerOptions, type ListPage } from './informer';

export interface CustomResourceInformerOptions<T extends KubeObject<unknown, unknown>> extends Pick<
  InformerOptions<T>,
  'onUpsert' | 'onDelete' | 'onSynced' | 'resyncIntervalMs' | 'idleTimeoutMs'
> {
  kc: KubeConfig;
  resource: ResourceRef;
  /** Watch one namespace; unset watches every namespace (and is required for cluster-scoped kinds). */
  namespace?: string;
  labelSelector?: string;
  logger: Logger;
}

/** An Informer over one of our CRDs, cluster-wide or in one namespace. */
export function customResourceInformer<T extends KubeObject<unknown, unknown>>(
  opts: CustomResourceInformerOptions<T>,
): Informer<T> {
  const api = opts.kc.makeApiClient(CustomObjectsApi);
  const { group, version, plural } = opts.resource;
  const namespace = opts.resource.namespaced ? opts.namespace : undefined;
  const path = namespace
    ? `/apis/${group}/${version}/namespaces/${namespace}/${plural}`
    : `/apis/${group}/${version}/${plural}`;
  const list = async ({ limit, continue: cont }: { limit: number; continue?: string }) => {
    const common = { group, version, plural, labelSelector: opts.labelSelector, limit, _continue: cont };
    const page: unknown = namespace
      ? await api.listNamespacedCustomObject({ ...common, namespace })
      : await api.listClusterCustomObject(common);
    return page as ListPage<T>;
  };
  return new Informer<T>({
    ...opts,
    name: namespace ? `${plural}/${namespace}` : plural,
    path,
    list,
  });
}
