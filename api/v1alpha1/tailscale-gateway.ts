import { conditionsSchema, dnsLabelPattern, labelSelectorSchema, observedGenerationSchema } from '../common';
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
});

const routeBackendSchema = s.object({
  kind: s.enum(['TailscaleServices', 'TailscaleEndpoints'] as const),
  name: s.string(),
  vipService: s.optional(
    s.string({ description: 'svc:<name> of the VIP service, when the backend has one.' }),
  ),
});

export const tailscaleGatewayStatusSchema = s.object({
  observedGeneration: s.optional(observedGenerationSchema),
  conditions: s.optional(conditionsSchema),
  routes: s.optional(
    s.array(
      s.object({
        kind: s.enum(['HTTPRoute', 'GRPCRoute', 'TCPRoute', 'TLSRoute', 'UDPRoute'] as const),
        namespace: s.string(),
        name: s.string(),
        backends: s.optional(s.array(routeBackendSchema, { maxItems: 64 })),
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
