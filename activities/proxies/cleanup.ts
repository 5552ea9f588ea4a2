import type { ProxyDeployment } from '../../api/v1alpha1/proxy';
import type { Logger } from '../../runtime/logger';
import { legacyProxyPlacement, ordinals, proxyNames, type ProxyPlacement } from '../specs/proxy-group';
import { TailnetUnavailable } from '../tailnets';
import { parseTailscaledConfig, tailscaledConfigKey } from '../specs/tailscaled-config';
import { refOf, type KubeObjects, type ObjectRef, type WireObject } from '../kubernetes/apply';
import type { TailscaleClient } from '../tailscale/client';
import { deleteKey } from '../tailscale/keys';
import { deleteProxyDevices } from './devices';
import { kubeStatusCode } from '../kubernetes/errors';
import { isLegacyOwnedBy, isOwnedBy } from './ownership';
import { ownedSelectorOf } from './objects';
import { readReplicaState, secretValue } from './state-secret';
import { TailnetReason } from '../../api/reasons';

export interface CleanupDeps {
  objects: KubeObjects;
  /** Where this deployment's proxies live (proxyPlacement). */
  placement: ProxyPlacement;
  tailscale: () => Promise<TailscaleClient>;
  logger: Logger;
}

export interface RemovedReplicas {
  /** Ordinals whose Secrets were deleted. */
  ordinals: number[];
  deletedDevices: string[];
}

/**
 * Scale-down: for each removed ordinal, revoke the key its config hands out, delete its device (from
 * the state Secret, plus any the workflow still remembers), then its state and config Secrets. Devices
 * go first, so a failure leaves the Secret that names the device for the next attempt; a state Secret
 * written since it was read is kept (409) for the same reason.
 */
export async function removeProxyReplicas(
  deps: CleanupDeps,
  input: { deployment: ProxyDeployment; ordinals: number[]; knownDevices: Record<string, string> },
): Promise<RemovedReplicas> {
  const p = deps.placement;
  const secretRef = (name: string): ObjectRef => ({
    apiVersion: 'v1',
    kind: 'Secret',
    namespace: p.namespace,
    name,
  });
  const client = await deps.tailscale();
  // A removed replica still starting could otherwise log in after its state was read.
  const configs = await Promise.all(
    input.ordinals.map((ordinal) => deps.objects.read(secretRef(proxyNames.configSecret(p, ordinal)))),
  );
  await revokeReplicaKeys(
    client,
    configs.filter((c): c is WireObject => c !== undefined),
  );
  const deviceIds = new Set<string>();
  const stateVersions = new Map<number, string | undefined>();
  for (const ordinal of input.ordinals) {
    const secret = await deps.objects.read(secretRef(proxyNames.stateSecret(p, ordinal)));
    stateVersions.set(ordinal, secret?.metadata.resourceVersion);
    const state = readReplicaState(secret);
    if (state.deviceId) deviceIds.add(state.deviceId);
    const known = input.knownDevices[String(ordinal)];
    if (known) deviceIds.add(known);
  }
  const deletedDevices = deviceIds.size ? await deleteProxyDevices(client, [...deviceIds]) : [];
  for (const ordinal of input.ordinals) {
    await deps.objects.deleteIfExists(secretRef(proxyNames.stateSecret(p, ordinal)), {
      resourceVersion: stateVersions.get(ordinal),
    });
    await deps.objects.deleteIfExists(secretRef(proxyNames.configSecret(p, ordinal)));
  }
  return { ordinals: input.ordinals, deletedDevices };
}

export interface DeletedProxy {
  deletedDevices: string[];
  orphanedDevices: string[];
  deletedObjects: string[];
}

/**
 * Deletion of the parent: stop its proxies, take back the auth keys they hold, then delete every
 * device of every replica and every object we own. The keys go before the devices are read: a replica
 * logging in after that read would leave a device nobody deletes. There is no garbage collector to rely
 * on (a bare API server has none), so owned objects are deleted explicitly.
 */
