/**
 * One proxy replica playing tailscaled + containerboot: pick and decode its config file as they do
 * (./conffile.ts; a refused file means the process exits before writing anything), log in with the auth
 * key from it, record the device in its state Secret, keep `pod_uid` and `tailscale_capver` current,
 * and advertise exactly the services its config lists. Every write is skipped when the state already
 * says it, so an idle replica writes nothing.
 */
import { createHash } from 'node:crypto';
import type { TailscaleSimulatorAdmin } from '../tailscale/admin';
import { ApiError } from '../tailscale/api-error';
import {
  chooseConfigFile,
  loadTailscaledConfig,
  TailscaledConfigRefused,
  type TailscaledConfigVAlpha,
} from './conffile';
import type { ProxySecrets, SecretData } from './secrets';

export type ProxyTailscale = Pick<
  TailscaleSimulatorAdmin,
  'registerDevice' | 'setDeviceOnline' | 'advertiseServices' | 'unadvertiseServices' | 'dumpState'
>;

export interface ReplicaTarget {
  namespace: string;
  stateSecret: string;
  configSecret: string;
  pod: { name: string; uid: string };
  /** The replica's tailcfg.CurrentCapabilityVersion. */
  capVersion: number;
  /** The process starts afresh in this pass (after a crash): its device comes back online. */
  restarted?: boolean;
}

export interface ReplicaOutcome {
  /** Logged in and serving for this pod. */
  ready: boolean;
  nodeId?: string;
  /** The device's MagicDNS name, no trailing dot. */
  fqdn?: string;
  /** The tailscaled config is locked (`Locked` not false): LocalAPI refuses prefs and serve edits. */
  locked?: boolean;
  loggedIn?: boolean;
  rejectedKey?: boolean;
  /** containerboot exited on its config, with this log line (never holding the auth key). */
  crashed?: string;
}

/** What containerboot writes when it has no usable key: a request for one. */
export const noAuthKey = 'no-authkey';

export async function syncReplica(
  secrets: ProxySecrets,
  tailscale: ProxyTailscale,
  target: ReplicaTarget,
): Promise<ReplicaOutcome> {
  const [state, configData] = await Promise.all([
    secrets.read(target.namespace, target.stateSecret),
    secrets.read(target.namespace, target.configSecret),
  ]);
  // Without its config Secret the pod cannot mount its config directory and never starts.
  if (!state || !configData) return { ready: false };
  let config: TailscaledConfigVAlpha;
  try {
    config = readConfig(configData, target);
  } catch (err) {
    if (!(err instanceof TailscaledConfigRefused)) throw err;
    // tailscaled is not running: its device, if it had one, drops off.
    await markOffline(tailscale, state);
    return { ready: false, crashed: redactAuthKeys(err.message) };
  }

  const changes: Record<string, string | null> = {};
  const capVersion = String(target.capVersion);
  if (state.tailscale_capver !== capVersion) changes.tailscale_capver = capVersion;
  const outcome: ReplicaOutcome = { ready: false };
  let nodeId = state.device_id;
  let fqdn = state.device_fqdn;
  if (!nodeId) {
    const authKey = typeof config.AuthKey === 'string' ? config.AuthKey : undefined;
    // Without a key, or with one already reported as failing, tailscaled waits for the operator.
    if (!authKey || state.reissue_authkey === authKey) return outcome;
    try {
      const device = await tailscale.registerDevice({
        authKey,
        hostname: typeof config.Hostname === 'string' ? config.Hostname : target.pod.name,
      });
      nodeId = device.nodeId;
      fqdn = `${device.name}.`;
      Object.assign(changes, {
        device_id: device.nodeId,
        device_fqdn: fqdn,
        device_ips: JSON.stringify(device.addresses),
        reissue_authkey: null,
      });
      outcome.loggedIn = true;
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 400) throw err;
      // The control plane refused the key (spent, revoked, expired): ask the operator for another.
      await secrets.patch(target.namespace, target.stateSecret, { reissue_authkey: authKey });
      return { ...outcome, rejectedKey: true };
    }
  }
  if (state.pod_uid !== target.pod.uid || target.restarted) {
    changes.pod_uid = target.pod.uid;
    if (!outcome.loggedIn && !(await setOnline(tailscale, nodeId, true))) {
      await loggedOut(secrets, target);
      return outcome;
    }
  }

  const profileKey = state['_current-profile'] ?? profileKeyOf(nodeId);
  const advertised = advertisedIn(state[profileKey]);
  const wanted = stringList(config.AdvertiseServices);
  const add = wanted.filter((s) => !advertised.includes(s));
  const remove = advertised.filter((s) => !wanted.includes(s));
  try {
    if (add.length) await tailscale.advertiseServices({ nodeId, services: add });
    if (remove.length) await tailscale.unadvertiseServices({ nodeId, services: remove });
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) {
      await loggedOut(secrets, target);
      return outcome;
    }
    throw err;
  }
  if (outcome.loggedIn || add.length || remove.length || !state[profileKey]) {
    changes['_current-profile'] = profileKey;
    changes[profileKey] = JSON.stringify({
      // The MagicDNS name without the root dot, as Tailscale's operator reads it (its tests write it so).
      Config: { NodeID: nodeId, UserProfile: { LoginName: fqdn?.replace(/\.$/, '') ?? '' } },
      AdvertiseServices: wanted,
    });
  }
  if (Object.keys(changes).length) await secrets.patch(target.namespace, target.stateSecret, changes);
  return { ...outcome, ready: true, nodeId, fqdn: fqdn?.replace(/\.$/, ''), locked: config.Locked !== false };
}

