import {
  conditionsSchema,
  dnsLabelPattern,
  labelSelectorSchema,
  observedGenerationSchema,
  tagSchema,
  tailnetNameSchema,
  vipServiceNamePattern,
  vipServicePortPattern,
} from '../common';
import { defineCrd, type ObjectOfCrd } from '../crd';
import { s, type Infer } from '../schema';
import { endpointPortSchema } from './tailscale-endpoints';

export const vipServiceSpecSchema = s.object(
  {
    name: s.optional(
      s.string({
        description: 'Tailscale Service name, svc:<dns-label>. Defaults to svc:<metadata.name>.',
        pattern: vipServiceNamePattern,
      }),
    ),
    ports: s.array(s.string({ pattern: vipServicePortPattern, maxLength: 16 }), {
      description: 'Ports as tcp:<port> or tcp:<first>-<last>, or exactly ["do-not-validate"].',
      minItems: 1,
      maxItems: 32,
      'x-kubernetes-list-type': 'set',
    }),
    tags: s.array(tagSchema, {
      description: 'ACL tags of the service; hosts must be allowed to serve them.',
      minItems: 1,
      maxItems: 16,
      'x-kubernetes-list-type': 'set',
    }),
    comment: s.optional(s.string({ maxLength: 512 })),
    allowedNamespaces: s.optional(
      s.array(s.string({ pattern: '^(\\*|[a-z0-9]([-a-z0-9]*[a-z0-9])?)$', maxLength: 63 }), {
        description:
          'Namespaces besides its own whose TailscaleServices (or TailscaleGateway publications) may share this VIP service; "*" admits every namespace. Only the owner\'s list counts: the object that claimed the name first (by creation time). Claims from other namespaces are refused with ClaimRefused.',
        maxItems: 64,
        'x-kubernetes-list-type': 'set',
      }),
    ),
  },
  {
    'x-kubernetes-validations': [
      {
        rule: '!self.ports.exists(p, p == "do-not-validate") || size(self.ports) == 1',
        message: '"do-not-validate" must be the only port',
      },
    ],
  },
);

