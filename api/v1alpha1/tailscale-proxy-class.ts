import { labelSelectorSchema, tagSchema } from '../common';
import { defineCrd, type ObjectOfCrd } from '../crd';
import { s, type Infer } from '../schema';

/**
 * Everything about a proxy pod that can harm the node or the cluster (image, privileges, placement),
 * owned by the cluster admin: namespaced objects only pick a class by name, the way Tailscale's own
 * operator keeps pod overrides in its cluster-scoped ProxyClass.
 */
export const tailscaleProxyClassSpecSchema = s.object({
  default: s.optional(
    s.boolean({
      description:
        'The class of proxies whose object names none. Without namespaceSelector every namespace may use it.',
      default: false,
    }),
  ),
  namespaceSelector: s.optional({
    ...labelSelectorSchema,
    json: {
      ...labelSelectorSchema.json,
      description:
        'Namespaces whose TailscaleEndpoints and TailscaleProxyGroups may use this class (by their labels). Unset: none, unless default is true.',
    },
  }),
  tags: s.optional(
    s.array(tagSchema, {
      description:
        'The only tags proxies of this class may request (spec.tags must be a subset). Unset: any tag the tailnet OAuth client owns.',
      maxItems: 64,
      'x-kubernetes-list-type': 'set',
    }),
  ),
  networking: s.optional(
    s.enum(['userspace', 'kernel'] as const, {
      description:
        'userspace (default): tailscaled in userspace, an unprivileged pod that passes Pod Security "restricted". kernel: a privileged pod that manages routes and netfilter.',
      default: 'userspace',
    }),
  ),
  image: s.optional(
    s.string({ description: 'Tailscale proxy image.', default: 'tailscale/tailscale:stable', minLength: 1 }),
  ),
  resources: s.optional(s.preserved({ description: 'core/v1 ResourceRequirements of the proxy container.' })),
  securityContext: s.optional(
    s.preserved({
      description:
        'core/v1 SecurityContext of the proxy container, replacing the default one (kernel networking keeps privileged).',
    }),
  ),
  podSecurityContext: s.optional(
    s.preserved({ description: 'core/v1 PodSecurityContext, replacing the default one.' }),
  ),
  nodeSelector: s.optional(s.map(s.string(), { maxProperties: 32 })),
  tolerations: s.optional(s.array(s.preserved({ description: 'core/v1 Toleration.' }), { maxItems: 32 })),
  affinity: s.optional(s.preserved({ description: 'core/v1 Affinity.' })),
  labels: s.optional(
    s.map(s.string({ maxLength: 63 }), { description: 'Extra labels of the proxy pods.', maxProperties: 32 }),
  ),
  annotations: s.optional(
    s.map(s.string(), { description: 'Extra annotations of the proxy pods.', maxProperties: 32 }),
  ),
});

export const tailscaleProxyClassStatusSchema = s.object({});

export type TailscaleProxyClassSpec = Infer<typeof tailscaleProxyClassSpecSchema>;

export const tailscaleProxyClassCrd = defineCrd({
  kind: 'TailscaleProxyClass',
  plural: 'tailscaleproxyclasses',
  singular: 'tailscaleproxyclass',
  shortNames: ['tspc'],
  scope: 'Cluster',
  description:
    'Admin-owned settings of proxy pods (image, privileges, placement) and which namespaces and tags may use them.',
  spec: tailscaleProxyClassSpecSchema,
  status: tailscaleProxyClassStatusSchema,
  printerColumns: [
    { name: 'Default', type: 'boolean', jsonPath: '.spec.default' },
    { name: 'Networking', type: 'string', jsonPath: '.spec.networking' },
    { name: 'Image', type: 'string', jsonPath: '.spec.image' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
});

export type TailscaleProxyClass = ObjectOfCrd<typeof tailscaleProxyClassCrd>;
