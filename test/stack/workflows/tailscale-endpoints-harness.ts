/**
 * The stack every proxy test file runs on: a Tailscale simulator with a TailscaleTailnet, the real
 * operator processes scoped to this file, and the proxy simulator playing the pods in this file's
 * namespace. Plus the small vocabulary the tests share (create, wait for Ready, read devices).
 */
import { configSecretOf, proxiesOf } from '../../support/proxies';
import type { ProxyParentKind } from '../../../api/v1alpha1/proxy';
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  RbacAuthorizationV1Api,
  type KubeConfig,
  type V1Secret,
} from '@kubernetes/client-node';
import { Client, Connection } from '@temporalio/client';
import type { KubeObject } from '../../../api/common';
import type { DeviceStatus, StatefulSetStatus } from '../../../api/v1alpha1/proxy';
import type { Condition } from '../../../api/common';
import { listDevices } from '../../../activities/tailscale/devices';
import { startProxySimulator, type ProxySimulator } from '../../../simulators/proxy/simulator';
import { eventually } from '../../support/eventually';
import { startOperator, type TestOperator } from '../../support/operator';
import { createTestNamespace, temporalClient, testKubeConfig, uniqueName } from '../../support/stack';
import { startTestTailnet, type TestTailnet } from '../../support/tailscale';
import { tailscaledConfigKey } from '../../../activities/specs/tailscaled-config';
import { conditionOf } from '../../support/conditions';

export const group = 'gateway.tailscale.com';
export const version = 'v1alpha1';
export const configKey = tailscaledConfigKey;

export type ProxyParent = KubeObject<
  { proxy?: { replicas?: number }; [key: string]: unknown },
  {
    observedGeneration?: number;
    conditions?: Condition[];
    devices?: DeviceStatus[];
    statefulSets?: StatefulSetStatus[];
  }
>;

export interface ProxyHarness {
  kc: KubeConfig;
  objects: CustomObjectsApi;
  core: CoreV1Api;
  apps: AppsV1Api;
  rbac: RbacAuthorizationV1Api;
  operator: TestOperator;
  tailnet: TestTailnet;
  proxies: ProxySimulator;
  temporal: Client;
  namespace: string;
  close(): Promise<void>;
}

