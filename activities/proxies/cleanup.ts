import type { ProxyDeployment } from '../../api/v1alpha1/proxy';
import type { Logger } from '../../runtime/logger';
import { proxyNames } from '../specs/proxy-group';
import { TailnetUnavailable } from '../tailnets';
import { parseTailscaledConfig, tailscaledConfigKey } from '../specs/tailscaled-config';
import { refOf, type KubeObjects, type ObjectRef, type WireObject } from '../kubernetes/apply';
import type { TailscaleClient } from '../tailscale/client';
import { deleteKey } from '../tailscale/keys';
import { deleteProxyDevices } from './devices';
import { isOwnedBy } from './ownership';
import { selectorOf } from './objects';
import { readReplicaState, secretValue } from './state-secret';

export interface CleanupDeps {
  objects: KubeObjects;
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
 * go first, so a failure leaves the Secret that names the device for the next attempt.
 */
export async function removeProxyReplicas(
  deps: CleanupDeps,
  input: { deployment: ProxyDeployment; ordinals: number[]; knownDevices: Record<string, string> },
): Promise<RemovedReplicas> {
  const d = input.deployment;
  const secretRef = (name: string): ObjectRef => ({
    apiVersion: 'v1',
    kind: 'Secret',
    namespace: d.namespace,
    name,
  });
  const client = await deps.tailscale();
  // A removed replica still starting could otherwise log in after its state was read.
  const configs = await Promise.all(
    input.ordinals.map((ordinal) => deps.objects.read(secretRef(proxyNames.configSecret(d, ordinal)))),
  );
  await revokeReplicaKeys(
    client,
    configs.filter((c): c is WireObject => c !== undefined),
  );
  const deviceIds = new Set<string>();
  for (const ordinal of input.ordinals) {
    const state = readReplicaState(await deps.objects.read(secretRef(proxyNames.stateSecret(d, ordinal))));
    if (state.deviceId) deviceIds.add(state.deviceId);
    const known = input.knownDevices[String(ordinal)];
    if (known) deviceIds.add(known);
  }
  const deletedDevices = deviceIds.size ? await deleteProxyDevices(client, [...deviceIds]) : [];
  for (const ordinal of input.ordinals) {
    await deps.objects.deleteIfExists(secretRef(proxyNames.stateSecret(d, ordinal)));
    await deps.objects.deleteIfExists(secretRef(proxyNames.configSecret(d, ordinal)));
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
  const listSecrets = () =>
    deps.objects.list({ apiVersion: 'v1', kind: 'Secret', namespace: d.namespace }, selectorOf(d));
  const deletedObjects: string[] = [];
  const deleteOwned = async (ref: ObjectRef) => {
    const live = await deps.objects.read(ref);
    if (live && isOwnedBy(live, d) && (await deps.objects.deleteIfExists(ref))) {
      deletedObjects.push(`${ref.kind}/${ref.name}`);
    }
  };
  const statefulSet: ObjectRef = {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    namespace: d.namespace,
    name: proxyNames.statefulSet(d),
  };
  await deleteOwned(statefulSet);

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
    if (!(err instanceof TailnetUnavailable && err.reason === 'TailnetNotFound')) throw err;
    orphanedDevices = [...deviceIds];
    deps.logger.warn('tailnet gone: devices left in the tailnet', {
      parent: `${d.kind} ${d.namespace}/${d.name}`,
      devices: orphanedDevices,
    });
  }

  const owned: ObjectRef[] = [
    { apiVersion: 'v1', kind: 'Service', namespace: d.namespace, name: proxyNames.service(d) },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      namespace: d.namespace,
      name: proxyNames.roleBinding(d),
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      namespace: d.namespace,
      name: proxyNames.role(d),
    },
    { apiVersion: 'v1', kind: 'ServiceAccount', namespace: d.namespace, name: proxyNames.serviceAccount(d) },
  ];
  for (const ref of owned) await deleteOwned(ref);
  for (const secret of secrets) {
    if (await deps.objects.deleteIfExists(refOf(secret)))
      deletedObjects.push(`Secret/${secret.metadata.name}`);
  }
  return { deletedDevices, orphanedDevices, deletedObjects };
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
