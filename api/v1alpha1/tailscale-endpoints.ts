import {
  conditionsSchema,
  dnsLabelPattern,
  observedGenerationSchema,
  tailnetNameSchema,
  vipServiceNamePattern,
} from '../common';
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

export const tailnetTargetSchema = s.object(
  {
    host: s.optional(
      s.string({
        description: 'A device by MagicDNS hostname (web-service) or FQDN (web-service.tail0622b6.ts.net).',
        pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\\.?$',
        maxLength: 253,
      }),
    ),
    ip: s.optional(
      s.string({
        description: 'A tailnet IPv4 (100.64.0.0/10) or IPv6 (fd7a:115c:a1e0::/48) address.',
        pattern:
          '^(100\\.(6[4-9]|[7-9][0-9]|1[01][0-9]|12[0-7])\\.[0-9]{1,3}\\.[0-9]{1,3}|fd7a:115c:a1e0:[0-9a-f:]*)$',
        maxLength: 39,
      }),
    ),
    service: s.optional(
      s.string({ description: 'A Tailscale Service, svc:<dns-label>.', pattern: vipServiceNamePattern }),
    ),
  },
  {
    'x-kubernetes-validations': [
      {
        rule: '[has(self.host), has(self.ip), has(self.service)].filter(x, x).size() == 1',
        message: 'set exactly one of host, ip or service',
      },
    ],
  },
);
export type TailnetTarget = Infer<typeof tailnetTargetSchema>;

export const egressPortSchema = s.object({
  port: s.integer({
    description: 'The proxies forward connections to this port (one of spec.ports) to the target.',
    minimum: 1,
    maximum: 65535,
  }),
  targetPort: s.optional(
    s.integer({
      description: 'The port on the tailnet target; defaults to port.',
      minimum: 1,
      maximum: 65535,
    }),
  ),
});
export type EgressPort = Infer<typeof egressPortSchema>;

export const egressSchema = s.object(
  {
    tailnetTarget: tailnetTargetSchema,
    ports: s.array(egressPortSchema, {
      minItems: 1,
      maxItems: 32,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['port'],
    }),
  },
  { description: 'A tailnet target the proxies carry cluster traffic to (TCP).' },
);
export type EgressSpec = Infer<typeof egressSchema>;

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
  egress: s.optional(egressSchema),
});

export const egressStatusSchema = s.object(
  {
    configMap: s.string({ description: 'The ConfigMap (<statefulset>-proxies) holding the egress config.' }),
    namespace: s.string({ description: 'Namespace of that ConfigMap: where the proxies run.' }),
    ports: s.array(
      s.object({
        port: s.integer({ minimum: 1, maximum: 65535 }),
        matchPort: s.integer({
          description: 'The container port on each proxy pod that forwards to the target.',
          minimum: 10000,
          maximum: 10999,
        }),
        targetPort: s.integer({ minimum: 1, maximum: 65535 }),
      }),
      { maxItems: 32 },
    ),
  },
  { description: "Where spec.egress is carried: per egress port, the proxy pods' port that forwards it." },
);
export type EgressStatus = Infer<typeof egressStatusSchema>;

export const tailscaleEndpointsStatusSchema = s.object({
  observedGeneration: s.optional(observedGenerationSchema),
  conditions: s.optional(conditionsSchema),
  devices: s.optional(s.array(deviceStatusSchema, { maxItems: 64 })),
  statefulSets: s.optional(s.array(statefulSetStatusSchema, { maxItems: 4 })),
  egress: s.optional(egressStatusSchema),
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
      rule: "!has(self.egress) || !has(self.connectionType) || self.connectionType != 'ingress'",
      message: 'egress needs connectionType egress or bidirectional',
    },
    {
      rule: '!has(self.egress) || self.egress.ports.all(e, has(self.ports) && self.ports.exists(p, p.port == e.port))',
      message:
        'every egress port must be listed in spec.ports, so that the proxies and their Service expose it',
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
