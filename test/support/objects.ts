import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { eventually } from './eventually';
import { tailscaledConfigKey } from '../../activities/specs/tailscaled-config';
import type { ProxyParentKind } from '../../api/v1alpha1/proxy';
import { configSecretOf, handMadeConfigSecret, proxiesOf } from './proxies';

const group = 'gateway.tailscale.com';
const version = 'v1alpha1';

/**
 * A TailscaleEndpoints object and one tailscaled config Secret per replica, as the endpoints workflow
 * leaves them. Unlabelled for the test operator, so only selectors (not the endpoints workflow) see it.
 */
export async function createProxyEndpoints(
  kc: KubeConfig,
  opts: {
    namespace: string;
    name: string;
    labels: Record<string, string>;
    tailnet: string;
    replicas?: number;
  },
): Promise<void> {
  const replicas = opts.replicas ?? 1;
  await kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
    group,
    version,
    namespace: opts.namespace,
    plural: 'tailscaleendpoints',
    body: {
      apiVersion: `${group}/${version}`,
      kind: 'TailscaleEndpoints',
      metadata: { name: opts.name, labels: opts.labels },
      spec: { tailnet: opts.tailnet, tags: ['tag:k8s'], proxy: { replicas } },
    },
  });
  const core = kc.makeApiClient(CoreV1Api);
  for (let i = 0; i < replicas; i++) {
    const body = handMadeConfigSecret(opts, i, {
      Version: 'alpha0',
      Hostname: `${opts.name}-${i}`,
      AdvertiseServices: [],
    });
    await core.createNamespacedSecret({ namespace: body.metadata!.namespace!, body });
  }
}

/** Sets what a stand-in replica's tailscaled config advertises (as the operator would write it). */
export async function setAdvertisedServices(
  kc: KubeConfig,
  parent: { kind?: ProxyParentKind; namespace: string; name: string },
  replica: number,
  services: string[],
): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  const ref = configSecretOf(proxiesOf(parent.namespace, parent.name, parent.kind), replica);
  const secret = await core.readNamespacedSecret(ref);
  const config = JSON.parse(
    Buffer.from(secret.data?.[tailscaledConfigKey] ?? '', 'base64').toString(),
  ) as Record<string, unknown>;
  const data = Buffer.from(JSON.stringify({ ...config, AdvertiseServices: services })).toString('base64');
  await core.replaceNamespacedSecret({
    ...ref,
    body: { ...secret, data: { ...secret.data, [tailscaledConfigKey]: data } },
  });
}

/** The service names a replica's tailscaled config advertises (the parent's proxies: proxiesOf). */
export async function advertisedServices(
  kc: KubeConfig,
  parent: { kind?: ProxyParentKind; namespace: string; name: string },
  replica: number,
): Promise<string[]> {
  const secret = await kc
    .makeApiClient(CoreV1Api)
    .readNamespacedSecret(configSecretOf(proxiesOf(parent.namespace, parent.name, parent.kind), replica));
  const raw = Buffer.from(secret.data?.[tailscaledConfigKey] ?? '', 'base64').toString();
  return (JSON.parse(raw) as { AdvertiseServices?: string[] }).AdvertiseServices ?? [];
}

interface NewObject {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  spec: Record<string, unknown>;
}

async function createOurs(kc: KubeConfig, kind: string, plural: string, opts: NewObject): Promise<void> {
  await kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
    group,
    version,
    namespace: opts.namespace,
    plural,
    body: {
      apiVersion: `${group}/${version}`,
      kind,
      metadata: { name: opts.name, labels: opts.labels },
      spec: opts.spec,
    },
  });
}

export const createTailscaleServices = (kc: KubeConfig, opts: NewObject) =>
  createOurs(kc, 'TailscaleServices', 'tailscaleservices', opts);

export const createTailscaleGateway = (kc: KubeConfig, opts: NewObject) =>
  createOurs(kc, 'TailscaleGateway', 'tailscalegateways', opts);

/**
 * The usual pair: TailscaleEndpoints `<name>-proxies` (one config Secret) labelled `app: <name>`, and a
 * TailscaleServices `<name>` selecting them with `vipService`, labelled for the test operator.
 */
export async function createServicesWithProxies(
  kc: KubeConfig,
  opts: {
    namespace: string;
    name: string;
    operatorLabels: Record<string, string>;
    tailnet: string;
    vipService: Record<string, unknown>;
  },
): Promise<void> {
  await createProxyEndpoints(kc, {
    namespace: opts.namespace,
    name: `${opts.name}-proxies`,
    labels: { app: opts.name },
    tailnet: opts.tailnet,
  });
  await createTailscaleServices(kc, {
    namespace: opts.namespace,
    name: opts.name,
    labels: opts.operatorLabels,
    spec: {
      tailnet: opts.tailnet,
      selector: { matchLabels: { app: opts.name } },
      vipService: opts.vipService,
    },
  });
}

/** Waits until reading the object fails with 404 (its finalizers are gone and it was deleted). */
export async function waitUntilGone(
  what: string,
  read: () => Promise<unknown>,
  timeoutMs = 60_000,
): Promise<void> {
  await eventually(
    `${what} gone`,
    async () => {
      try {
        await read();
        return undefined;
      } catch (err) {
        if ((err as { code?: number }).code === 404) return true;
        throw err;
      }
    },
    { timeoutMs },
  );
}

/** Replaces an object's status as a workflow would publish it (tests that play the workflows' part). */
export async function writeStatus(
  kc: KubeConfig,
  ref: { namespace: string; plural: string; name: string },
  status: unknown,
): Promise<void> {
  const objects = kc.makeApiClient(CustomObjectsApi);
  const current = (await objects.getNamespacedCustomObject({ group, version, ...ref })) as Record<
    string,
    unknown
  >;
  await objects.replaceNamespacedCustomObjectStatus({ group, version, ...ref, body: { ...current, status } });
}

/** Creates one of our objects and gives it the status a workflow would publish. */
export async function createWithStatus(
  kc: KubeConfig,
  namespace: string,
  plural: string,
  body: Record<string, unknown>,
  status: unknown,
): Promise<void> {
  await kc
    .makeApiClient(CustomObjectsApi)
    .createNamespacedCustomObject({ group, version, namespace, plural, body });
  await writeStatus(kc, { namespace, plural, name: (body.metadata as { name: string }).name }, status);
}
