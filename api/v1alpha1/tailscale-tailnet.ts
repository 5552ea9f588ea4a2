import { conditionsSchema, observedGenerationSchema } from '../common';
import { defineCrd, type ObjectOfCrd } from '../crd';
import { s, type Infer } from '../schema';

const secretRefSchema = s.object(
  {
    namespace: s.string({
      description: 'Namespace of the Secret.',
      pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$',
      maxLength: 63,
    }),
    name: s.string({ description: 'Name of the Secret.', minLength: 1, maxLength: 253 }),
  },
  { description: 'Secret holding the OAuth client credentials in keys client_id and client_secret.' },
);

export const tailscaleTailnetSpecSchema = s.object({
  oauthSecretRef: secretRefSchema,
  tailnet: s.optional(
    s.string({
      description: 'Tailnet name or ID; "-" (default) is the tailnet the OAuth client belongs to.',
      default: '-',
      minLength: 1,
      maxLength: 253,
    }),
  ),
});

export const tailscaleTailnetStatusSchema = s.object({
  observedGeneration: s.optional(observedGenerationSchema),
  conditions: s.optional(conditionsSchema),
  dnsSuffix: s.optional(
    s.string({
      description: 'The tailnet MagicDNS suffix, e.g. tail0622b6.ts.net, discovered from its devices.',
    }),
  ),
  operator: s.optional(
    s.object(
      {
        clusterID: s.string({ description: 'Cluster id (CLUSTER_ID, or derived from the kube-system UID).' }),
        operatorID: s.string({
          description: 'Operator id (OPERATOR_ID, or derived from the install namespace and release).',
        }),
        instance: s.optional(
          s.string({ description: 'The install instance recorded beside the identity in registry entries.' }),
        ),
      },
      {
        description:
          "This install's identity <clusterID>/<operatorID> in the tailnet's VIP service registries and auth-key descriptions.",
      },
    ),
  ),
});

export type TailscaleTailnetSpec = Infer<typeof tailscaleTailnetSpecSchema>;
export type TailscaleTailnetStatus = Infer<typeof tailscaleTailnetStatusSchema>;

export const tailscaleTailnetCrd = defineCrd({
  kind: 'TailscaleTailnet',
  plural: 'tailscaletailnets',
  singular: 'tailscaletailnet',
  shortNames: ['tstailnet'],
  scope: 'Cluster',
  description:
    'A tailnet this operator manages, reached through an OAuth client whose credentials are in a Secret.',
  spec: tailscaleTailnetSpecSchema,
  status: tailscaleTailnetStatusSchema,
  printerColumns: [
    { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
    { name: 'Reason', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].reason' },
    { name: 'DNS Suffix', type: 'string', jsonPath: '.status.dnsSuffix' },
    { name: 'Cluster ID', type: 'string', jsonPath: '.status.operator.clusterID', priority: 1 },
    { name: 'Operator ID', type: 'string', jsonPath: '.status.operator.operatorID', priority: 1 },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
});

export type TailscaleTailnet = ObjectOfCrd<typeof tailscaleTailnetCrd>;
