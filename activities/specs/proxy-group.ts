/**
 * Desired objects of a proxy StatefulSet (Tailscale's `proxygroup_specs.go` conventions): pure
 * functions, a TailscaleEndpoints or TailscaleProxyGroup in, manifests out. Nothing here reads or
 * writes anything, so every rule about names, labels, env and volumes is unit-testable.
 */
import { createHash } from 'node:crypto';
import type {
  V1ConfigMap,
  V1Container,
  V1EnvVar,
  V1Role,
  V1RoleBinding,
  V1Secret,
  V1Service,
  V1ServiceAccount,
  V1StatefulSet,
  V1Volume,
  V1VolumeMount,
} from '@kubernetes/client-node';
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
  /** The parent's namespace and uid: the proxies live in the operator namespace, so no ownerReference. */
  parentNamespace: 'gateway.tailscale.com/parent-namespace',
  parentUid: 'gateway.tailscale.com/parent-uid',
  secretType: 'gateway.tailscale.com/secret-type',
  replica: 'gateway.tailscale.com/replica',
} as const;
export const managedByValue = 'tailscale-gateway-operator';

export type ProxyParentKindLabel = 'endpoints' | 'proxygroup';
export type ProxySecretType = 'state' | 'config';

export function parentKindLabel(kind: ProxyParentKind): ProxyParentKindLabel {
  return kind === 'TailscaleEndpoints' ? 'endpoints' : 'proxygroup';
}

/**
 * Where a parent's proxy objects live: the operator namespace, under one base name per parent, so that a
 * tenant can read neither their auth keys nor their state. Resolved by the activities from the parent's
 * kind, namespace and name (the workflows carry the parent's own namespace and name).
 */
export interface ProxyPlacement {
  namespace: string;
  /** The StatefulSet's name; every other name derives from it (proxyNames). */
  name: string;
}

// A StatefulSet's pods are `<name>-<ordinal>` and carry the label controller-revision-hash
// `<name>-<10 chars>`, a label value of at most 63 characters: hence 52.
const maxPlacementName = 52;

/**
 * `<namespace>-<name>-<hash>`: readable, deterministic, and unique across tenants and kinds (the hash of
 * kind, namespace and name tells `a-b/c` from `a/b-c`, and a TailscaleEndpoints from a TailscaleProxyGroup
 * of the same name). A DNS-1035 label, as the proxies' Service name must be.
 */
export function proxyPlacement(
  d: Pick<ProxyDeployment, 'kind' | 'namespace' | 'name'>,
  operatorNamespace: string,
): ProxyPlacement {
  const hash = createHash('sha256').update(`${d.kind}\n${d.namespace}\n${d.name}`).digest('hex').slice(0, 8);
  let readable = `${d.namespace}-${d.name}`.toLowerCase().replace(/[^a-z0-9-]/g, '-');
  if (!/^[a-z]/.test(readable)) readable = `ts-${readable}`;
  readable = readable.slice(0, maxPlacementName - hash.length - 1).replace(/-+$/, '');
  return { namespace: operatorNamespace, name: `${readable}-${hash}` };
}

/**
 * Where the operator put a parent's proxies before they moved to the operator namespace: in the parent's
 * namespace, named after it, owned by a controller ownerReference. Only found to be removed.
 */
export const legacyProxyPlacement = (d: Pick<ProxyDeployment, 'namespace' | 'name'>): ProxyPlacement => ({
  namespace: d.namespace,
  name: d.name,
});

/**
 * Every name derived from a placement (`proxyPlacement`); the config Secret name is a contract with the
 * TailscaleServices workflow and the proxy simulator.
 */
export const proxyNames = {
  statefulSet: (p: Pick<ProxyPlacement, 'name'>) => p.name,
  serviceAccount: (p: Pick<ProxyPlacement, 'name'>) => p.name,
  role: (p: Pick<ProxyPlacement, 'name'>) => p.name,
  roleBinding: (p: Pick<ProxyPlacement, 'name'>) => p.name,
  service: (p: Pick<ProxyPlacement, 'name'>) => p.name,
  pod: (p: Pick<ProxyPlacement, 'name'>, ordinal: number) => `${p.name}-${ordinal}`,
  stateSecret: (p: Pick<ProxyPlacement, 'name'>, ordinal: number) => `${p.name}-${ordinal}`,
  configSecret: (p: Pick<ProxyPlacement, 'name'>, ordinal: number) => `${p.name}-${ordinal}-config`,
  hostname: (d: Pick<ProxyDeployment, 'hostnamePrefix'>, ordinal: number) => `${d.hostnamePrefix}-${ordinal}`,
  configVolume: (ordinal: number) => `tailscaledconfig-${ordinal}`,
  /** The ConfigMap of serve and egress config every replica of the set reads at /etc/proxies. */
  proxiesConfigMap: (p: Pick<ProxyPlacement, 'name'>) => `${p.name}-proxies`,
};

