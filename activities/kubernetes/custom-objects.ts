import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import type { ResourceRef } from '../../api/crd';
import type { KubeObject } from '../../api/common';

export interface ObjectKey {
  namespace?: string;
  name: string;
}

/** get/replaceStatus for any of our kinds, namespaced or cluster-scoped, through one small surface. */
export class CustomObjects {
  private readonly api: CustomObjectsApi;

  constructor(kc: KubeConfig) {
    this.api = kc.makeApiClient(CustomObjectsApi);
  }

  async get<T extends KubeObject<unknown, unknown>>(resource: ResourceRef, key: ObjectKey): Promise<T> {
    const { group, version, plural } = resource;
    const obj: unknown = key.namespace
      ? await this.api.getNamespacedCustomObject({
          group,
          version,
          plural,
          namespace: key.namespace,
          name: key.name,
        })
      : await this.api.getClusterCustomObject({ group, version, plural, name: key.name });
    return obj as T;
  }

  async replaceStatus<T extends KubeObject<unknown, unknown>>(resource: ResourceRef, body: T): Promise<T> {
    const { group, version, plural } = resource;
    const { name, namespace } = body.metadata;
    const obj: unknown = namespace
      ? await this.api.replaceNamespacedCustomObjectStatus({ group, version, plural, namespace, name, body })
      : await this.api.replaceClusterCustomObjectStatus({ group, version, plural, name, body });
    return obj as T;
  }
}
