/**
 * Conversion between objects in wire form (JSON field names, as the API server sends them) and
 * client-node's generated models (camelCase properties; its serializer reads those and silently drops
 * wire names such as `x-kubernetes-validations`). client-node's own path between the two is YAML text
 * (`loadYaml`, `dumpYaml`), which cost the worker more CPU than any activity's logic; its serializer
 * does the same conversion on plain objects.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
// client-node exports its serializer only through dumpYaml/loadYaml; the package has no exports map,
// and the version is pinned by the lockfile (client-model.test.ts checks both ways against YAML).
import { ObjectSerializer } from '@kubernetes/client-node/dist/serializer.js';
import { getSerializationType } from '@kubernetes/client-node/dist/util.js';

const modelType = (obj: { apiVersion?: string; kind?: string }) =>
  getSerializationType(obj.apiVersion, obj.kind);

/** Into client-node's model, as its API clients expect. */
export function toClientModel<T extends KubernetesObject>(wire: T): T {
  return ObjectSerializer.deserialize(JSON.parse(JSON.stringify(wire)), modelType(wire)) as T;
}

/** Out of client-node's model, into wire form (no undefined fields, timestamps as strings). */
export function fromClientModel<T extends KubernetesObject>(model: KubernetesObject): T {
  return JSON.parse(JSON.stringify(ObjectSerializer.serialize(model, modelType(model)))) as T;
}
