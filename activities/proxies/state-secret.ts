import type { WireObject } from '../kubernetes/apply';

/** The keys containerboot writes to a replica's state Secret (docs/tailscale-api-facts.md §2.4). */
export const stateKeys = {
  deviceId: 'device_id',
  deviceFqdn: 'device_fqdn',
  deviceIps: 'device_ips',
  podUid: 'pod_uid',
  reissueAuthKey: 'reissue_authkey',
  capVersion: 'tailscale_capver',
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
}

export function secretValue(secret: WireObject | undefined, key: string): string | undefined {
  const data = secret?.data as Record<string, string> | undefined;
  const encoded = data?.[key];
  if (encoded === undefined) return undefined;
  const value = Buffer.from(encoded, 'base64').toString('utf8');
  return value === '' ? undefined : value;
}

export function readReplicaState(secret: WireObject | undefined): ProxyReplicaState {
  const state: ProxyReplicaState = { deviceIps: parseIps(secretValue(secret, stateKeys.deviceIps)) };
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

function parseIps(text: string | undefined): string[] {
  if (!text) return [];
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) ? value.filter((ip): ip is string => typeof ip === 'string') : [];
  } catch {
    return [];
  }
}
