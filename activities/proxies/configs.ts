import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { ApplicationFailure } from '@temporalio/common';
import type { ProxyDeployment } from '../../api/v1alpha1/proxy';
import type { Logger } from '../../runtime/logger';
import {
  desiredConfigSecret,
  desiredTailscaledConfig,
  ordinals,
  proxyNames,
  type ProxyPlacement,
} from '../specs/proxy-group';
import { parseTailscaledConfig, tailscaledConfigKey } from '../specs/tailscaled-config';
import type { KubeObjects, WireObject } from '../kubernetes/apply';
import { isConflict, toKubeActivityFailure } from '../kubernetes/errors';
import { isSubsetOf } from '../kubernetes/subset';
import type { TailscaleClient } from '../tailscale/client';
import { deleteDevice } from '../tailscale/devices';
import { isTailscaleApiError, toActivityFailure } from '../tailscale/errors';
import { createAuthKey, deleteKey, revokeUsableKeysDescribed } from '../tailscale/keys';
import { readReplicaState, secretValue } from './state-secret';

export interface EnsureProxyConfigsInput {
  deployment: ProxyDeployment;
  /** False while the workflow's reissue rate limit holds: requests wait for a later pass. */
  allowReissue: boolean;
}

export interface ReplicaConfigOutcome {
  ordinal: number;
  /** The replica's pod (in the operator namespace); absent from results recorded before placement. */
  pod?: string;
  deviceId?: string;
  /** IDs only: the key itself goes from the API response straight into the config Secret. */
  mintedKeyId?: string;
  reissued: boolean;
  reissueDeferred: boolean;
  configWritten: boolean;
}

export interface ProxyConfigsOutcome {
  replicas: ReplicaConfigOutcome[];
}

export interface ConfigDeps {
  objects: KubeObjects;
  /** Where this deployment's proxies live (proxyPlacement). */
  placement: ProxyPlacement;
  /** Resolved only when a key must be minted or a stale device deleted. */
  tailscale: () => Promise<TailscaleClient>;
  /** This operator's `<clusterID>/<operatorID>`: part of each key's description. */
  operator: string;
  logger: Logger;
}

const maxWriteAttempts = 5;

/**
 * Renders each replica's tailscaled config into its config Secret. An auth key is minted only for a
 * replica without a device (no `device_id` in its state Secret) and no key yet, or when the proxy asks
 * for a fresh one (`reissue_authkey`); it is dropped once the device exists. `AdvertiseServices` is
 * read back and preserved: the TailscaleServices workflow writes it.
 */
export async function ensureProxyConfigs(
  deps: ConfigDeps,
  input: EnsureProxyConfigsInput,
): Promise<ProxyConfigsOutcome> {
  const d = input.deployment;
  // Every replica's work ends before the attempt fails: a retry must not race a sibling still writing
  // the key it minted into its config Secret.
  const settled = await Promise.allSettled(
    ordinals(d.replicas).map((i) => ensureReplicaConfig(deps, input, i)),
  );
  const replicas: ReplicaConfigOutcome[] = [];
  for (const result of settled) {
    if (result.status === 'rejected') throw result.reason;
    replicas.push(result.value);
  }
  return { replicas };
}

