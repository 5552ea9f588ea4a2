/**
 * Desired objects of a proxy StatefulSet (Tailscale's `proxygroup_specs.go` conventions): pure
 * functions, a TailscaleEndpoints or TailscaleProxyGroup in, manifests out. Nothing here reads or
 * writes anything, so every rule about names, labels, env and volumes is unit-testable.
 */
import type {
  V1Container,
  V1EnvVar,
  V1OwnerReference,
  V1Role,
  V1RoleBinding,
  V1Secret,
  V1Service,
  V1ServiceAccount,
  V1StatefulSet,
  V1Volume,
  V1VolumeMount,
} from '@kubernetes/client-node';
import { apiVersion } from '../../api/common';
import { proxyPortName, type ProxyDeployment, type ProxyParentKind } from '../../api/v1alpha1/proxy';
import { tailscaledConfigKey } from './tailscaled-config';
import type { TailscaleProxyClassSpec as ProxyClassSpec } from '../../api/v1alpha1/tailscale-proxy-class';

export const proxyFieldManager = 'tailscale-gateway-operator';
export const proxyContainerName = 'tailscale';

export const proxyLabelKeys = {
  managedBy: 'app.kubernetes.io/managed-by',
  name: 'app.kubernetes.io/name',
  instance: 'app.kubernetes.io/instance',
  /** `endpoints` or `proxygroup`: the first segment of the owning workflow's id. */
  parentKind: 'gateway.tailscale.com/parent-kind',
  parentName: 'gateway.tailscale.com/parent-name',
  secretType: 'gateway.tailscale.com/secret-type',
  replica: 'gateway.tailscale.com/replica',
} as const;
export const managedByValue = 'tailscale-gateway-operator';

export type ProxyParentKindLabel = 'endpoints' | 'proxygroup';
export type ProxySecretType = 'state' | 'config';

export function parentKindLabel(kind: ProxyParentKind): ProxyParentKindLabel {
  return kind === 'TailscaleEndpoints' ? 'endpoints' : 'proxygroup';
}

/** Every name derived from the parent; the config Secret name is a contract with TailscaleServices. */
export const proxyNames = {
  statefulSet: (d: Pick<ProxyDeployment, 'name'>) => d.name,
  serviceAccount: (d: Pick<ProxyDeployment, 'name'>) => d.name,
  role: (d: Pick<ProxyDeployment, 'name'>) => d.name,
  roleBinding: (d: Pick<ProxyDeployment, 'name'>) => d.name,
  service: (d: Pick<ProxyDeployment, 'name'>) => d.name,
  pod: (d: Pick<ProxyDeployment, 'name'>, ordinal: number) => `${d.name}-${ordinal}`,
  stateSecret: (d: Pick<ProxyDeployment, 'name'>, ordinal: number) => `${d.name}-${ordinal}`,
  configSecret: (d: Pick<ProxyDeployment, 'name'>, ordinal: number) => `${d.name}-${ordinal}-config`,
  hostname: (d: Pick<ProxyDeployment, 'hostnamePrefix'>, ordinal: number) => `${d.hostnamePrefix}-${ordinal}`,
  configVolume: (ordinal: number) => `tailscaledconfig-${ordinal}`,
};

export const configMountPath = (d: Pick<ProxyDeployment, 'name'>, ordinal: number) =>
  `/etc/tsconfig/${proxyNames.pod(d, ordinal)}`;

export const ordinals = (replicas: number): number[] => Array.from({ length: replicas }, (_, i) => i);

/** Selects the proxy pods; immutable on a StatefulSet, so it never includes user labels. */
export function proxySelectorLabels(d: Pick<ProxyDeployment, 'kind' | 'name'>): Record<string, string> {
  return {
    [proxyLabelKeys.parentKind]: parentKindLabel(d.kind),
    [proxyLabelKeys.parentName]: d.name,
  };
}

/** Labels of every owned object. */
export function proxyLabels(d: Pick<ProxyDeployment, 'kind' | 'name'>): Record<string, string> {
  return {
    [proxyLabelKeys.managedBy]: managedByValue,
    [proxyLabelKeys.name]: 'tailscale-proxy',
    [proxyLabelKeys.instance]: d.name,
    ...proxySelectorLabels(d),
  };
}

export function proxyOwnerReference(d: ProxyDeployment): V1OwnerReference {
  return { apiVersion, kind: d.kind, name: d.name, uid: d.uid, controller: true, blockOwnerDeletion: true };
}

function metadataOf(d: ProxyDeployment, name: string, extraLabels: Record<string, string> = {}) {
  return {
    name,
    namespace: d.namespace,
    labels: { ...proxyLabels(d), ...extraLabels },
    ownerReferences: [proxyOwnerReference(d)],
  };
}

export function desiredServiceAccount(d: ProxyDeployment): V1ServiceAccount {
  return { apiVersion: 'v1', kind: 'ServiceAccount', metadata: metadataOf(d, proxyNames.serviceAccount(d)) };
}

