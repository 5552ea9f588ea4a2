import { conditionsSchema, dnsLabelPattern, observedGenerationSchema, tailnetNameSchema } from '../common';
import { defineCrd, type ObjectOfCrd } from '../crd';
import { s, type Infer } from '../schema';
import {
  deviceStatusSchema,
  proxyClassNameSchema,
  proxyPodSchema,
  proxyTagsSchema,
  statefulSetStatusSchema,
} from './proxy';

export const endpointPortSchema = s.object({
  name: s.optional(s.string({ pattern: dnsLabelPattern, maxLength: 15 })),
  port: s.integer({ minimum: 1, maximum: 65535 }),
  protocol: s.optional(s.enum(['TCP', 'UDP'] as const, { default: 'TCP' })),
});
export type EndpointPort = Infer<typeof endpointPortSchema>;

export const tailscaleEndpointsSpecSchema = s.object({
  tailnet: tailnetNameSchema,
  tags: proxyTagsSchema,
  connectionType: s.optional(
    s.enum(['ingress', 'egress', 'bidirectional'] as const, {
      description: 'ingress: tailnet → cluster; egress: cluster → tailnet; bidirectional: both.',
      default: 'bidirectional',
    }),
  ),
  proxy: s.optional(proxyPodSchema),
  proxyClassName: s.optional(proxyClassNameSchema),
  proxyGroup: s.optional(
    s.string({
      description:
        'Use the devices of this TailscaleProxyGroup (same namespace) instead of a StatefulSet of its own.',
      pattern: dnsLabelPattern,
      maxLength: 63,
    }),
  ),
  ports: s.optional(
    s.array(endpointPortSchema, {
      description: 'Ports the proxies serve; each gets a Service port.',
      maxItems: 32,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['port'],
    }),
  ),
});

export const tailscaleEndpointsStatusSchema = s.object({
  observedGeneration: s.optional(observedGenerationSchema),
  conditions: s.optional(conditionsSchema),
  devices: s.optional(s.array(deviceStatusSchema, { maxItems: 64 })),
  statefulSets: s.optional(s.array(statefulSetStatusSchema, { maxItems: 4 })),
});

export type TailscaleEndpointsSpec = Infer<typeof tailscaleEndpointsSpecSchema>;
export type TailscaleEndpointsStatus = Infer<typeof tailscaleEndpointsStatusSchema>;

export const tailscaleEndpointsCrd = defineCrd({
  kind: 'TailscaleEndpoints',
  plural: 'tailscaleendpoints',
  singular: 'tailscaleendpoints',
  shortNames: ['tsep'],
  scope: 'Namespaced',
  description:
    'Tailnet machines: a StatefulSet of Tailscale proxies (or a shared TailscaleProxyGroup) and their devices.',
  spec: tailscaleEndpointsSpecSchema,
  status: tailscaleEndpointsStatusSchema,
  specValidations: [
    {
      rule: 'self.tailnet == oldSelf.tailnet',
      message: 'tailnet is immutable: create a new TailscaleEndpoints instead',
    },
    {
      rule: '!(has(self.proxy) && has(self.proxyGroup))',
      message: 'set either proxy (own StatefulSet) or proxyGroup (shared pool), not both',
    },
    {
      rule: '!(has(self.proxyClassName) && has(self.proxyGroup))',
      message: "proxyClassName applies to proxies of its own; with proxyGroup the pool's class applies",
    },
  ],
  printerColumns: [
    { name: 'Tailnet', type: 'string', jsonPath: '.spec.tailnet' },
    { name: 'Type', type: 'string', jsonPath: '.spec.connectionType' },
    { name: 'Devices', type: 'integer', jsonPath: '.status.statefulSets[0].readyReplicas' },
    { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
    { name: 'Reason', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].reason' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
});

export type TailscaleEndpoints = ObjectOfCrd<typeof tailscaleEndpointsCrd>;
