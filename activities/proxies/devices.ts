import type { DeviceStatus, ProxyDeployment, StatefulSetStatus } from '../../api/v1alpha1/proxy';
import { ordinals, proxyNames, type ProxyPlacement } from '../specs/proxy-group';
import type { KubeObjects, WireObject } from '../kubernetes/apply';
import type { TailscaleClient } from '../tailscale/client';
import { deleteDevice, getDevice, type Device } from '../tailscale/devices';
import { selectorOf } from './objects';
import { proxyTooOld, proxyTooOldMessage, type ProxyTooOld } from './proxy-version';
import { readReplicaState, type ProxyReplicaState } from './state-secret';

export interface ObserveProxyDevicesInput {
  deployment: ProxyDeployment;
  /** The last status published; its API-derived fields are kept when the devices API fails. */
  previous?: DeviceStatus[];
}

export interface ProxyObservation {
  devices: DeviceStatus[];
  /** Devices that serve the current pod of their replica and are connected to control. */
  readyDevices: number;
  statefulSet?: StatefulSetStatus;
  /** nodeId per ordinal, from the state Secrets. */
  deviceIds: Record<string, string>;
  /** Set when the devices API failed: `devices` then carries the previous API fields. */
  apiError?: string;
  /** Devices the state Secrets name but the tailnet no longer has. */
  missingDevices: string[];
  /** Replicas whose tailscaled is too old for the config we write, and what to tell the user. */
  versionTooOld?: { proxies: ProxyTooOld[]; message: string };
  /** Ordinals whose proxy asks for a fresh auth key (`reissue_authkey` in its state Secret). */
  reissueRequested?: number[];
  /** The VIP services some registered replica's tailscaled advertises, sorted (absent: none). */
  advertising?: string[];
}

export interface ObserveDeps {
  objects: KubeObjects;
  placement: ProxyPlacement;
  tailscale: () => Promise<TailscaleClient>;
}

interface Replica {
  ordinal: number;
  pod: string;
  podUid?: string;
  /** Set while the pod is Ready: where Envoy reaches its egress ports. */
  podIP?: string;
  state: ProxyReplicaState;
  tooOld?: ProxyTooOld;
}

/**
 * What the proxies look like now: each replica's device from its state Secret, enriched with the
 * devices API (connected, last seen, tags), plus the StatefulSet's counts. Reads only.
 */
export async function observeProxyDevices(
  deps: ObserveDeps,
  input: ObserveProxyDevicesInput,
): Promise<ProxyObservation> {
  const d = input.deployment;
  // The client (the tailnet and its credentials, two reads) is made beside the replicas' reads: it is
  // wanted as soon as one replica has registered, which is nearly always.
  const client = deps.tailscale();
  client.catch(() => undefined);
  const [replicas, statefulSet] = await Promise.all([
    readReplicas(deps.objects, d, deps.placement),
    readStatefulSet(deps.objects, d, deps.placement),
  ]);
  const registered = replicas.filter((r) => r.state.deviceId);
  const tooOld = replicas.flatMap((r) => (r.tooOld ? [r.tooOld] : []));
  const reissueRequested = replicas.filter((r) => r.state.reissueAuthKey).map((r) => r.ordinal);
  const advertising = [...new Set(registered.flatMap((r) => r.state.advertisedServices))].sort();

  let apiDevices = new Map<string, Device | null>();
  let apiError: string | undefined;
  if (registered.length) {
    try {
      const tailscale = await client;
      const found = await Promise.all(registered.map((r) => getDevice(tailscale, r.state.deviceId!)));
      apiDevices = new Map(registered.map((r, i) => [r.state.deviceId!, found[i] ?? null]));
    } catch (err) {
      apiError = err instanceof Error ? err.message : String(err);
    }
  }

  const previous = new Map((input.previous ?? []).map((dev) => [dev.nodeID, dev]));
  const devices = registered.map((r) =>
    deviceStatusOf(
      d,
      r,
      apiError ? undefined : apiDevices.get(r.state.deviceId!),
      previous.get(r.state.deviceId),
    ),
  );
  return {
    devices,
    readyDevices: devices.filter((dev) => dev.online && dev.connected).length,
    ...(statefulSet ? { statefulSet } : {}),
    deviceIds: Object.fromEntries(registered.map((r) => [String(r.ordinal), r.state.deviceId!])),
    ...(apiError ? { apiError } : {}),
    missingDevices: apiError
      ? []
      : registered.filter((r) => apiDevices.get(r.state.deviceId!) === null).map((r) => r.state.deviceId!),
    ...(tooOld.length
      ? { versionTooOld: { proxies: tooOld, message: proxyTooOldMessage(tooOld, d.proxyClassName) } }
      : {}),
    ...(reissueRequested.length ? { reissueRequested } : {}),
    ...(advertising.length ? { advertising } : {}),
  };
}