/** Proxies may read and write only their own state Secrets, and emit events; nothing else. */
export function desiredRole(d: ProxyDeployment): V1Role {
  const stateSecrets = ordinals(d.replicas).map((i) => proxyNames.stateSecret(d, i));
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: metadataOf(d, proxyNames.role(d)),
    rules: [
      // An empty resourceNames would grant every Secret in the namespace: leave the rule out instead.
      ...(stateSecrets.length
        ? [
            {
              apiGroups: [''],
              resources: ['secrets'],
              verbs: ['get', 'patch', 'update'],
              resourceNames: stateSecrets,
            },
          ]
        : []),
      { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch', 'get'] },
    ],
  };
}

export function desiredRoleBinding(d: ProxyDeployment): V1RoleBinding {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: metadataOf(d, proxyNames.roleBinding(d)),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: proxyNames.role(d) },
    subjects: [{ kind: 'ServiceAccount', name: proxyNames.serviceAccount(d), namespace: d.namespace }],
  };
}

function secretLabels(type: ProxySecretType, ordinal: number): Record<string, string> {
  return { [proxyLabelKeys.secretType]: type, [proxyLabelKeys.replica]: String(ordinal) };
}

/**
 * Pre-created empty so the parent can own it; tailscaled (containerboot) fills in its keys. No `data`
 * on purpose: server-side apply then never touches what the proxy wrote.
 */
export function desiredStateSecret(d: ProxyDeployment, ordinal: number): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: metadataOf(d, proxyNames.stateSecret(d, ordinal), secretLabels('state', ordinal)),
  };
}

/**
 * tailscaled's `ipn.ConfigVAlpha` as we write it (JSON is valid HuJSON). `Locked` and `acceptDNS` are
 * `opt.Bool`, which decodes only JSON true, false and null (tailscale.com types/opt/bool.go): the
 * string "false" makes tailscaled refuse the whole file. An unset `Locked` means locked.
 */
export interface TailscaledConfig {
  Version: 'alpha0';
  Locked: false;
  Hostname: string;
  acceptDNS: false;
  AuthKey?: string;
  AdvertiseServices?: string[];
  [key: string]: unknown;
}

/**
 * The config for one replica. `AdvertiseServices` belongs to the TailscaleServices workflow, so it is
 * carried over from `current` verbatim, never set from here.
 */
export function desiredTailscaledConfig(
  d: ProxyDeployment,
  ordinal: number,
  opts: { authKey?: string; current?: Record<string, unknown> },
): TailscaledConfig {
  const config: TailscaledConfig = {
    Version: 'alpha0',
    Locked: false,
    Hostname: proxyNames.hostname(d, ordinal),
    acceptDNS: false,
  };
  if (opts.authKey) config.AuthKey = opts.authKey;
  const advertised = opts.current?.AdvertiseServices;
  if (Array.isArray(advertised) && advertised.every((s) => typeof s === 'string')) {
    config.AdvertiseServices = [...advertised];
  }
  return config;
}

export function desiredConfigSecret(d: ProxyDeployment, ordinal: number, config: TailscaledConfig): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: metadataOf(d, proxyNames.configSecret(d, ordinal), secretLabels('config', ordinal)),
    data: { [tailscaledConfigKey]: Buffer.from(JSON.stringify(config)).toString('base64') },
  };
}

/**
 * A proxy pod's settings, resolved from its TailscaleProxyClass (activities/proxies/proxy-class.ts).
 * Nothing here comes from the namespaced object.
 */
export interface ProxyPodSettings {
  /** The class these came from; unset for the built-in defaults. */
  className?: string;
  networking: 'userspace' | 'kernel';
  image: string;
  resources?: ProxyClassSpec['resources'];
  securityContext?: ProxyClassSpec['securityContext'];
  podSecurityContext?: ProxyClassSpec['podSecurityContext'];
  nodeSelector?: ProxyClassSpec['nodeSelector'];
  tolerations?: ProxyClassSpec['tolerations'];
  affinity?: ProxyClassSpec['affinity'];
  labels?: ProxyClassSpec['labels'];
  annotations?: ProxyClassSpec['annotations'];
}

export const defaultProxyImage = 'tailscale/tailscale:stable';

/** Without any class: an unprivileged userspace proxy of the stock image. */
export const builtinProxyPodSettings: ProxyPodSettings = {
  networking: 'userspace',
  image: defaultProxyImage,
};

// The image's own user is root; a fixed non-root one lets runAsNonRoot pass without an image change.
const proxyUser = 1000;

/** Pod Security "restricted" (https://kubernetes.io/docs/concepts/security/pod-security-standards/). */
export const restrictedContainerSecurityContext = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
};

export const restrictedPodSecurityContext = {
  runAsNonRoot: true,
  runAsUser: proxyUser,
  runAsGroup: proxyUser,
  fsGroup: proxyUser,
  seccompProfile: { type: 'RuntimeDefault' },
};

