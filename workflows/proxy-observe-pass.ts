import type { ProxyObservation } from '../activities/proxies/devices';
import { sameSnapshotsApartFrom } from './loop-decisions';
import type { ObjectSnapshot } from './types';

/**
 * The related version of a proxy parent that moves whenever tailscaled rewrites a replica's state
 * Secret (watchers/proxy-kinds.ts): on registering, on losing its state, and on every change of the
 * services it advertises.
 */
export const stateSecretsKey = 'stateSecrets';

/** `next` differs from `previous` in nothing but the proxies' state Secrets (and the object's resourceVersion). */
export function onlyStateSecretsMoved(
  previous: ObjectSnapshot<unknown>,
  next: ObjectSnapshot<unknown>,
): boolean {
  if (next.relatedVersions?.[stateSecretsKey] === undefined) return false;
  return sameSnapshotsApartFrom(previous, next, (s) => {
    const { [stateSecretsKey]: _moved, ...rest } = s.relatedVersions ?? {};
    return { ...s, relatedVersions: rest };
  });
}

/**
 * Whether an observation leaves the whole pass nothing to do: every replica still runs the device the
 * last whole pass knew and its ensureProxyConfigs saw (so that replica's auth key is already dropped),
 * and no proxy asks for a fresh key.
 */
export function observationSettled(
  replicas: number,
  known: { devices: Record<string, string>; configured: Record<string, string> },
  observed: Pick<ProxyObservation, 'deviceIds' | 'reissueRequested'>,
): boolean {
  if (observed.reissueRequested?.length) return false;
  for (let ordinal = 0; ordinal < replicas; ordinal++) {
    const id = observed.deviceIds[String(ordinal)];
    if (!id || known.devices[String(ordinal)] !== id || known.configured[String(ordinal)] !== id)
      return false;
  }
  return true;
}
