/**
 * Keys: auth keys (what a device logs in with) and OAuth clients (`keyType: "client"`). The secret is
 * returned only by the create call; a spent single-use, revoked or expired key reads `invalid: true`.
 */
import { badRequest, forbidden, notFound } from './api-error';
import { iso } from './clock';
import type { ApiContext, AuthedRoute, ScopeRequirement } from './context';
import { ok } from './context';
import { newKeyId, newSecret } from './ids';
import {
  optionalBoolean,
  optionalInteger,
  optionalObject,
  optionalString,
  optionalStringArray,
  parseJsonObject,
  type JsonObject,
} from './json-body';
import { isWellFormedScope, requireScopes, scopeGranted } from './scopes';
import type { AuthKeyRecord, OAuthClientRecord, TailnetRecord } from './state';
import { checkTags } from './validation';

export const defaultKeyExpirySeconds = 90 * 24 * 3600;
export const tagsRequiredMessage = 'auth keys created with an OAuth client must have tags';

const keysRead: ScopeRequirement = { scope: 'auth_keys:read', whenMissing: 403 };
const oauthKeysRead = 'oauth_keys:read';
const keysWrite: ScopeRequirement = { scope: 'auth_keys', whenMissing: 403 };
const oauthKeysWrite: ScopeRequirement = { scope: 'oauth_keys', whenMissing: 403 };

export function isAuthKeyUsable(key: AuthKeyRecord, now: number): boolean {
  return key.revokedAt === null && key.expiresAt > now && (key.reusable || key.uses === 0);
}

export function authKeyView(key: AuthKeyRecord, now: number): Record<string, unknown> {
  const view: Record<string, unknown> = {
    id: key.id,
    keyType: 'auth',
    description: key.description,
    created: iso(key.created),
    // The last change the record saw: its revocation, else its creation.
    updated: iso(key.revokedAt ?? key.created),
    expires: iso(key.expiresAt),
    expirySeconds: key.expirySeconds,
    capabilities: {
      devices: {
        create: {
          reusable: key.reusable,
          ephemeral: key.ephemeral,
          preauthorized: key.preauthorized,
          tags: [...key.tags],
        },
      },
    },
    invalid: !isAuthKeyUsable(key, now),
    userId: '',
  };
  if (key.revokedAt !== null) view.revoked = iso(key.revokedAt);
  return view;
}

export function oauthClientView(client: OAuthClientRecord): Record<string, unknown> {
  return {
    id: client.id,
    keyType: 'client',
    description: client.description,
    created: iso(client.created),
    updated: iso(client.created),
    scopes: [...client.scopes],
    tags: [...client.tags],
    invalid: false,
    userId: '',
  };
}

/** A tag is usable by an OAuth client when the client holds it or one of its tags owns it in the policy. */
export function tagOwnedBy(tailnet: TailnetRecord, tag: string, ownerTags: readonly string[]): boolean {
  return (
    ownerTags.includes(tag) ||
    (tailnet.policy.tagOwners[tag] ?? []).some((owner) => ownerTags.includes(owner))
  );
}

function parseAuthKeyRequest(ctx: ApiContext, body: JsonObject, now: number): AuthKeyRecord {
  const capabilities = optionalObject(body, 'capabilities');
  if (!capabilities) throw badRequest('"capabilities" is required');
  const devices = optionalObject(capabilities, 'devices');
  if (!devices) throw badRequest('"capabilities.devices" is required');
  const create = optionalObject(devices, 'create') ?? {};
  const tags = [...new Set(optionalStringArray(create, 'tags') ?? [])];
  const tagError = checkTags(tags);
  if (tagError) throw badRequest(tagError);

  if (ctx.auth.clientId !== null) {
    if (tags.length === 0) throw badRequest(tagsRequiredMessage);
    const foreign = tags.find((tag) => !tagOwnedBy(ctx.tailnet, tag, ctx.auth.tags));
    if (foreign !== undefined) throw forbidden(`tag "${foreign}" is not owned by this OAuth client's tags`);
  }

  // The operator sends `expirySeconds: 0` (Go, no omitempty): it means "the default".
  const expirySeconds = optionalInteger(body, 'expirySeconds') || defaultKeyExpirySeconds;
  if (expirySeconds < 0 || expirySeconds > defaultKeyExpirySeconds) {
    throw badRequest(`expirySeconds must be between 1 and ${defaultKeyExpirySeconds}`);
  }
  const description = optionalString(body, 'description') ?? '';
  if (!/^[A-Za-z0-9 -]{0,50}$/.test(description)) {
    throw badRequest('description must be at most 50 characters of letters, digits, spaces and dashes');
  }
  const id = newKeyId();
  return {
    id,
    secret: newSecret('auth', id),
    created: now,
    expiresAt: now + expirySeconds * 1000,
    expirySeconds,
    reusable: optionalBoolean(create, 'reusable') ?? false,
    ephemeral: optionalBoolean(create, 'ephemeral') ?? false,
    preauthorized: optionalBoolean(create, 'preauthorized') ?? false,
    tags,
    description,
    createdBy: ctx.auth.clientId,
    uses: 0,
    revokedAt: null,
  };
}

