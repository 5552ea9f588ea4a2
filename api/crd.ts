import { apiVersion, category, group, version, type KubeObject } from './common';
import type { JsonSchema, Schema } from './schema';

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'boolean' | 'date' | 'number';
  jsonPath: string;
  description?: string;
  priority?: number;
}

export interface CrdDefinition<Spec, Status> {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  scope: 'Namespaced' | 'Cluster';
  description: string;
  spec: Schema<Spec>;
  status: Schema<Status>;
  printerColumns: PrinterColumn[];
  /** CEL rules that span spec fields (x-kubernetes-validations on spec). */
  specValidations?: JsonSchema['x-kubernetes-validations'];
}

export type ObjectOfCrd<D> =
  D extends CrdDefinition<infer Spec, infer Status> ? KubeObject<Spec, Status> : never;

/** Where the client reaches objects of this kind. */
export interface ResourceRef {
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
}

export function resourceOf(def: CrdDefinition<unknown, unknown>): ResourceRef {
  return { group, version, plural: def.plural, kind: def.kind, namespaced: def.scope === 'Namespaced' };
}

export function defineCrd<Spec, Status>(def: CrdDefinition<Spec, Status>): CrdDefinition<Spec, Status> {
  return def;
}

/** The apiextensions.k8s.io/v1 CustomResourceDefinition for a definition. */
export function crdManifest(def: CrdDefinition<unknown, unknown>) {
  const spec: JsonSchema = { ...def.spec.json };
  if (def.specValidations?.length) spec['x-kubernetes-validations'] = def.specValidations;
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${def.plural}.${group}`,
      labels: { 'app.kubernetes.io/part-of': 'tailscale-gateway-operator' },
    },
    spec: {
      group,
      names: {
        kind: def.kind,
        listKind: `${def.kind}List`,
        plural: def.plural,
        singular: def.singular,
        shortNames: def.shortNames,
        categories: [category],
      },
      scope: def.scope,
      versions: [
        {
          name: version,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: def.printerColumns,
          schema: {
            openAPIV3Schema: {
              description: def.description,
              type: 'object',
              required: ['spec'],
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec,
                status: def.status.json,
              },
            },
          },
        },
      ],
    },
  };
}

export { apiVersion };
