/**
 * Auth keys. The secret (`key`) exists only in the create response: hand it straight to the proxy's
 * config Secret, never to a log, an error, or a workflow's history.
 */
import type { TailscaleClient } from './client';
import { isNotFound } from './errors';
import {
  booleanOr,
  isRecord,
  isStringArray,
  listField,
  optionalString,
  stringOr,
  unexpectedResponse,
} from './response-shape';
import type { CallOptions } from './vip-services';

export interface AuthKeyCapabilities {
  reusable: boolean;
  ephemeral: boolean;
  preauthorized: boolean;
  /** Required when the client is an OAuth client; must be owned by its tags. */
  tags: string[];
}

export interface CreateAuthKeyInput extends Partial<AuthKeyCapabilities> {
  /** Default (0 or unset): 90 days. */
  expirySeconds?: number;
  /** At most 50 characters of letters, digits, spaces and dashes. */
  description?: string;
}

export interface AuthKeyInfo {
  id: string;
  keyType: string;
  description: string;
  created: string;
  expires: string;
  /** True once spent (single-use), revoked or expired. */
  invalid: boolean;
  revoked?: string;
  capabilities: AuthKeyCapabilities;
}

export interface CreatedAuthKey extends AuthKeyInfo {
  /** The secret `tskey-auth-...`. */
  key: string;
}

function parseKey(value: unknown, method: string, path: string): AuthKeyInfo {
  if (!isRecord(value) || typeof value.id !== 'string')
    throw unexpectedResponse('a key needs an id', method, path);
  const devices =
    isRecord(value.capabilities) && isRecord(value.capabilities.devices) ? value.capabilities.devices : {};
  const create = isRecord(devices.create) ? devices.create : {};
  const info: AuthKeyInfo = {
    id: value.id,
    keyType: stringOr(value.keyType, 'auth'),
    description: stringOr(value.description, ''),
    created: stringOr(value.created, ''),
    expires: stringOr(value.expires, ''),
    invalid: booleanOr(value.invalid, false),
    capabilities: {
      reusable: booleanOr(create.reusable, false),
      ephemeral: booleanOr(create.ephemeral, false),
      preauthorized: booleanOr(create.preauthorized, false),
      tags: isStringArray(create.tags) ? [...create.tags] : [],
    },
  };
  const revoked = optionalString(value.revoked);
  if (revoked !== undefined) info.revoked = revoked;
  return info;
}

export async function createAuthKey(
  client: TailscaleClient,
  input: CreateAuthKeyInput,
  options: CallOptions = {},
): Promise<CreatedAuthKey> {
  const path = client.tailnetPath('keys');
  const body = {
    capabilities: {
      devices: {
        create: {
          reusable: input.reusable ?? false,
          ephemeral: input.ephemeral ?? false,
          preauthorized: input.preauthorized ?? false,
          tags: input.tags ?? [],
        },
      },
    },
    expirySeconds: input.expirySeconds ?? 0,
    description: input.description ?? '',
  };
  const { json } = await client.request('POST', path, { body, signal: options.signal });
  if (!isRecord(json) || typeof json.key !== 'string')
    throw unexpectedResponse('the created key has no secret', 'POST', path);
  return { ...parseKey(json, 'POST', path), key: json.key };
}

/**
 * Without `all`, what the caller's own credentials see: for an OAuth client that is the tailnet's
 * OAuth clients, not its auth keys. With `all: true`, every key of the tailnet. Go servers may send
 * the list as `null` or leave it out when empty.
 */
export async function listKeys(
  client: TailscaleClient,
  options: CallOptions & { all?: boolean } = {},
): Promise<AuthKeyInfo[]> {
  const path = client.tailnetPath('keys');
  const { json } = await client.request('GET', path, {
    query: { all: options.all ? 'true' : undefined },
    signal: options.signal,
  });
  return listField(json, 'keys', 'GET', path).map((item) => parseKey(item, 'GET', path));
}

/**
 * Revokes every auth key of the tailnet that could still log a device in and carries exactly this
 * description; returns their IDs. The list must be `all=true`: without it an OAuth client never sees
 * the auth keys it minted (https://tailscale.com/api#tag/keys/get/tailnet/{tailnet}/keys).
 */
export async function revokeUsableKeysDescribed(
  client: TailscaleClient,
  description: string,
  options: CallOptions = {},
): Promise<string[]> {
  const usable = (await listKeys(client, { ...options, all: true })).filter(
    (k) => k.keyType === 'auth' && !k.invalid && k.description === description,
  );
  for (const key of usable) await deleteKey(client, key.id, options);
  return usable.map((k) => k.id);
}

export async function getKey(
  client: TailscaleClient,
  keyId: string,
  options: CallOptions = {},
): Promise<AuthKeyInfo | null> {
  const path = client.tailnetPath('keys', keyId);
  try {
    return parseKey((await client.request('GET', path, options)).json, 'GET', path);
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}

/** Revokes the key; false when no such key exists. */
export async function deleteKey(
  client: TailscaleClient,
  keyId: string,
  options: CallOptions = {},
): Promise<boolean> {
  try {
    await client.request('DELETE', client.tailnetPath('keys', keyId), { ...options, bodyUnused: true });
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}