async function readReplicas(objects: KubeObjects, d: ProxyDeployment, p: ProxyPlacement): Promise<Replica[]> {
  const [secrets, pods] = await Promise.all([
    Promise.all(
      ordinals(d.replicas).map((i) =>
        objects.read({
          apiVersion: 'v1',
          kind: 'Secret',
          namespace: p.namespace,
          name: proxyNames.stateSecret(p, i),
        }),
      ),
    ),
    objects.list({ apiVersion: 'v1', kind: 'Pod', namespace: p.namespace }, selectorOf(d)),
  ]);
  const byName = new Map(pods.map((pod) => [pod.metadata.name, pod]));
  return secrets.map((secret, ordinal) => {
    const pod = byName.get(proxyNames.pod(p, ordinal));
    const podIP = pod && readyPodIPv4(pod);
    const state = readReplicaState(secret);
    const tooOld = proxyTooOld(pod, state);
    return {
      ordinal,
      pod: proxyNames.pod(p, ordinal),
      podUid: pod?.metadata.uid,
      ...(podIP ? { podIP } : {}),
      state,
      ...(tooOld ? { tooOld } : {}),
    };
  });
}

function readyPodIPv4(pod: WireObject): string | undefined {
  const status = pod.status as
    | { podIP?: string; podIPs?: { ip: string }[]; conditions?: { type: string; status: string }[] }
    | undefined;
  if (status?.conditions?.find((c) => c.type === 'Ready')?.status !== 'True') return undefined;
  const ips = [status.podIP, ...(status.podIPs ?? []).map((p) => p.ip)];
  return ips.find((ip): ip is string => Boolean(ip && !ip.includes(':')));
}

async function readStatefulSet(
  objects: KubeObjects,
  d: ProxyDeployment,
  p: ProxyPlacement,
): Promise<StatefulSetStatus | undefined> {
  const sts = await objects.read({
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    namespace: p.namespace,
    name: proxyNames.statefulSet(p),
  });
  if (!sts) return undefined;
  const spec = sts.spec as { replicas?: number } | undefined;
  const status = sts.status as { readyReplicas?: number } | undefined;
  return {
    name: sts.metadata.name,
    replicas: spec?.replicas ?? 0,
    readyReplicas: status?.readyReplicas ?? 0,
    ...(d.ports.length ? { service: proxyNames.service(p) } : {}),
    namespace: p.namespace,
    ...(sts.metadata.creationTimestamp ? { createdAt: normalizeTime(sts.metadata.creationTimestamp) } : {}),
  };
}

// client-node's model round trip renders times with milliseconds; status keeps the API server's form.
const normalizeTime = (time: string) => new Date(time).toISOString().replace(/\.\d{3}Z$/, 'Z');

function deviceStatusOf(
  d: ProxyDeployment,
  replica: Replica,
  api: Device | null | undefined,
  previous: DeviceStatus | undefined,
): DeviceStatus {
  const { state } = replica;
  const ipv4 = state.deviceIps.find((ip) => !ip.includes(':'));
  const status: DeviceStatus = {
    hostname: api?.hostname || state.deviceFqdn?.split('.')[0] || proxyNames.hostname(d, replica.ordinal),
    statefulSetPod: replica.pod,
    nodeID: state.deviceId,
    ...(ipv4 ? { tailscaleIP: ipv4 } : {}),
    ...(state.deviceIps.length ? { tailscaleIPs: state.deviceIps } : {}),
    ...(state.deviceFqdn ? { tailscaleFQDN: state.deviceFqdn } : {}),
    ...(replica.podIP ? { podIP: replica.podIP } : {}),
    // The state belongs to the running pod only when containerboot wrote that pod's UID.
    online: Boolean(replica.podUid && state.podUid === replica.podUid),
  };
  if (api === undefined) {
    // The API could not be asked: keep what it said last time.
    if (previous?.connected !== undefined) status.connected = previous.connected;
    if (previous?.lastSeen) status.lastSeen = previous.lastSeen;
    if (previous?.tags) status.tags = previous.tags;
    return status;
  }
  status.connected = api?.connectedToControl ?? false;
  if (api?.lastSeen) status.lastSeen = api.lastSeen;
  if (api?.tags.length) status.tags = api.tags;
  return status;
}

/** Deletes the devices; a device already gone (404) counts as deleted. */
export async function deleteProxyDevices(client: TailscaleClient, nodeIds: string[]): Promise<string[]> {
  await Promise.all(nodeIds.map((id) => deleteDevice(client, id)));
  return nodeIds;
}
