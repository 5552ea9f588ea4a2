import { tagSchema } from '../common';
import { s, type Infer } from '../schema';

/** The pod-level knobs of a proxy StatefulSet, shared by TailscaleEndpoints and TailscaleProxyGroup. */
export const proxyPodSchema = s.object(
  {
    replicas: s.optional(
      s.integer({
        description: 'Proxy replicas, one tailnet device each.',
        minimum: 0,
        maximum: 32,
        default: 2,
      }),
    ),
    image: s.optional(
      s.string({
        description: 'Tailscale proxy image.',
        default: 'tailscale/tailscale:stable',
        minLength: 1,
      }),
    ),
    hostnamePrefix: s.optional(
      s.string({
        description: 'Device hostname prefix; replica i is <prefix>-<i>. Defaults to the object name.',
        pattern: '^[a-z0-9][a-z0-9-]{0,55}$',
      }),
    ),
    resources: s.optional(
      s.preserved({ description: 'core/v1 ResourceRequirements of the proxy container.' }),
    ),
    nodeSelector: s.optional(s.map(s.string(), { maxProperties: 32 })),
    tolerations: s.optional(s.array(s.preserved({ description: 'core/v1 Toleration.' }), { maxItems: 32 })),
    affinity: s.optional(s.preserved({ description: 'core/v1 Affinity.' })),
  },
  { description: 'Proxy pods (a StatefulSet following Tailscale ProxyGroup conventions).' },
);
export type ProxyPodSpec = Infer<typeof proxyPodSchema>;

export const proxyTagsSchema = s.array(tagSchema, {
  description:
    'Tags of the proxy devices (auth keys minted by an OAuth client must be tagged with its tags).',
  minItems: 1,
  maxItems: 16,
  'x-kubernetes-list-type': 'set',
});

/** One tailnet device backing a proxy replica, as its state Secret and the devices API report it. */
export const deviceStatusSchema = s.object({
  hostname: s.string(),
  statefulSetPod: s.string(),
  nodeID: s.optional(s.string()),
  tailscaleIP: s.optional(s.string()),
  tailscaleIPs: s.optional(s.array(s.string())),
  tailscaleFQDN: s.optional(s.string()),
  connected: s.optional(s.boolean()),
  online: s.optional(s.boolean()),
  lastSeen: s.optional(s.string({ format: 'date-time' })),
  tags: s.optional(s.array(s.string())),
});
export type DeviceStatus = Infer<typeof deviceStatusSchema>;

export const statefulSetStatusSchema = s.object({
  name: s.string(),
  replicas: s.integer({ minimum: 0 }),
  readyReplicas: s.integer({ minimum: 0 }),
  service: s.optional(s.string()),
  createdAt: s.optional(s.string({ format: 'date-time' })),
});
export type StatefulSetStatus = Infer<typeof statefulSetStatusSchema>;