export function parseOAuthClientRequest(body: JsonObject, now: number): OAuthClientRecord {
  const scopes = optionalStringArray(body, 'scopes') ?? [];
  if (scopes.length === 0 || !scopes.every(isWellFormedScope)) {
    throw badRequest('"scopes" must be a non-empty list of OAuth scopes');
  }
  const tags = optionalStringArray(body, 'tags') ?? [];
  const tagError = checkTags(tags);
  if (tagError) throw badRequest(tagError);
  const id = newKeyId();
  return {
    id,
    secret: newSecret('client', id),
    scopes: [...new Set(scopes)],
    tags: [...new Set(tags)],
    description: optionalString(body, 'description') ?? '',
    created: now,
  };
}

function createKey(ctx: ApiContext) {
  const body = parseJsonObject(ctx.req.rawBody);
  const now = ctx.core.clock.now();
  const keyType = optionalString(body, 'keyType') ?? 'auth';
  if (keyType === 'client') {
    requireScopes(ctx.auth.scopes, [oauthKeysWrite]);
    const client = parseOAuthClientRequest(body, now);
    ctx.tailnet.oauthClients.set(client.id, client);
    return ok({ ...oauthClientView(client), key: client.secret });
  }
  if (keyType !== 'auth') throw badRequest(`unsupported keyType "${keyType}"`);
  requireScopes(ctx.auth.scopes, [keysWrite]);
  const key = parseAuthKeyRequest(ctx, body, now);
  ctx.tailnet.authKeys.set(key.id, key);
  return ok({ ...authKeyView(key, now), key: key.secret });
}

/**
 * What the published API description says `GET /keys` returns: with `all=true`, every key of the
 * tailnet (each kind only if the token's scopes grant reading it); without it, a user's token sees
 * that user's keys, while an OAuth-derived token sees the tailnet's OAuth clients and none of the
 * auth keys, not even its own (https://tailscale.com/api#tag/keys/get/tailnet/{tailnet}/keys).
 */
function listKeys(ctx: ApiContext) {
  const now = ctx.core.clock.now();
  const all = ctx.req.query.get('all') === 'true';
  const fromOAuth = ctx.auth.clientId !== null;
  const authKeys =
    all || !fromOAuth
      ? [...ctx.tailnet.authKeys.values()].filter((key) => all || key.createdBy === null)
      : [];
  const clients =
    (all || fromOAuth) && scopeGranted(ctx.auth.scopes, oauthKeysRead)
      ? [...ctx.tailnet.oauthClients.values()]
      : [];
  return ok({
    keys: [...authKeys.map((key) => authKeyView(key, now)), ...clients.map(oauthClientView)],
  });
}

function getKey(ctx: ApiContext) {
  const id = ctx.req.params.keyId ?? '';
  const key = ctx.tailnet.authKeys.get(id);
  if (key) return ok(authKeyView(key, ctx.core.clock.now()));
  const client = ctx.tailnet.oauthClients.get(id);
  if (client) return ok(oauthClientView(client));
  throw notFound();
}

function deleteKey(ctx: ApiContext) {
  const id = ctx.req.params.keyId ?? '';
  const key = ctx.tailnet.authKeys.get(id);
  if (key) {
    key.revokedAt ??= ctx.core.clock.now();
    return ok();
  }
  if (ctx.tailnet.oauthClients.delete(id)) {
    for (const [token, record] of ctx.core.state.tokens)
      if (record.clientId === id) ctx.core.state.tokens.delete(token);
    return ok();
  }
  throw notFound();
}

export function keyRoutes(): AuthedRoute[] {
  const base = '/api/v2/tailnet/{tailnet}/keys';
  const route = (
    method: string,
    template: string,
    scopes: ScopeRequirement[],
    handler: AuthedRoute['handler'],
  ) => ({ kind: 'authed', method, template, scopes, handler }) satisfies AuthedRoute;
  return [
    // One route creates auth keys (`auth_keys`) and OAuth clients (`oauth_keys`): the handler checks the scope.
    route('POST', base, [], createKey),
    route('GET', base, [keysRead], listKeys),
    route('GET', `${base}/{keyId}`, [keysRead], getKey),
    route('DELETE', `${base}/{keyId}`, [keysWrite], deleteKey),
  ];
}