export async function startProxyHarness(
  prefix: string,
  opts: {
    temporalAddress?: string;
    /** Images the proxy stand-in plays as an older tailscaled: image → capability version. */
    imageCapVersions?: Record<string, number>;
  } = {},
): Promise<ProxyHarness> {
  const kc = testKubeConfig();
  const namespace = await createTestNamespace(kc, prefix);
  const instance = uniqueName(prefix);
  const tailnet = await startTestTailnet({
    kc,
    namespace,
    name: uniqueName('corp'),
    labels: { 'test.tailscale-gateway.com/instance': instance },
  });
  const operator = startOperator({
    instance,
    env: {
      TAILSCALE_API_BASE_URL: tailnet.sim.url,
      ...(opts.temporalAddress ? { TEMPORAL_ADDRESS: opts.temporalAddress } : {}),
    },
  });
  const proxies = startProxySimulator({
    kc,
    tailscale: tailnet.sim.admin,
    namespaces: [namespace],
    ...(opts.imageCapVersions ? { imageCapVersions: opts.imageCapVersions } : {}),
  });
  const temporal = opts.temporalAddress
    ? await connectTemporal(opts.temporalAddress)
    : await temporalClient();
  return {
    kc,
    objects: kc.makeApiClient(CustomObjectsApi),
    core: kc.makeApiClient(CoreV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    rbac: kc.makeApiClient(RbacAuthorizationV1Api),
    operator,
    tailnet,
    proxies,
    temporal: temporal.client,
    namespace,
    async close() {
      await proxies.stop();
      await operator.stop();
      await temporal.close();
      await tailnet.close();
    },
  };
}

/** Create/get/wait for one of our proxy parents (`tailscaleendpoints` or `tailscaleproxygroups`). */
export function proxyParents(h: ProxyHarness, kind: 'TailscaleEndpoints' | 'TailscaleProxyGroup') {
  const plural = kind === 'TailscaleEndpoints' ? 'tailscaleendpoints' : 'tailscaleproxygroups';
  const key = (name: string) => ({ group, version, namespace: h.namespace, plural, name });
  const get = async (name: string) => (await h.objects.getNamespacedCustomObject(key(name))) as ProxyParent;
  return {
    plural,
    create: (name: string, spec: Record<string, unknown>, labels: Record<string, string> = {}) =>
      h.objects.createNamespacedCustomObject({
        group,
        version,
        namespace: h.namespace,
        plural,
        body: {
          apiVersion: `${group}/${version}`,
          kind,
          metadata: { name, labels: { ...h.operator.labels, ...labels } },
          spec: { tailnet: h.tailnet.name, tags: ['tag:k8s'], ...spec },
        },
      }),
    get,
    patch: (name: string, body: unknown[]) => h.objects.patchNamespacedCustomObject({ ...key(name), body }),
    delete: (name: string) => h.objects.deleteNamespacedCustomObject(key(name)),
    ready: async (name: string) => conditionOf(await get(name)),
    /** Ready=True for `generation` with every replica's device up and counted by the StatefulSet. */
    waitReady: (name: string, generation = 1) =>
      eventually(
        `${kind} ${name} Ready for generation ${generation}`,
        async () => {
          const obj = await get(name);
          const ready = conditionOf(obj);
          const replicas = obj.spec.proxy?.replicas ?? 2;
          const readyReplicas = obj.status?.statefulSets?.[0]?.readyReplicas;
          if (
            obj.status?.observedGeneration === generation &&
            ready?.status === 'True' &&
            readyReplicas === replicas
          )
            return obj;
          // What a timeout reports: where the object stood when it was last read.
          throw new Error(
            `last seen at generation ${obj.status?.observedGeneration}: Ready=${ready?.status} ` +
              `${ready?.reason} (${ready?.message}), StatefulSet ${readyReplicas}/${replicas} ready`,
          );
        },
        { timeoutMs: 60_000 },
      ),
    /** The Ready condition once it has `reason` for `generation`. */
    waitReason: (name: string, reason: string, generation = 1) =>
      eventually(`${kind} ${name} Ready reason ${reason}`, async () => {
        const obj = await get(name);
        const ready = conditionOf(obj);
        return obj.status?.observedGeneration === generation && ready?.reason === reason ? ready : undefined;
      }),
  };
}

export const secretData = (secret: V1Secret | undefined, key: string) =>
  Buffer.from(secret?.data?.[key] ?? '', 'base64').toString('utf8');

/** The tailscaled config of one replica of a parent in the harness namespace (its proxies: proxiesOf). */
export async function configOf(
  h: ProxyHarness,
  parent: string,
  ordinal: number,
  kind?: ProxyParentKind,
): Promise<Record<string, unknown>> {
  const secret = await h.core.readNamespacedSecret(
    configSecretOf(proxiesOf(h.namespace, parent, kind), ordinal),
  );
  return JSON.parse(secretData(secret, configKey)) as Record<string, unknown>;
}

/** Writes the config Secret's tailscaled config as the TailscaleServices workflow would. */
export async function editConfig(
  h: ProxyHarness,
  parent: string,
  ordinal: number,
  edit: (config: Record<string, unknown>) => void,
): Promise<void> {
  const config = await configOf(h, parent, ordinal);
  edit(config);
  const ref = configSecretOf(proxiesOf(h.namespace, parent), ordinal);
  await h.core.replaceNamespacedSecret({
    ...ref,
    body: {
      ...(await h.core.readNamespacedSecret(ref)),
      data: { [configKey]: Buffer.from(JSON.stringify(config)).toString('base64') },
    },
  });
}

export async function devicesNamed(h: ProxyHarness, prefix: string) {
  return (await listDevices(h.tailnet.api)).filter((d) => d.hostname.startsWith(`${prefix}-`));
}

async function connectTemporal(address: string): Promise<{ client: Client; close(): Promise<void> }> {
  const connection = await Connection.connect({ address });
  return { client: new Client({ connection }), close: () => connection.close() };
}