export async function deleteProxy(
  deps: CleanupDeps,
  input: { deployment: ProxyDeployment; knownDevices: Record<string, string> },
): Promise<DeletedProxy> {
  const d = input.deployment;
  const p = deps.placement;
  // Exactly this parent's: a same-named parent of another namespace, or a later incarnation, is not matched.
  const listSecrets = () =>
    deps.objects.list({ apiVersion: 'v1', kind: 'Secret', namespace: p.namespace }, ownedSelectorOf(d));
  const deletedObjects: string[] = [];
  const deleteOwned = async (ref: ObjectRef) => {
    const live = await deps.objects.read(ref);
    if (live && isOwnedBy(live, d) && (await deps.objects.deleteIfExists(ref))) {
      deletedObjects.push(`${ref.kind}/${ref.name}`);
    }
  };
  await deleteOwned(proxyObjectRefs(p).statefulSet);

  let deletedDevices: string[] = [];
  let orphanedDevices: string[] = [];
  const deviceIds = new Set(Object.values(input.knownDevices));
  // Read again after the revocation: a replica may have recorded its device meanwhile.
  let secrets = await listSecrets();
  try {
    const client = await deps.tailscale();
    await revokeReplicaKeys(client, secrets);
    secrets = await listSecrets();
    for (const secret of secrets) {
      const { deviceId } = readReplicaState(secret);
      if (deviceId) deviceIds.add(deviceId);
    }
    if (deviceIds.size) deletedDevices = await deleteProxyDevices(client, [...deviceIds]);
  } catch (err) {
    // With its TailscaleTailnet gone there are no credentials left to delete devices with; blocking
    // the deletion forever would not bring them back.
    if (!(err instanceof TailnetUnavailable && err.reason === TailnetReason.TailnetNotFound)) throw err;
    orphanedDevices = [...deviceIds];
    deps.logger.warn('tailnet gone: devices left in the tailnet', {
      parent: `${d.kind} ${d.namespace}/${d.name}`,
      devices: orphanedDevices,
    });
  }

  const { statefulSet: _, ...owned } = proxyObjectRefs(p);
  for (const ref of Object.values(owned)) await deleteOwned(ref);
  // Only as read: a replica that logged in before the revocation may record its device only now, and
  // the conflict sends the retry back to read and delete it.
  for (const secret of secrets) {
    if (
      await deps.objects.deleteIfExists(refOf(secret), { resourceVersion: secret.metadata.resourceVersion })
    )
      deletedObjects.push(`Secret/${secret.metadata.name}`);
  }
  return { deletedDevices, orphanedDevices, deletedObjects };
}

/** The objects of a placement other than its Secrets, in the order they are deleted after the StatefulSet. */
function proxyObjectRefs(p: ProxyPlacement) {
  const rbac = 'rbac.authorization.k8s.io/v1';
  const ref = (apiVersion: string, kind: string, name: string): ObjectRef => ({
    apiVersion,
    kind,
    namespace: p.namespace,
    name,
  });
  return {
    statefulSet: ref('apps/v1', 'StatefulSet', proxyNames.statefulSet(p)),
    service: ref('v1', 'Service', proxyNames.service(p)),
    roleBinding: ref(rbac, 'RoleBinding', proxyNames.roleBinding(p)),
    role: ref(rbac, 'Role', proxyNames.role(p)),
    serviceAccount: ref('v1', 'ServiceAccount', proxyNames.serviceAccount(p)),
    proxiesConfigMap: ref('v1', 'ConfigMap', proxyNames.proxiesConfigMap(p)),
  };
}

export interface RemovedLegacyProxy {
  deletedDevices: string[];
  deletedObjects: string[];
  /** The worker may not read or delete in the parent's namespace (the chart's legacy cleanup is off). */
  forbidden?: boolean;
}