function proxyEnv(pod: ProxyPodSettings): V1EnvVar[] {
  const field = (name: string, fieldPath: string): V1EnvVar => ({
    name,
    valueFrom: { fieldRef: { fieldPath } },
  });
  // POD_NAME comes first: the later values expand $(POD_NAME), which only works for variables defined before them.
  return [
    field('POD_NAME', 'metadata.name'),
    field('POD_UID', 'metadata.uid'),
    field('POD_IP', 'status.podIP'),
    { name: 'TS_USERSPACE', value: pod.networking === 'userspace' ? 'true' : 'false' },
    { name: 'TS_KUBE_SECRET', value: '$(POD_NAME)' },
    { name: 'TS_STATE', value: 'kube:$(POD_NAME)' },
    { name: 'TS_EXPERIMENTAL_VERSIONED_CONFIG_DIR', value: '/etc/tsconfig/$(POD_NAME)' },
  ];
}

// tailscaled's socket and containerboot's scratch files go to /tmp; the root filesystem stays read-only.
const tmpVolume = 'tmp';

// Every replica's config is mounted into every pod; each pod reads its own via $(POD_NAME).
function configVolumes(d: ProxyDeployment): { volumes: V1Volume[]; mounts: V1VolumeMount[] } {
  const all = ordinals(d.replicas);
  return {
    volumes: [
      ...all.map((i) => ({
        name: proxyNames.configVolume(i),
        secret: { secretName: proxyNames.configSecret(d, i) },
      })),
      { name: tmpVolume, emptyDir: {} },
    ],
    mounts: [
      ...all.map((i) => ({
        name: proxyNames.configVolume(i),
        mountPath: configMountPath(d, i),
        readOnly: true,
      })),
      { name: tmpVolume, mountPath: '/tmp' },
    ],
  };
}

function containerSecurityContext(pod: ProxyPodSettings): object {
  // Kernel networking (TS_USERSPACE=false) needs to manage routes and netfilter.
  if (pod.networking === 'kernel')
    return { ...(pod.securityContext as object | undefined), privileged: true };
  return pod.securityContext ?? restrictedContainerSecurityContext;
}

function proxyContainer(d: ProxyDeployment, pod: ProxyPodSettings, mounts: V1VolumeMount[]): V1Container {
  const container: V1Container = {
    name: proxyContainerName,
    image: pod.image,
    env: proxyEnv(pod),
    volumeMounts: mounts,
    securityContext: containerSecurityContext(pod),
  };
  if (d.ports.length) {
    container.ports = d.ports.map((p) => ({
      name: proxyPortName(p),
      containerPort: p.port,
      protocol: p.protocol,
    }));
  }
  if (pod.resources) container.resources = pod.resources;
  return container;
}

// Forwarding must be on for the proxy to route between the tailnet and the cluster (kernel networking only).
const sysctlerScript =
  'sysctl -w net.ipv4.ip_forward=1 && if sysctl net.ipv6.conf.all.forwarding; then sysctl -w net.ipv6.conf.all.forwarding=1; fi';

export function desiredStatefulSet(d: ProxyDeployment, pod: ProxyPodSettings): V1StatefulSet {
  const { volumes, mounts } = configVolumes(d);
  // Class labels first: ours (the selector among them) always win.
  const podLabels = { ...pod.labels, ...proxyLabels(d), ...proxySelectorLabels(d) };
  const kernel = pod.networking === 'kernel';
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: metadataOf(d, proxyNames.statefulSet(d)),
    spec: {
      replicas: d.replicas,
      podManagementPolicy: 'Parallel',
      // The headless Service governs the pods so each gets <pod>.<service>.<ns>.svc, the stable name the
      // extension server's STRICT_DNS clusters use.
      ...(d.ports.length ? { serviceName: proxyNames.service(d) } : {}),
      selector: { matchLabels: proxySelectorLabels(d) },
      template: {
        metadata: { labels: podLabels, ...(pod.annotations ? { annotations: pod.annotations } : {}) },
        spec: {
          serviceAccountName: proxyNames.serviceAccount(d),
          securityContext: pod.podSecurityContext ?? (kernel ? {} : restrictedPodSecurityContext),
          ...(kernel
            ? {
                initContainers: [
                  {
                    name: 'sysctler',
                    image: pod.image,
                    command: ['/bin/sh', '-c'],
                    args: [sysctlerScript],
                    securityContext: { privileged: true },
                  },
                ],
              }
            : {}),
          containers: [proxyContainer(d, pod, mounts)],
          volumes,
          ...(pod.nodeSelector ? { nodeSelector: pod.nodeSelector } : {}),
          ...(pod.tolerations ? { tolerations: pod.tolerations } : {}),
          ...(pod.affinity ? { affinity: pod.affinity } : {}),
        },
      },
    },
  };
}

/** One headless Service over the proxy pods with a port per declared port; none when no port is declared. */
export function desiredService(d: ProxyDeployment): V1Service | undefined {
  if (!d.ports.length) return undefined;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: metadataOf(d, proxyNames.service(d)),
    spec: {
      type: 'ClusterIP',
      clusterIP: 'None',
      selector: proxySelectorLabels(d),
      ports: d.ports.map((p) => ({
        name: proxyPortName(p),
        port: p.port,
        targetPort: p.port,
        protocol: p.protocol,
      })),
    },
  };
}