export const endpointTemplateSchema = s.object(
  {
    tags: s.optional(s.array(tagSchema, { minItems: 1, maxItems: 16 })),
    connectionType: s.optional(s.enum(['ingress', 'egress', 'bidirectional'] as const)),
    replicas: s.optional(s.integer({ minimum: 0, maximum: 32 })),
    ports: s.optional(s.array(endpointPortSchema, { maxItems: 32 })),
    labels: s.optional(s.map(s.string({ maxLength: 63 }), { maxProperties: 32 })),
    nameSuffix: s.optional(
      s.string({ pattern: '^-[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 20, default: '-endpoints' }),
    ),
  },
  {
    description:
      'When no TailscaleEndpoints match the selector, one named <name><nameSuffix> is created from this template; it is deleted once nothing selects it.',
  },
);

export const backendModes = ['tcp', 'http', 'https'] as const;
export type BackendMode = (typeof backendModes)[number];

export const backendPortSchema = s.object({
  port: s.integer({
    description: 'The VIP service port (one of vipService.ports).',
    minimum: 1,
    maximum: 65535,
  }),
  servicePort: s.intOrString({
    description:
      'The port of the backend Service, by number or by name (a port the Service lacks is reported in status).',
  }),
  mode: s.optional(
    s.enum(backendModes, {
      description:
        'tcp: forward the TCP stream; http: proxy HTTP; https: terminate TLS for the MagicDNS name <label>.<tailnet suffix>, then proxy HTTP.',
      default: 'tcp',
    }),
  ),
});
export type BackendPort = Infer<typeof backendPortSchema>;

export const serviceBackendSchema = s.object(
  {
    serviceName: s.string({
      description: 'A Kubernetes Service in this namespace that the VIP service forwards to.',
      pattern: dnsLabelPattern,
      maxLength: 63,
    }),
    ports: s.array(backendPortSchema, {
      description: 'Every VIP port and where it goes; each port of vipService.ports must be covered.',
      minItems: 1,
      maxItems: 32,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['port'],
    }),
  },
  { description: 'What the proxies hosting the VIP service forward its traffic to.' },
);
export type ServiceBackend = Infer<typeof serviceBackendSchema>;

export const tailscaleServicesSpecSchema = s.object({
  tailnet: tailnetNameSchema,
  selector: labelSelectorSchema,
  vipService: vipServiceSpecSchema,
  endpointTemplate: s.optional(endpointTemplateSchema),
  backend: s.optional(serviceBackendSchema),
});

export const vipServiceStatusSchema = s.object({
  name: s.string(),
  addresses: s.optional(s.array(s.string())),
  dnsName: s.optional(s.string()),
  ownerOperator: s.optional(s.string()),
  consumers: s.optional(s.integer({ minimum: 0 })),
});

export const selectedEndpointsStatusSchema = s.object({
  name: s.string(),
  autoProvisioned: s.optional(s.boolean()),
  devices: s.optional(s.array(s.string())),
  ready: s.boolean(),
});

export const vipServiceHostStatusSchema = s.object(
  {
    name: s.string({ description: "The device's hostname (its node ID when Tailscale does not know it)." }),
    nodeId: s.optional(s.string({ description: 'Stable node ID of the device.' })),
    advertising: s.boolean({ description: 'Tailscale lists the device as advertising the service.' }),
    approved: s.boolean({
      description: 'Tailscale approved the device to serve the service (by policy or by hand).',
    }),
    approvalLevel: s.optional(
      s.string({ description: "Tailscale's approvalLevel: not-approved, approved:auto or approved:manual." }),
    ),
  },
  { description: 'A device that hosts, or should host, the VIP service.' },
);

export const tailscaleServicesStatusSchema = s.object({
  observedGeneration: s.optional(observedGenerationSchema),
  conditions: s.optional(conditionsSchema),
  vipService: s.optional(vipServiceStatusSchema),
  hosts: s.optional(
    s.array(vipServiceHostStatusSchema, {
      maxItems: 256,
      description:
        'Devices advertising the VIP service as Tailscale lists them, then selected proxies not advertising it; traffic flows only through an approved one.',
    }),
  ),
  selectedEndpoints: s.optional(s.array(selectedEndpointsStatusSchema, { maxItems: 256 })),
  totalBackends: s.optional(s.integer({ minimum: 0 })),
  healthyBackends: s.optional(s.integer({ minimum: 0 })),
});

export type TailscaleServicesSpec = Infer<typeof tailscaleServicesSpecSchema>;
export type TailscaleServicesStatus = Infer<typeof tailscaleServicesStatusSchema>;

export const tailscaleServicesCrd = defineCrd({
  kind: 'TailscaleServices',
  plural: 'tailscaleservices',
  singular: 'tailscaleservices',
  shortNames: ['tssvc'],
  scope: 'Namespaced',
  description:
    'A Tailscale VIP service served by the TailscaleEndpoints its label selector picks (like Service → Pods).',
  spec: tailscaleServicesSpecSchema,
  status: tailscaleServicesStatusSchema,
  specValidations: [
    {
      rule: '!has(self.endpointTemplate) || (has(self.selector.matchLabels) && size(self.selector.matchLabels) > 0)',
      message:
        'endpointTemplate needs selector.matchLabels: auto-provisioned endpoints are labelled with them',
    },
    {
      rule: 'self.tailnet == oldSelf.tailnet',
      message: 'tailnet is immutable: create a new TailscaleServices instead',
    },
  ],
  printerColumns: [
    { name: 'VIP Service', type: 'string', jsonPath: '.status.vipService.name' },
    { name: 'Address', type: 'string', jsonPath: '.status.vipService.addresses[0]' },
    { name: 'DNS Name', type: 'string', jsonPath: '.status.vipService.dnsName' },
    { name: 'Backends', type: 'integer', jsonPath: '.status.totalBackends' },
    { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
    {
      name: 'Reason',
      type: 'string',
      jsonPath: '.status.conditions[?(@.type=="Ready")].reason',
      priority: 1,
    },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
});

export type TailscaleServices = ObjectOfCrd<typeof tailscaleServicesCrd>;

/** The name of the TailscaleEndpoints auto-provisioned from spec.endpointTemplate: `<name><nameSuffix>`. */
export function provisionedEndpointsName(owner: string, template: { nameSuffix?: string }): string {
  return `${owner}${template.nameSuffix ?? '-endpoints'}`.slice(0, 63).replace(/-+$/, '');
}
