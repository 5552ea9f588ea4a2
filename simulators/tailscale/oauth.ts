/**
 * `POST /api/v2/oauth/token`: the OAuth client-credentials grant. Credentials come from the form or
 * an HTTP Basic header (golang.org/x/oauth2 tries the header first); the optional `scope` narrows the
 * token to a subset of the client's scopes. Tokens live one hour.
 */
import { ApiError } from './api-error';
import type { ApiRequest, PublicRoute, SimulatorCore } from './context';
import { newKeyId, newSecret } from './ids';
import { scopeGranted } from './scopes';

export const accessTokenLifetimeSeconds = 3600;

// Bodies carry both OAuth 2 fields (what OAuth libraries read) and the API's `message`.
function oauthError(status: number, error: string, description: string): ApiError {
  return new ApiError(status, description, {}, { error, error_description: description });
}

function basicCredentials(req: ApiRequest): { id: string; secret: string } | null {
  const header = req.headers.authorization;
  const match = header ? /^basic\s+(\S+)$/i.exec(header.trim()) : null;
  if (!match) return null;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  try {
    // RFC 6749 §2.3.1: both parts are form-urlencoded before joining.
    return {
      id: decodeURIComponent(decoded.slice(0, colon)),
      secret: decodeURIComponent(decoded.slice(colon + 1)),
    };
  } catch {
    return null;
  }
}

// A client secret embeds its client ID (`tskey-client-<id>-<secret>`), so the ID may be left out.
const clientIdFromSecret = (secret: string): string | undefined =>
  /^tskey-client-([A-Za-z0-9]+)-/.exec(secret)?.[1];

function issueToken(core: SimulatorCore, req: ApiRequest) {
  const contentType = req.headers['content-type'] ?? '';
  if (contentType !== '' && !contentType.toLowerCase().startsWith('application/x-www-form-urlencoded')) {
    throw oauthError(400, 'invalid_request', 'request body must be application/x-www-form-urlencoded');
  }
  const form = new URLSearchParams(req.rawBody.toString('utf8'));
  const grantType = form.get('grant_type');
  if (grantType !== null && grantType !== 'client_credentials') {
    throw oauthError(400, 'unsupported_grant_type', 'only grant_type=client_credentials is supported');
  }
  const basic = basicCredentials(req);
  const secret = basic?.secret ?? form.get('client_secret') ?? '';
  const clientId = basic?.id || form.get('client_id') || clientIdFromSecret(secret) || '';
  const found = core.state.findOAuthClient(clientId);
  if (!found || secret === '' || found.client.secret !== secret) {
    throw oauthError(401, 'invalid_client', 'invalid client credentials');
  }

  const requested = (form.get('scope') ?? '').split(/\s+/).filter(Boolean);
  const denied = requested.find((scope) => !scopeGranted(found.client.scopes, scope));
  if (denied !== undefined) {
    throw oauthError(400, 'invalid_scope', `scope "${denied}" is not granted to this OAuth client`);
  }
  const scopes = requested.length > 0 ? requested : [...found.client.scopes];

  const now = core.clock.now();
  core.state.pruneExpiredTokens(now - 24 * 3600_000);
  const token = newSecret('api', newKeyId());
  core.state.tokens.set(token, {
    token,
    tailnetId: found.tailnet.id,
    clientId: found.client.id,
    scopes,
    tags: [...found.client.tags],
    issued: now,
    expiresAt: now + accessTokenLifetimeSeconds * 1000,
  });
  return {
    status: 200,
    body: {
      access_token: token,
      token_type: 'Bearer',
      expires_in: accessTokenLifetimeSeconds,
      scope: scopes.join(' '),
    },
  };
}

export function oauthRoutes(): PublicRoute[] {
  return [{ kind: 'public', method: 'POST', template: '/api/v2/oauth/token', handler: issueToken }];
}
