import type { WireObject } from '../kubernetes/apply';

/** The keys containerboot writes to a replica's state Secret (docs/tailscale-api-facts.md §2.4). */
export const stateKeys = {
  deviceId: 'device_id',
  deviceFqdn: 'device_fqdn',
  deviceIps: 'device_ips',
  podUid: 'pod_uid',
  reissueAuthKey: 'reissue_authkey',
  capVersion: 'tailscale_capver',
  /** Names the key of tailscaled's current profile (`profile-<hex>`), whose prefs hold AdvertiseServices. */
  currentProfile: '_current-profile',
} as const;

export interface ProxyReplicaState {
  deviceId?: string;
  /** Without the trailing dot containerboot writes. */
  deviceFqdn?: string;
  deviceIps: string[];
  podUid?: string;
  /** The auth key the proxy failed to log in with (or `no-authkey`): a request for a fresh one. */
  reissueAuthKey?: string;
  /** containerboot's tailcfg.CurrentCapabilityVersion (written from capability version 109 on). */
  capVersion?: number;
  /** The VIP services tailscaled's current prefs advertise (applied, not necessarily approved). */
  advertisedServices: string[];
}

export function secretValue(secret: WireObject | undefined, key: string): string | undefined {
  const data = secret?.data as Record<string, string> | undefined;
  const encoded = data?.[key];
  if (encoded === undefined) return undefined;
  const value = Buffer.from(encoded, 'base64').toString('utf8');
  return value === '' ? undefined : value;
}

export function readReplicaState(secret: WireObject | undefined): ProxyReplicaState {
  const state: ProxyReplicaState = {
    deviceIps: parseIps(secretValue(secret, stateKeys.deviceIps)),
    advertisedServices: advertisedServicesOf(secret),
  };
  const deviceId = secretValue(secret, stateKeys.deviceId);
  const fqdn = secretValue(secret, stateKeys.deviceFqdn);
  const podUid = secretValue(secret, stateKeys.podUid);
  const reissue = secretValue(secret, stateKeys.reissueAuthKey);
  if (deviceId) state.deviceId = deviceId;
  if (fqdn) state.deviceFqdn = fqdn.replace(/\.$/, '');
  if (podUid) state.podUid = podUid;
  if (reissue) state.reissueAuthKey = reissue;
  const capVersion = Number(secretValue(secret, stateKeys.capVersion) ?? NaN);
  if (Number.isInteger(capVersion)) state.capVersion = capVersion;
  return state;
}

function advertisedServicesOf(secret: WireObject | undefined): string[] {
  const profileKey = secretValue(secret, stateKeys.currentProfile);
  const prefs = profileKey && parseJson(secretValue(secret, profileKey));
  const services =
    prefs && typeof prefs === 'object' ? (prefs as { AdvertiseServices?: unknown }).AdvertiseServices : [];
  return stringsIn(services);
}

const parseIps = (text: string | undefined) => stringsIn(parseJson(text));

function parseJson(text: string | undefined): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const stringsIn = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