/** Where the proxies ConfigMap is mounted, and the env containerboot reads it by (Tailscale's names). */
export const proxiesVolume = { name: 'proxies', mountPath: '/etc/proxies' } as const;
export const serveConfigKey = 'serve-config.json';
export const proxiesEnv = {
  TS_SERVE_CONFIG: `${proxiesVolume.mountPath}/${serveConfigKey}`,
  TS_EGRESS_PROXIES_CONFIG_PATH: proxiesVolume.mountPath,
} as const;

/** The container port name of an egress matchPort (a port name is at most 15 characters). */
export const egressPortName = (matchPort: number) => `egress-${matchPort}`;

export const configMountPath = (p: Pick<ProxyPlacement, 'name'>, ordinal: number) =>
  `/etc/tsconfig/${proxyNames.pod(p, ordinal)}`;

export const ordinals = (replicas: number): number[] => Array.from({ length: replicas }, (_, i) => i);

type ParentRef = Pick<ProxyDeployment, 'kind' | 'namespace' | 'name'>;

/**
 * Selects the proxy pods; immutable on a StatefulSet, so it never includes user labels or the uid (a
 * re-created parent adopts its predecessor's objects).
 */
export function proxySelectorLabels(d: ParentRef): Record<string, string> {
  return {
    [proxyLabelKeys.parentKind]: parentKindLabel(d.kind),
    [proxyLabelKeys.parentNamespace]: d.namespace,
    [proxyLabelKeys.parentName]: d.name,
  };
}

/** This parent's objects and no other's: its selector labels plus its uid. */
export function proxyOwnerLabels(d: ParentRef & Pick<ProxyDeployment, 'uid'>): Record<string, string> {
  return { ...proxySelectorLabels(d), [proxyLabelKeys.parentUid]: d.uid };
}

/** Labels of every owned object; `instance` names the StatefulSet the object belongs to. */
export function proxyLabels(d: ProxyDeployment, p: ProxyPlacement): Record<string, string> {
  return {
    [proxyLabelKeys.managedBy]: managedByValue,
    [proxyLabelKeys.name]: 'tailscale-proxy',
    [proxyLabelKeys.instance]: proxyNames.statefulSet(p),
    ...proxyOwnerLabels(d),
  };
}

function metadataOf(
  d: ProxyDeployment,
  p: ProxyPlacement,
  name: string,
  extraLabels: Record<string, string> = {},
) {
  return { name, namespace: p.namespace, labels: { ...proxyLabels(d, p), ...extraLabels } };
}

export function desiredServiceAccount(d: ProxyDeployment, p: ProxyPlacement): V1ServiceAccount {
  return {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: metadataOf(d, p, proxyNames.serviceAccount(p)),
  };
}

/** Proxies may read and write only their own state Secrets, and emit events; nothing else. */
export function desiredRole(d: ProxyDeployment, p: ProxyPlacement): V1Role {
  const stateSecrets = ordinals(d.replicas).map((i) => proxyNames.stateSecret(p, i));
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: metadataOf(d, p, proxyNames.role(p)),
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

export function desiredRoleBinding(d: ProxyDeployment, p: ProxyPlacement): V1RoleBinding {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: metadataOf(d, p, proxyNames.roleBinding(p)),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: proxyNames.role(p) },
    subjects: [{ kind: 'ServiceAccount', name: proxyNames.serviceAccount(p), namespace: p.namespace }],
  };
}

function secretLabels(type: ProxySecretType, ordinal: number): Record<string, string> {
  return { [proxyLabelKeys.secretType]: type, [proxyLabelKeys.replica]: String(ordinal) };
}

/**
 * Pre-created empty so the parent can own it; tailscaled (containerboot) fills in its keys. No `data`
 * on purpose: server-side apply then never touches what the proxy wrote.
 */
export function desiredStateSecret(d: ProxyDeployment, p: ProxyPlacement, ordinal: number): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: metadataOf(d, p, proxyNames.stateSecret(p, ordinal), secretLabels('state', ordinal)),
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

export function desiredConfigSecret(
  d: ProxyDeployment,
  p: ProxyPlacement,
  ordinal: number,
  config: TailscaledConfig,
): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: metadataOf(d, p, proxyNames.configSecret(p, ordinal), secretLabels('config', ordinal)),
    data: { [tailscaledConfigKey]: Buffer.from(JSON.stringify(config)).toString('base64') },
  };
}

/**
 * The set's `<statefulset>-proxies` ConfigMap as the egress writer applies it: only its own keys (the
 * serve config key has another writer), with the matchPort allocations kept in an annotation.
 */
export function desiredProxiesConfigMap(
  d: ProxyDeployment,
  p: ProxyPlacement,
  data: Record<string, string>,
  annotations: Record<string, string>,
): V1ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { ...metadataOf(d, p, proxyNames.proxiesConfigMap(p)), annotations },
    data,
  };
}

