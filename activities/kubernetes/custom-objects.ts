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

  async list<T extends KubeObject<unknown, unknown>>(
    resource: ResourceRef,
    opts: { namespace?: string; labelSelector?: string } = {},
  ): Promise<T[]> {
    const { group, version, plural } = resource;
    const page = (
      opts.namespace
        ? await this.api.listNamespacedCustomObject({
            group,
            version,
            plural,
            namespace: opts.namespace,
            labelSelector: opts.labelSelector,
          })
        : await this.api.listClusterCustomObject({
            group,
            version,
            plural,
            labelSelector: opts.labelSelector,
          })
    ) as { items: T[] };
    return page.items;
  }

  async create<T extends KubeObject<unknown, unknown>>(resource: ResourceRef, body: T): Promise<T> {
    const { group, version, plural } = resource;
    const namespace = body.metadata.namespace;
    const obj: unknown = namespace
      ? await this.api.createNamespacedCustomObject({ group, version, plural, namespace, body })
      : await this.api.createClusterCustomObject({ group, version, plural, body });
    return obj as T;
  }

  async delete(resource: ResourceRef, key: ObjectKey & { uid?: string }): Promise<void> {
    const { group, version, plural } = resource;
    const body = key.uid ? { preconditions: { uid: key.uid } } : undefined;
    if (key.namespace) {
      await this.api.deleteNamespacedCustomObject({
        group,
        version,
        plural,
        namespace: key.namespace,
        name: key.name,
        body,
      });
    } else {
      await this.api.deleteClusterCustomObject({ group, version, plural, name: key.name, body });
    }
  }

  /** RFC 6902 JSON patch (client-node's default patch content type). */
  async jsonPatch(resource: ResourceRef, key: ObjectKey, patch: object[]): Promise<void> {
    const { group, version, plural } = resource;
    if (key.namespace) {
      await this.api.patchNamespacedCustomObject({
        group,
        version,
        plural,
        namespace: key.namespace,
        name: key.name,
        body: patch,
      });
    } else {
      await this.api.patchClusterCustomObject({ group, version, plural, name: key.name, body: patch });
    }
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
