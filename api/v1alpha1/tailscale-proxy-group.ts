import { conditionsSchema, observedGenerationSchema, tailnetNameSchema } from '../common';
import { defineCrd, type ObjectOfCrd } from '../crd';
import { s, type Infer } from '../schema';
import {
  deviceStatusSchema,
  proxyClassNameSchema,
  proxyPodSchema,
  proxyTagsSchema,
  statefulSetStatusSchema,
} from './proxy';

export const tailscaleProxyGroupSpecSchema = s.object({
  tailnet: tailnetNameSchema,
  tags: proxyTagsSchema,
  type: s.enum(['ingress', 'egress'] as const, { description: 'Direction of traffic through the pool.' }),
  proxy: s.optional(proxyPodSchema),
  proxyClassName: s.optional(proxyClassNameSchema),
});

export const tailscaleProxyGroupStatusSchema = s.object({
  observedGeneration: s.optional(observedGenerationSchema),
  conditions: s.optional(conditionsSchema),
  devices: s.optional(s.array(deviceStatusSchema, { maxItems: 64 })),
  statefulSets: s.optional(s.array(statefulSetStatusSchema, { maxItems: 1 })),
});

export type TailscaleProxyGroupSpec = Infer<typeof tailscaleProxyGroupSpecSchema>;
export type TailscaleProxyGroupStatus = Infer<typeof tailscaleProxyGroupStatusSchema>;

export const tailscaleProxyGroupCrd = defineCrd({
  kind: 'TailscaleProxyGroup',
  plural: 'tailscaleproxygroups',
  singular: 'tailscaleproxygroup',
  shortNames: ['tspg'],
  scope: 'Namespaced',
  description: 'A shared, highly available pool of Tailscale proxies that endpoints and gateways can use.',
  spec: tailscaleProxyGroupSpecSchema,
  status: tailscaleProxyGroupStatusSchema,
  specValidations: [
    {
      rule: 'self.tailnet == oldSelf.tailnet',
      message: 'tailnet is immutable: create a new TailscaleProxyGroup instead',
    },
    {
      rule: 'self.type == oldSelf.type',
      message: 'type is immutable: create a new TailscaleProxyGroup instead',
    },
  ],
  printerColumns: [
    { name: 'Tailnet', type: 'string', jsonPath: '.spec.tailnet' },
    { name: 'Type', type: 'string', jsonPath: '.spec.type' },
    { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
    { name: 'Reason', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].reason' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
});

export type TailscaleProxyGroup = ObjectOfCrd<typeof tailscaleProxyGroupCrd>;