/**
 * containerboot's start (cmd/containerboot/settings.go configFromEnv and validate): choose the file,
 * check it exists, load it. Any failure exits the process before it writes anything.
 */
function readConfig(files: SecretData, target: ReplicaTarget): TailscaledConfigVAlpha {
  const dir = `/etc/tsconfig/${target.pod.name}/`;
  const file = chooseConfigFile(Object.keys(files), target.capVersion, dir.slice(0, -1));
  const text = files[file];
  if (text === undefined) {
    throw new TailscaledConfigRefused(
      `invalid configuration: error validating whether tailscaled config directory "${dir}" contains tailscaled config for current capability version "${file}": stat ${dir}${file}: no such file or directory`,
    );
  }
  try {
    return loadTailscaledConfig(`${dir}${file}`, text);
  } catch (err) {
    if (!(err instanceof TailscaledConfigRefused)) throw err;
    throw new TailscaledConfigRefused(
      `invalid configuration: error validating tailscaled configfile contents: ${err.message}`,
    );
  }
}

function redactAuthKeys(text: string): string {
  return text.replace(/tskey-[A-Za-z0-9-]+/g, 'tskey-<redacted>');
}

/** The device is gone from the tailnet: tailscaled is logged out and needs a new key. */
async function loggedOut(secrets: ProxySecrets, target: ReplicaTarget): Promise<void> {
  await secrets.patch(target.namespace, target.stateSecret, {
    device_id: null,
    device_fqdn: null,
    device_ips: null,
    reissue_authkey: noAuthKey,
  });
}

async function setOnline(tailscale: ProxyTailscale, nodeId: string, online: boolean): Promise<boolean> {
  try {
    await tailscale.setDeviceOnline({ nodeId, online });
    return true;
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return false;
    throw err;
  }
}

export async function markOffline(tailscale: ProxyTailscale, state: SecretData | undefined): Promise<void> {
  if (state?.device_id) await setOnline(tailscale, state.device_id, false);
}

// tailscaled's kubestore keys: `profile-<4 hex>`, the current one named by `_current-profile`.
const profileKeyOf = (nodeId: string) =>
  `profile-${createHash('sha256').update(nodeId).digest('hex').slice(0, 4)}`;

function advertisedIn(prefs: string | undefined): string[] {
  if (!prefs) return [];
  try {
    return stringList((JSON.parse(prefs) as { AdvertiseServices?: unknown }).AdvertiseServices);
  } catch {
    return [];
  }
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((s): s is string => typeof s === 'string') : [];
}
