import { s, type Infer } from './schema';

export const group = 'gateway.tailscale.com';
export const version = 'v1alpha1';
export const apiVersion = `${group}/${version}`;
export const category = 'tailscale-gateway';
/** The finalizer on every object whose deletion needs Tailscale-side cleanup first. */
export const finalizerName = `${group}/finalizer`;

/** metav1.Condition, as every status of ours carries it. */
export const conditionSchema = s.object({
  type: s.string({ description: 'CamelCase condition type, e.g. Ready.', maxLength: 316 }),
  status: s.enum(['True', 'False', 'Unknown'] as const),
  reason: s.string({ description: 'CamelCase reason a user can act on.', minLength: 1, maxLength: 1024 }),
  message: s.string({ maxLength: 32768 }),
  lastTransitionTime: s.string({ format: 'date-time' }),
  observedGeneration: s.optional(s.integer({ minimum: 0, format: 'int64' })),
});
export type Condition = Infer<typeof conditionSchema>;

export const conditionsSchema = s.array(conditionSchema, {
  description: 'Standard conditions; Ready summarizes the others.',
  'x-kubernetes-list-type': 'map',
  'x-kubernetes-list-map-keys': ['type'],
  maxItems: 16,
});

export const observedGenerationSchema = s.integer({
  description: 'The metadata.generation this status was computed from.',
  minimum: 0,
  format: 'int64',
});

export const tagSchema = s.string({
  description: 'A Tailscale ACL tag, e.g. tag:k8s.',
  pattern: '^tag:[a-zA-Z][a-zA-Z0-9-]*$',
  maxLength: 128,
});

export const dnsLabelPattern = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';

/** Kubernetes object metadata as the code reads it (the API server owns its schema). */
export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  deletionTimestamp?: string;
  creationTimestamp?: string;
  ownerReferences?: {
    apiVersion: string;
    kind: string;
    name: string;
    uid: string;
    controller?: boolean;
    blockOwnerDeletion?: boolean;
  }[];
}

export interface KubeObject<Spec, Status> {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec: Spec;
  status?: Status;
}

export const vipServiceNamePattern = '^svc:[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$';
export const vipServicePortPattern = '^(tcp:[0-9]{1,5}(-[0-9]{1,5})?|do-not-validate)$';

/** metav1.LabelSelector. */
export const labelSelectorSchema = s.object({
  matchLabels: s.optional(s.map(s.string({ maxLength: 63 }), { maxProperties: 64 })),
  matchExpressions: s.optional(
    s.array(
      s.object({
        key: s.string({ minLength: 1, maxLength: 317 }),
        operator: s.enum(['In', 'NotIn', 'Exists', 'DoesNotExist'] as const),
        values: s.optional(s.array(s.string({ maxLength: 63 }), { maxItems: 64 })),
      }),
      { maxItems: 32 },
    ),
  ),
});
export type LabelSelector = Infer<typeof labelSelectorSchema>;

export const tailnetNameSchema = s.string({
  description: 'Name of the TailscaleTailnet (cluster-scoped) whose credentials this object uses.',
  pattern: dnsLabelPattern,
  maxLength: 63,
});
