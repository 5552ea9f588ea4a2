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

const routeGenerationSchema = s.object(
  {
    enabled: s.optional(s.boolean({ description: 'Generate routes (default true when this block is set).' })),
    pathPrefix: s.optional(
      s.string({
        description:
          'Path prefix of the generated route of each service; {service} (VIP service name without svc:) and {tailnet} are substituted.',
        default: '/tailscale/{service}/',
        pattern: '^/([^/]+/)*$',
        maxLength: 256,
      }),
    ),
    rewritePrefix: s.optional(
      s.string({
        description: 'What the matched prefix is replaced with before the request goes to the service.',
        default: '/',
        pattern: '^/',
        maxLength: 256,
      }),
    ),
    serviceSelector: s.optional(labelSelectorSchema),
  },
  {
    description:
      "Routes the extension server adds to every virtual host of the Gateway, one per TailscaleServices/TailscaleEndpoints in this namespace (on the bound tailnets, matching serviceSelector), ahead of the Gateway's own routes.",
  },
);

const routeKindSchema = s.enum(['HTTPRoute', 'GRPCRoute', 'TCPRoute', 'TLSRoute', 'UDPRoute'] as const);

const publishSchema = s.object(
  {
    route: s.optional(
      s.object({
        kind: s.optional(
          s.enum(['HTTPRoute', 'GRPCRoute', 'TCPRoute', 'TLSRoute', 'UDPRoute'] as const, {
            default: 'HTTPRoute',
          }),
        ),
        name: s.string({ minLength: 1, maxLength: 253 }),
        namespace: s.optional(
          s.string({
            description: 'Defaults to this object’s namespace.',
            pattern: dnsLabelPattern,
            maxLength: 63,
          }),
        ),
      }),
    ),
    routeSelector: s.optional(labelSelectorSchema),
    proxyGroup: s.optional(
      s.string({
        description:
          "TailscaleProxyGroup (same namespace, on the publication's tailnet) whose proxies advertise the VIP service and forward it to the Gateway's Envoy data-plane Service. Unset: the operator hosts it nowhere (advertise it from proxies of your own).",
        pattern: dnsLabelPattern,
        maxLength: 63,
      }),
    ),
    tailnet: s.optional(
      s.string({
        description: 'TailscaleTailnet to publish on; defaults to the only entry of spec.tailnets.',
        pattern: dnsLabelPattern,
        maxLength: 63,
      }),
    ),
    vipService: s.object({
      name: s.optional(
        s.string({
          description:
            'svc:<dns-label>; defaults to svc:<route name>. Routes publishing the same name (on this or other gateways, or a TailscaleServices) share one VIP service.',
          pattern: vipServiceNamePattern,
        }),
      ),
      ports: s.optional(
        s.array(s.string({ pattern: vipServicePortPattern }), {
          description:
            'tcp:<port> or tcp:<first>-<last>; defaults to the ports of the Gateway listeners the route attaches through.',
          minItems: 1,
          maxItems: 32,
          'x-kubernetes-list-type': 'set',
        }),
      ),
      tags: s.array(tagSchema, {
        description: 'ACL tags of the VIP service.',
        minItems: 1,
        maxItems: 16,
        'x-kubernetes-list-type': 'set',
      }),
      comment: s.optional(s.string({ maxLength: 512 })),
    }),
  },
  {
    description:
      'Routes attached to the Gateway to publish on a tailnet as Tailscale VIP services: one named route, or every attached route whose labels match routeSelector.',
    'x-kubernetes-validations': [
      {
        rule: 'has(self.route) != has(self.routeSelector)',
        message: 'set exactly one of route and routeSelector',
      },
    ],
  },
);