/**
 * Pre-created empty so the parent owns it; the TailscaleServices (serve config) and egress writers
 * edit its keys. No `data` on purpose: server-side apply then never touches what they wrote.
 */
export function emptyProxiesConfigMap(d: ProxyDeployment, p: ProxyPlacement): V1ConfigMap {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: metadataOf(d, p, proxyNames.proxiesConfigMap(p)) };
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
    // Always set: containerboot treats a missing file as nothing to serve or forward.
    ...Object.entries(proxiesEnv).map(([name, value]) => ({ name, value })),
  ];
}

// tailscaled's socket and containerboot's scratch files go to /tmp; the root filesystem stays read-only.
const tmpVolume = 'tmp';

// Every replica's config is mounted into every pod; each pod reads its own via $(POD_NAME).
function configVolumes(
  d: ProxyDeployment,
  p: ProxyPlacement,
): { volumes: V1Volume[]; mounts: V1VolumeMount[] } {
  const all = ordinals(d.replicas);
  return {
    volumes: [
      ...all.map((i) => ({
        name: proxyNames.configVolume(i),
        secret: { secretName: proxyNames.configSecret(p, i) },
      })),
      { name: tmpVolume, emptyDir: {} },
      {
        name: proxiesVolume.name,
        configMap: { name: proxyNames.proxiesConfigMap(p), optional: true },
      },
    ],
    mounts: [
      ...all.map((i) => ({
        name: proxyNames.configVolume(i),
        mountPath: configMountPath(p, i),
        readOnly: true,
      })),
      { name: tmpVolume, mountPath: '/tmp' },
      { name: proxiesVolume.name, mountPath: proxiesVolume.mountPath, readOnly: true },
    ],
  };
}

function containerSecurityContext(pod: ProxyPodSettings): object {
  // Kernel networking (TS_USERSPACE=false) needs to manage routes and netfilter.
  if (pod.networking === 'kernel')
    return { ...(pod.securityContext as object | undefined), privileged: true };
  return pod.securityContext ?? restrictedContainerSecurityContext;
}

function proxyContainer(
  d: ProxyDeployment,
  pod: ProxyPodSettings,
  mounts: V1VolumeMount[],
  egressMatchPorts: readonly number[],
): V1Container {
  const container: V1Container = {
    name: proxyContainerName,
    image: pod.image,
    env: proxyEnv(pod),
    volumeMounts: mounts,
    securityContext: containerSecurityContext(pod),
  };
  const ports = [
    ...d.ports.map((p) => ({ name: proxyPortName(p), containerPort: p.port, protocol: p.protocol })),
    ...[...egressMatchPorts]
      .sort((a, b) => a - b)
      .map((port) => ({ name: egressPortName(port), containerPort: port, protocol: 'TCP' })),
  ];
  if (ports.length) container.ports = ports;
  if (pod.resources) container.resources = pod.resources;
  return container;
}

// Forwarding must be on for the proxy to route between the tailnet and the cluster (kernel networking only).
const sysctlerScript =
  'sysctl -w net.ipv4.ip_forward=1 && if sysctl net.ipv6.conf.all.forwarding; then sysctl -w net.ipv6.conf.all.forwarding=1; fi';

/** `egressMatchPorts`: every egress matchPort of the set (activities/specs/egress-config.ts), exposed by the pods. */
export function desiredStatefulSet(
  d: ProxyDeployment,
  p: ProxyPlacement,
  pod: ProxyPodSettings,
  egressMatchPorts: readonly number[] = [],
): V1StatefulSet {
  const { volumes, mounts } = configVolumes(d, p);
  // Class labels first: ours (the selector among them) always win.
  const podLabels = { ...pod.labels, ...proxyLabels(d, p) };
  const kernel = pod.networking === 'kernel';
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: metadataOf(d, p, proxyNames.statefulSet(p)),
    spec: {
      replicas: d.replicas,
      podManagementPolicy: 'Parallel',
      // The headless Service governs the pods so each gets <pod>.<service>.<ns>.svc, the stable name the
      // extension server's STRICT_DNS clusters use.
      ...(d.ports.length ? { serviceName: proxyNames.service(p) } : {}),
      selector: { matchLabels: proxySelectorLabels(d) },
      template: {
        metadata: { labels: podLabels, ...(pod.annotations ? { annotations: pod.annotations } : {}) },
        spec: {
          serviceAccountName: proxyNames.serviceAccount(p),
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
          containers: [proxyContainer(d, pod, mounts, egressMatchPorts)],
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
export function desiredService(d: ProxyDeployment, p: ProxyPlacement): V1Service | undefined {
  if (!d.ports.length) return undefined;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: metadataOf(d, p, proxyNames.service(p)),
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
