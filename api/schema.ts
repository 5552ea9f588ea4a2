/**
 * A small builder for Kubernetes structural OpenAPI v3 schemas whose TypeScript types are inferred
 * from the same definition: each CRD is written once, and both `deploy/crds/*.yaml` (generated) and
 * the types the code uses come from it, so they cannot drift apart.
 */
export interface JsonSchema {
  type?: 'object' | 'array' | 'string' | 'integer' | 'boolean' | 'number';
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  additionalProperties?: JsonSchema;
  enum?: (string | number)[];
  pattern?: string;
  format?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  maxProperties?: number;
  default?: unknown;
  'x-kubernetes-validations'?: { rule: string; message: string; fieldPath?: string; reason?: string }[];
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
}

/** `T` is the TypeScript type a value matching this schema has. */
export interface Schema<T> {
  readonly json: JsonSchema;
  readonly isOptional: boolean;
  /** Phantom field carrying the inferred type; never set at run time. */
  readonly __type?: T;
}

export type Infer<S> = S extends Schema<infer T> ? T : never;

type Props = Record<string, Schema<unknown>>;
type OptionalKeys<P extends Props> = { [K in keyof P]: P[K]['isOptional'] extends true ? K : never }[keyof P];
type RequiredKeys<P extends Props> = Exclude<keyof P, OptionalKeys<P>>;
type Simplify<T> = { [K in keyof T]: T[K] } & {};
export type ObjectOf<P extends Props> = Simplify<
  { [K in RequiredKeys<P>]: Infer<P[K]> } & { [K in OptionalKeys<P>]?: Infer<P[K]> }
>;

type Common = Pick<JsonSchema, 'description' | 'default' | 'x-kubernetes-validations'>;

function make<T>(json: JsonSchema, isOptional = false): Schema<T> {
  return { json: stripUndefined(json), isOptional };
}

function stripUndefined(json: JsonSchema): JsonSchema {
  return Object.fromEntries(Object.entries(json).filter(([, v]) => v !== undefined));
}

export const s = {
  string<T extends string = string>(
    opts: Common & Pick<JsonSchema, 'pattern' | 'format' | 'minLength' | 'maxLength'> = {},
  ) {
    return make<T>({ type: 'string', ...opts });
  },
  enum<const T extends readonly string[]>(values: T, opts: Common = {}) {
    return make<T[number]>({ type: 'string', enum: [...values], ...opts });
  },
  integer(opts: Common & Pick<JsonSchema, 'minimum' | 'maximum' | 'format'> = {}) {
    return make<number>({ type: 'integer', ...opts });
  },
  boolean(opts: Common = {}) {
    return make<boolean>({ type: 'boolean', ...opts });
  },
  array<I>(
    items: Schema<I>,
    opts: Common &
      Pick<
        JsonSchema,
        'minItems' | 'maxItems' | 'x-kubernetes-list-type' | 'x-kubernetes-list-map-keys'
      > = {},
  ) {
    return make<I[]>({ type: 'array', items: items.json, ...opts });
  },
  object<P extends Props>(props: P, opts: Common & Pick<JsonSchema, 'maxProperties'> = {}) {
    const required = Object.entries(props)
      .filter(([, schema]) => !schema.isOptional)
      .map(([name]) => name);
    const properties = Object.fromEntries(Object.entries(props).map(([name, schema]) => [name, schema.json]));
    return make<ObjectOf<P>>({
      type: 'object',
      properties,
      required: required.length ? required : undefined,
      ...opts,
    });
  },
  /** A port given by number or by name, like a Service's `targetPort`. */
  intOrString(opts: Pick<JsonSchema, 'description' | 'x-kubernetes-validations'> = {}) {
    return make<number | string>({ 'x-kubernetes-int-or-string': true, ...opts });
  },
  /** A string-keyed map (labels, annotations, resource quantities). */
  map<V>(values: Schema<V>, opts: Common & Pick<JsonSchema, 'maxProperties'> = {}) {
    return make<Record<string, V>>({ type: 'object', additionalProperties: values.json, ...opts });
  },
  /** Opaque JSON the API server keeps as-is (e.g. a Kubernetes affinity we pass straight through). */
  preserved<T = Record<string, unknown>>(opts: Common = {}) {
    return make<T>({ type: 'object', 'x-kubernetes-preserve-unknown-fields': true, ...opts });
  },
  optional<T>(schema: Schema<T>): Schema<T> & { readonly isOptional: true } {
    return { json: schema.json, isOptional: true };
  },
};