/**
 * Upgrade from the placement before the operator namespace: once the parent's proxies are applied
 * there, its old proxies in its own namespace (named after it, owned by a controller ownerReference) go,
 * so that no auth key or proxy state stays where the tenant can read it. Keys are revoked and devices
 * deleted first (the new replicas then register under the same hostnames); the StatefulSet goes last,
 * so that a failure half-way is found again by the next pass.
 */
export async function removeLegacyProxy(
  deps: Omit<CleanupDeps, 'placement'>,
  d: ProxyDeployment,
): Promise<RemovedLegacyProxy> {
  const legacy = legacyProxyPlacement(d);
  const refs = proxyObjectRefs(legacy);
  let sts: WireObject | undefined;
  try {
    sts = await deps.objects.read(refs.statefulSet);
  } catch (err) {
    if (kubeStatusCode(err) === 403) return { deletedDevices: [], deletedObjects: [], forbidden: true };
    throw err;
  }
  if (!sts || !isLegacyOwnedBy(sts, d)) return { deletedDevices: [], deletedObjects: [] };
  const oldReplicas = (sts.spec as { replicas?: number } | undefined)?.replicas ?? 0;
  const secretRef = (name: string): ObjectRef => ({
    apiVersion: 'v1',
    kind: 'Secret',
    namespace: legacy.namespace,
    name,
  });
  const secretRefs = ordinals(Math.max(oldReplicas, d.replicas)).flatMap((i) => [
    secretRef(proxyNames.stateSecret(legacy, i)),
    secretRef(proxyNames.configSecret(legacy, i)),
  ]);
  const secrets = (await Promise.all(secretRefs.map((ref) => deps.objects.read(ref)))).filter(
    (s): s is WireObject => s !== undefined && isLegacyOwnedBy(s, d),
  );
  const deviceIds = secrets.flatMap((s) => readReplicaState(s).deviceId ?? []);
  let deletedDevices: string[] = [];
  try {
    const client = await deps.tailscale();
    await revokeReplicaKeys(client, secrets);
    if (deviceIds.length) deletedDevices = await deleteProxyDevices(client, deviceIds);
  } catch (err) {
    // As in deleteProxy: without the tailnet there is nothing to revoke or delete with.
    if (!(err instanceof TailnetUnavailable && err.reason === TailnetReason.TailnetNotFound)) throw err;
  }
  const deletedObjects: string[] = [];
  const deleteOwned = async (ref: ObjectRef, live?: WireObject) => {
    const current = live ?? (await deps.objects.read(ref));
    if (current && isLegacyOwnedBy(current, d) && (await deps.objects.deleteIfExists(ref)))
      deletedObjects.push(`${ref.kind}/${ref.name}`);
  };
  for (const secret of secrets) await deleteOwned(refOf(secret), secret);
  const { statefulSet, ...rest } = refs;
  for (const ref of Object.values(rest)) await deleteOwned(ref);
  await deleteOwned(statefulSet, sts);
  deps.logger.info('removed the proxies of the placement before the operator namespace', {
    parent: `${d.kind} ${d.namespace}/${d.name}`,
    objects: deletedObjects,
    devices: deletedDevices,
  });
  return { deletedDevices, deletedObjects };
}

/** Revokes the auth key each config Secret hands its replica, spent or not (a spent one is a no-op). */
async function revokeReplicaKeys(client: TailscaleClient, secrets: WireObject[]): Promise<void> {
  const keyIds = secrets.flatMap((secret) => {
    const key = parseTailscaledConfig(secretValue(secret, tailscaledConfigKey))?.AuthKey;
    const id = typeof key === 'string' ? authKeyId(key) : undefined;
    return id ? [id] : [];
  });
  await Promise.all(keyIds.map((id) => deleteKey(client, id)));
}

/** `tskey-auth-<id>-<secret>`: the id part, never the secret. */
export function authKeyId(key: string): string | undefined {
  return /^tskey-auth-([A-Za-z0-9]+)-/.exec(key)?.[1];
}