export const tailscaleGatewaySpecSchema = s.object({
  gatewayRef: s.object(
    {
      name: s.string({ minLength: 1, maxLength: 253 }),
      namespace: s.optional(
        s.string({
          description: 'Defaults to this object’s namespace.',
          pattern: dnsLabelPattern,
          maxLength: 63,
        }),
      ),
    },
    { description: 'The Gateway API Gateway (served by Envoy Gateway) this binds to tailnets.' },
  ),
  tailnets: s.optional(
    s.array(s.string({ pattern: dnsLabelPattern, maxLength: 63 }), {
      description: 'TailscaleTailnet names whose services this gateway routes to; empty means all.',
      maxItems: 16,
      'x-kubernetes-list-type': 'set',
    }),
  ),
  routeGeneration: s.optional(routeGenerationSchema),
  publish: s.optional(
    s.array(publishSchema, {
      description:
        'Which attached routes become Tailscale VIP services; the operator creates or attaches to each service and detaches when the route goes.',
      maxItems: 64,
    }),
  ),
});

const routeBackendSchema = s.object({
  kind: s.enum(['TailscaleServices', 'TailscaleEndpoints'] as const),
  name: s.string(),
  namespace: s.optional(s.string({ description: 'Set when it differs from the route’s namespace.' })),
  vipService: s.optional(
    s.string({ description: 'svc:<name> of the VIP service, when the backend has one.' }),
  ),
  ready: s.optional(s.boolean({ description: 'The backend exists, is permitted and is Ready.' })),
});

const routePublishedSchema = s.object(
  {
    tailnet: tailnetNameSchema,
    vipService: s.string({ description: 'svc:<name>' }),
    addresses: s.optional(s.array(s.string(), { maxItems: 4 })),
    dnsName: s.optional(s.string()),
  },
  { description: 'The VIP service this route is published as (spec.publish).' },
);

export const tailscaleGatewayStatusSchema = s.object({
  observedGeneration: s.optional(observedGenerationSchema),
  conditions: s.optional(conditionsSchema),
  routes: s.optional(
    s.array(
      s.object({
        kind: routeKindSchema,
        namespace: s.string(),
        name: s.string(),
        backends: s.optional(s.array(routeBackendSchema, { maxItems: 64 })),
        published: s.optional(routePublishedSchema),
      }),
      {
        description: 'Routes attached to the Gateway and the Tailscale backends they reach.',
        maxItems: 1024,
      },
    ),
  ),
});

export type TailscaleGatewaySpec = Infer<typeof tailscaleGatewaySpecSchema>;
export type TailscaleGatewayStatus = Infer<typeof tailscaleGatewayStatusSchema>;
export type TailscaleGatewayPublish = NonNullable<TailscaleGatewaySpec['publish']>[number];
export type TailscaleGatewayRouteStatus = NonNullable<TailscaleGatewayStatus['routes']>[number];

export const tailscaleGatewayCrd = defineCrd({
  kind: 'TailscaleGateway',
  plural: 'tailscalegateways',
  singular: 'tailscalegateway',
  shortNames: ['tsgw'],
  scope: 'Namespaced',
  description:
    'Binds an Envoy Gateway Gateway to tailnets: its routes can reach Tailscale backends, and it can get a generated route per service.',
  spec: tailscaleGatewaySpecSchema,
  status: tailscaleGatewayStatusSchema,
  specValidations: [
    {
      rule: '!has(self.publish) || self.publish.all(p, has(p.tailnet) || (has(self.tailnets) && size(self.tailnets) == 1))',
      message: 'publish[].tailnet is required unless spec.tailnets names exactly one tailnet',
    },
    {
      rule: '!has(self.publish) || !has(self.tailnets) || size(self.tailnets) == 0 || self.publish.all(p, !has(p.tailnet) || p.tailnet in self.tailnets)',
      message: 'publish[].tailnet must be one of spec.tailnets',
    },
    {
      rule: "!has(self.routeGeneration) || !has(self.routeGeneration.pathPrefix) || self.routeGeneration.pathPrefix.contains('{service}') || has(self.routeGeneration.serviceSelector)",
      message:
        'routeGeneration.pathPrefix without {service} gives every service the same path: add {service} or a serviceSelector',
    },
  ],
  printerColumns: [
    { name: 'Gateway', type: 'string', jsonPath: '.spec.gatewayRef.name' },
    { name: 'Path', type: 'string', jsonPath: '.spec.routeGeneration.pathPrefix' },
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

export type TailscaleGateway = ObjectOfCrd<typeof tailscaleGatewayCrd>;