async function ensureReplicaConfig(
  deps: ConfigDeps,
  input: EnsureProxyConfigsInput,
  ordinal: number,
): Promise<ReplicaConfigOutcome> {
  const d = input.deployment;
  const p = deps.placement;
  const outcome: ReplicaConfigOutcome = {
    ordinal,
    pod: proxyNames.pod(p, ordinal),
    reissued: false,
    reissueDeferred: false,
    configWritten: false,
  };
  let minted: { id: string; key: string } | undefined;
  try {
    for (let attempt = 1; ; attempt++) {
      const [stateSecret, configSecret] = await Promise.all([
        deps.objects.read({
          apiVersion: 'v1',
          kind: 'Secret',
          namespace: p.namespace,
          name: proxyNames.stateSecret(p, ordinal),
        }),
        deps.objects.read({
          apiVersion: 'v1',
          kind: 'Secret',
          namespace: p.namespace,
          name: proxyNames.configSecret(p, ordinal),
        }),
      ]);
      const state = readReplicaState(stateSecret);
      const current = parseTailscaledConfig(secretValue(configSecret, tailscaledConfigKey));
      const currentKey =
        typeof current?.AuthKey === 'string' && current.AuthKey !== '' ? current.AuthKey : undefined;
      if (state.deviceId) outcome.deviceId = state.deviceId;

      // containerboot puts the key that failed (or "no-authkey") here; once we configure another key the
      // request is answered, which keeps this idempotent across retries.
      const reissueRequested =
        state.reissueAuthKey !== undefined &&
        (currentKey === undefined || state.reissueAuthKey === currentKey);
      let authKey: string | undefined;
      if (minted) {
        authKey = minted.key;
      } else if (reissueRequested && !input.allowReissue) {
        outcome.reissueDeferred = true;
        authKey = currentKey;
      } else if (reissueRequested || (!state.deviceId && !currentKey)) {
        const client = await deps.tailscale();
        if (reissueRequested && state.deviceId) await deleteDevice(client, state.deviceId);
        minted = await mintAuthKey(deps, client, d, ordinal);
        outcome.mintedKeyId = minted.id;
        outcome.reissued = reissueRequested;
        authKey = minted.key;
      } else {
        // Kept while the proxy has no device, or while a reissue it asked for is still pending (it
        // clears reissue_authkey once logged in; device_id may still name the stale device until then).
        authKey = state.deviceId && state.reissueAuthKey === undefined ? undefined : currentKey;
      }

      const config = desiredTailscaledConfig(d, ordinal, { authKey, current });
      const desired = desiredConfigSecret(d, p, ordinal, config) as WireObject;
      // Compared as parsed JSON: another writer's formatting or key order is not a change.
      const { data: _data, ...metadataOnly } = desired;
      if (configSecret && isDeepStrictEqual(config, current) && isSubsetOf(metadataOnly, configSecret)) {
        return outcome;
      }
      try {
        await deps.objects.applyIfChanged(desired, undefined, {
          resourceVersion: configSecret?.metadata.resourceVersion,
        });
        outcome.configWritten = true;
        return outcome;
      } catch (err) {
        // Someone else (TailscaleServices editing AdvertiseServices) wrote in between: re-read, keep our key.
        if (isConflict(err) && attempt < maxWriteAttempts) continue;
        throw err;
      }
    }
  } catch (err) {
    if (minted) await revokeUnused(deps, d, minted.id);
    if (err instanceof ApplicationFailure) throw err;
    if (isTailscaleApiError(err)) throw toActivityFailure(err);
    throw toKubeActivityFailure(
      err,
      `writing the config Secret of replica ${ordinal} of ${d.kind} ${d.namespace}/${d.name}`,
    );
  }
}

/**
 * Mints the replica's key, first revoking any key of the same replica still usable: one minted by an
 * earlier attempt whose answer was lost (a 5xx or a dropped connection after Tailscale created it), or
 * the one the proxy asked to replace. We mint only when the replica has no key or must get a new one,
 * so none of them is in use.
 */
async function mintAuthKey(deps: ConfigDeps, client: TailscaleClient, d: ProxyDeployment, ordinal: number) {
  const description = keyDescription(d, ordinal, deps.operator);
  const earlier = await revokeUsableKeysDescribed(client, description);
  if (earlier.length) {
    deps.logger.info('revoked unused auth keys of a replica before minting its key', {
      parent: `${d.kind} ${d.namespace}/${d.name}`,
      ordinal,
      keyIds: earlier,
    });
  }
  try {
    const created = await createAuthKey(client, {
      reusable: false,
      ephemeral: false,
      preauthorized: true,
      tags: d.tags,
      description,
    });
    return { id: created.id, key: created.key };
  } catch (err) {
    if (isTailscaleApiError(err) && (err.status === 400 || err.status === 403)) {
      throw ApplicationFailure.create({
        type: 'AuthKeyRejected',
        nonRetryable: true,
        message: `spec.tags: Tailscale refused an auth key tagged ${d.tags.join(', ')} (${err.apiMessage ?? err.message}); the tags must be owned by the OAuth client of TailscaleTailnet ${d.tailnet}, which needs the auth_keys scope`,
      });
    }
    throw err;
  }
}

/**
 * At most 50 letters, digits, spaces and dashes: the replica's name first (readable in the admin
 * console), then a hash of the operator and the replica, so that no two replicas share a description,
 * whatever the truncation or another cluster using the same OAuth client with the same names.
 */
export function keyDescription(d: ProxyDeployment, ordinal: number, operator: string): string {
  const readable = `${d.name}-${ordinal} in ${d.namespace}`.replace(/[^A-Za-z0-9 -]/g, '-').slice(0, 41);
  const identity = createHash('sha256')
    .update(`${operator}\n${d.kind}\n${d.namespace}\n${d.name}\n${ordinal}`)
    .digest('hex')
    .slice(0, 8);
  return `${readable} ${identity}`;
}

/** A key minted by a failed attempt never reached a config Secret: revoke it so one replica has one key. */
async function revokeUnused(deps: ConfigDeps, d: ProxyDeployment, keyId: string): Promise<void> {
  try {
    await deleteKey(await deps.tailscale(), keyId);
  } catch (err) {
    deps.logger.warn('could not revoke an unused auth key; it expires on its own', {
      parent: `${d.namespace}/${d.name}`,
      keyId,
      error: err instanceof Error ? err.message : String(err),
    });
  }
}
