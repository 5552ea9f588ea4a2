/** Authentication of API requests: a Bearer token, or HTTP Basic with the token as the username. */
import type { IncomingHttpHeaders } from 'node:http';
import { ApiError } from './api-error';
import type { AccessTokenRecord, SimulatorState } from './state';

// The real API's 401 bodies are not documented; these are the simulator's (see docs/tailscale-api-facts.md §5).
export const tokenMissingMessage = 'API token required';
export const tokenInvalidMessage = 'API token invalid';
export const tokenExpiredMessage = 'API token expired';

export function bearerOrBasicToken(headers: IncomingHttpHeaders): string | null {
  const header = headers.authorization;
  if (!header) return null;
  const [scheme = '', value = ''] = header.trim().split(/\s+/, 2);
  if (/^bearer$/i.test(scheme)) return value || null;
  if (/^basic$/i.test(scheme)) {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const user = colon < 0 ? decoded : decoded.slice(0, colon);
    return user || null;
  }
  return null;
}

export function authenticate(
  headers: IncomingHttpHeaders,
  state: SimulatorState,
  now: number,
): AccessTokenRecord {
  const token = bearerOrBasicToken(headers);
  if (token === null) throw new ApiError(401, tokenMissingMessage);
  const record = state.tokens.get(token);
  if (!record || !state.tailnets.has(record.tailnetId)) throw new ApiError(401, tokenInvalidMessage);
  if (record.expiresAt <= now) throw new ApiError(401, tokenExpiredMessage);
  return record;
}
