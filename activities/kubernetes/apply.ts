import {
  KubernetesObjectApi,
  PatchStrategy,
  type KubeConfig,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { fromClientModel, toClientModel } from './client-model';
import { isConflict, isNotFound } from './errors';
import { isSubsetOf } from './subset';

/** An object as the API server sends it over the wire (JSON field names, plain values). */
export interface WireObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    creationTimestamp?: string;
    labels?: Record<string, string>;
    ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }[];
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
}

/**
 * Generic read / server-side apply / delete for core kinds through client-node's typed models. Objects
 * go in and come out in wire form; the conversion to and from the generated models (which read
 * camelCase properties and drop anything else) happens only here.
 */
export class KubeObjects {
  private readonly api: KubernetesObjectApi;

  constructor(
    kc: KubeConfig,
    private readonly fieldManager: string,
  ) {
    this.api = KubernetesObjectApi.makeApiClient(kc);
  }

  async read(ref: ObjectRef): Promise<WireObject | undefined> {
    try {
      const model = await this.api.read({
        apiVersion: ref.apiVersion,
        kind: ref.kind,
        metadata: { name: ref.name, namespace: ref.namespace },
      });
      return toWire(model, ref);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async list(ref: Omit<ObjectRef, 'name'>, labelSelector: string): Promise<WireObject[]> {
    const list = await this.api.list(
      ref.apiVersion,
      ref.kind,
      ref.namespace,
      undefined,
      undefined,
      undefined,
      undefined,
      labelSelector,
    );
    return list.items.map((item) => toWire(item, ref));
  }

  /**
   * Applies `desired` unless `live` already holds every field of it, so an unchanged object costs no
   * write. A `resourceVersion` makes the apply conditional (409 when the object moved on).
   */
  async applyIfChanged(
    desired: WireObject,
    live: WireObject | undefined,
    opts: { resourceVersion?: string } = {},
  ): Promise<{ changed: boolean }> {
    if (live && isSubsetOf(stripForCompare(desired), live)) return { changed: false };
    const body: WireObject = opts.resourceVersion
      ? { ...desired, metadata: { ...desired.metadata, resourceVersion: opts.resourceVersion } }
      : desired;
    await this.api.patch(
      toModel(body),
      undefined,
      undefined,
      this.fieldManager,
      true,
      PatchStrategy.ServerSideApply,
    );
    return { changed: true };
  }

  /**
   * Creates the object unless one of its name exists (false then). Unlike an apply, two writers racing
   * to create it cannot both succeed, so a caller can follow up with writes conditional on the
   * resourceVersion it reads back.
   */
  async createIfAbsent(desired: WireObject): Promise<boolean> {
    try {
      await this.api.create(toModel(desired), undefined, undefined, this.fieldManager);
      return true;
    } catch (err) {
      if (isConflict(err)) return false;
      throw err;
    }
  }

  /**
   * True when it existed. With `resourceVersion`, only the object at that resourceVersion is deleted: a
   * later write makes the delete fail with 409 Conflict, so the caller reads what it missed.
   */
  async deleteIfExists(ref: ObjectRef, opts: { resourceVersion?: string } = {}): Promise<boolean> {
    try {
      await this.api.delete(
        {
          apiVersion: ref.apiVersion,
          kind: ref.kind,
          metadata: { name: ref.name, namespace: ref.namespace },
        },
        undefined,
        undefined,
        undefined,
        undefined,
        undefined,
        opts.resourceVersion ? { preconditions: { resourceVersion: opts.resourceVersion } } : undefined,
      );
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }
}

function stripForCompare(desired: WireObject): WireObject {
  const { resourceVersion: _rv, ...metadata } = desired.metadata;
  return { ...desired, metadata: metadata };
}

const toModel = (obj: WireObject): KubernetesObject => toClientModel(obj as KubernetesObject);

/** List items carry no apiVersion/kind, so `ref` supplies them. */
function toWire(model: KubernetesObject, ref: Pick<ObjectRef, 'apiVersion' | 'kind'>): WireObject {
  return fromClientModel<WireObject & KubernetesObject>({
    ...model,
    apiVersion: model.apiVersion ?? ref.apiVersion,
    kind: model.kind ?? ref.kind,
  });
}

export const refOf = (obj: WireObject): ObjectRef => ({
  apiVersion: obj.apiVersion,
  kind: obj.kind,
  namespace: obj.metadata.namespace ?? '',
  name: obj.metadata.name,
});
