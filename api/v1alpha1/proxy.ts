import { tagSchema } from '../common';
import { s, type Infer } from '../schema';
import type { EgressSpec } from './tailscale-endpoints';

/** What a namespaced object may say about its proxies; everything pod-level is in TailscaleProxyClass. */
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
    hostnamePrefix: s.optional(
      s.string({
        description: 'Device hostname prefix; replica i is <prefix>-<i>. Defaults to the object name.',
        pattern: '^[a-z0-9][a-z0-9-]{0,55}$',
      }),
    ),
  },
  {
    description:
      'Proxy replicas (a StatefulSet following Tailscale ProxyGroup conventions, in the operator namespace). Pod settings come from the TailscaleProxyClass.',
  },
);
export type ProxyPodSpec = Infer<typeof proxyPodSchema>;

export const proxyClassNameSchema = s.string({
  description:
    'The TailscaleProxyClass (cluster-scoped, admin-owned) of the proxy pods. Unset: the default class.',
  pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$',
  maxLength: 253,
});

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
  podIP: s.optional(
    s.string({ description: 'IPv4 of the replica pod while it is Ready; Envoy reaches egress ports there.' }),
  ),
});
export type DeviceStatus = Infer<typeof deviceStatusSchema>;

export const statefulSetStatusSchema = s.object({
  name: s.string(),
  replicas: s.integer({ minimum: 0 }),
  readyReplicas: s.integer({ minimum: 0 }),
  service: s.optional(s.string()),
  namespace: s.optional(s.string({ description: 'Where the proxies run: the operator namespace.' })),
  createdAt: s.optional(s.string({ format: 'date-time' })),
});
export type StatefulSetStatus = Infer<typeof statefulSetStatusSchema>;

/** Which of our kinds owns a proxy StatefulSet; also the first segment of its workflow id. */
export type ProxyParentKind = 'TailscaleEndpoints' | 'TailscaleProxyGroup';
export type ConnectionType = 'ingress' | 'egress' | 'bidirectional';

export interface ProxyPort {
  name?: string;
  port: number;
  protocol?: 'TCP' | 'UDP';
}

/**
 * A TailscaleEndpoints or TailscaleProxyGroup reduced to what its proxies need, with defaults applied
 * (the API server applies the schema's nested defaults only when `spec.proxy` is present).
 */
export interface ProxyDeployment {
  kind: ProxyParentKind;
  name: string;
  namespace: string;
  uid: string;
  tailnet: string;
  tags: string[];
  replicas: number;
  hostnamePrefix: string;
  connectionType: ConnectionType;
  ports: ProxyPort[];
  /** Unset: the default class (or the operator's built-in restricted defaults when there is none). */
  proxyClassName?: string;
  /** A TailscaleEndpoints' tailnet target (spec.egress), carried by these proxies. */
  egress?: EgressSpec;
}

export const defaultProxyReplicas = 2;

export interface ProxyParentSpec {
  tailnet: string;
  tags: string[];
  proxy?: ProxyPodSpec;
  proxyClassName?: string;
  connectionType?: ConnectionType;
  type?: 'ingress' | 'egress';
  ports?: ProxyPort[];
  egress?: EgressSpec;
}

export function proxyDeploymentOf(
  kind: ProxyParentKind,
  metadata: { name: string; namespace?: string; uid?: string },
  spec: ProxyParentSpec,
): ProxyDeployment {
  const proxy: ProxyPodSpec = spec.proxy ?? {};
  const deployment: ProxyDeployment = {
    kind,
    name: metadata.name,
    namespace: metadata.namespace ?? '',
    uid: metadata.uid ?? '',
    tailnet: spec.tailnet,
    tags: [...spec.tags],
    replicas: proxy.replicas ?? defaultProxyReplicas,
    hostnamePrefix: proxy.hostnamePrefix ?? metadata.name,
    connectionType: spec.connectionType ?? spec.type ?? 'bidirectional',
    ports: (spec.ports ?? []).map((p) => ({ ...p, protocol: p.protocol ?? 'TCP' })),
  };
  if (spec.proxyClassName) deployment.proxyClassName = spec.proxyClassName;
  if (spec.egress) deployment.egress = spec.egress;
  return deployment;
}

/** A spec the schema accepts but the proxies cannot be built from; `field` is what to fix. */
export interface ProxySpecProblem {
  field: string;
  message: string;
}

// Pod names `<name>-<ordinal>` and the `statefulset.kubernetes.io/pod-name` label must stay DNS labels.
const maxProxyNameLength = 52;
const serviceNamePattern = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** What the CRD schema cannot check: rules that involve metadata.name or span list items. */
export function proxySpecProblem(deployment: ProxyDeployment): ProxySpecProblem | undefined {
  const { name, ports } = deployment;
  if (name.length > maxProxyNameLength || !dnsLabel.test(name)) {
    return {
      field: 'metadata.name',
      message: `metadata.name "${name}" must be a DNS label of at most ${maxProxyNameLength} characters: it names the proxy StatefulSet and its pods`,
    };
  }
  if (ports.length > 0 && !serviceNamePattern.test(name)) {
    return {
      field: 'metadata.name',
      message: `metadata.name "${name}" must start with a letter when spec.ports is set: it also names the proxies' Service`,
    };
  }
  const seen = new Map<string, number>();
  for (const [i, port] of ports.entries()) {
    const portName = proxyPortName(port);
    const first = seen.get(portName);
    if (first !== undefined) {
      return {
        field: `spec.ports[${i}].name`,
        message: `spec.ports[${i}].name: "${portName}" is already the Service port name of spec.ports[${first}]; give the ports distinct names`,
      };
    }
    seen.set(portName, i);
  }
  return undefined;
}

/** The Service port name: the declared one, else `<protocol>-<port>`. */
export function proxyPortName(port: ProxyPort): string {
  return port.name ?? `${(port.protocol ?? 'TCP').toLowerCase()}-${port.port}`;
}
