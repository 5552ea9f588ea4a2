/**
 * Tailscale API failures, classified for Temporal. Retryable: 429 (honouring Retry-After), 5xx except
 * 501, network errors and timeouts. Not retryable: other 4xx, including 409: the API has no ETags, so
 * a 409 is never an optimistic-lock race that an identical retry could win; it means the request
 * clashes with current state (e.g. renaming onto an existing service), and the workflow must re-read
 * and decide. Messages say what to fix and never carry a token, secret or auth key.
 */
import { ApplicationFailure } from '@temporalio/common';
import { redact } from '../../runtime/logger';
import { vipServiceLabel } from '../../api/vip-service-name';

export type TailscaleErrorType =
  | 'TailscaleBadRequest'
  | 'TailscaleNameClash'
  | 'TailscaleUnauthorized'
  | 'TailscaleForbidden'
  | 'TailscaleNotFound'
  | 'TailscaleConflict'
  | 'TailscaleRateLimited'
  | 'TailscaleServerError'
  | 'TailscaleNetworkError'
  | 'TailscaleTimeout'
  | 'TailscaleCancelled'
  | 'TailscaleUnexpectedResponse'
  | 'TailscaleHttpError';

export interface TailscaleErrorInit {
  type: TailscaleErrorType;
  message: string;
  retryable: boolean;
  status?: number;
  retryAfterMs?: number;
  method?: string;
  path?: string;
  /** The API's own `message`, already redacted. */
  apiMessage?: string;
}

export class TailscaleApiError extends Error {
  readonly type: TailscaleErrorType;
  readonly retryable: boolean;
  readonly status: number | undefined;
  readonly retryAfterMs: number | undefined;
  readonly method: string | undefined;
  readonly path: string | undefined;
  readonly apiMessage: string | undefined;

  constructor(init: TailscaleErrorInit) {
    super(redact(init.message));
    this.name = 'TailscaleApiError';
    this.type = init.type;
    this.retryable = init.retryable;
    this.status = init.status;
    this.retryAfterMs = init.retryAfterMs;
    this.method = init.method;
    this.path = init.path;
    this.apiMessage = init.apiMessage;
  }

  /** The same failure, telling the caller how long is left to wait before a retry. */
  withRetryAfter(retryAfterMs: number): TailscaleApiError {
    const { type, message, retryable, status, method, path, apiMessage } = this;
    return new TailscaleApiError({
      type,
      message,
      retryable,
      status,
      method,
      path,
      apiMessage,
      retryAfterMs,
    });
  }
}

export const isTailscaleApiError = (err: unknown): err is TailscaleApiError =>
  err instanceof TailscaleApiError;

/** True for a 404 from the API: callers that treat "missing" as a normal state use it. */
export const isNotFound = (err: unknown): boolean => isTailscaleApiError(err) && err.status === 404;

/** `Retry-After` as delta-seconds or an HTTP date; undefined when absent or unparseable. */
export function parseRetryAfter(header: string | null, now: number = Date.now()): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

const isServicesPath = (path: string): boolean => /\/tailnet\/[^/]+\/(vip-)?services(\/|$)/.test(path);
const serviceNameIn = (path: string): string | undefined => /\/(?:vip-)?services\/([^/]+)/.exec(path)?.[1];

function scopeHint(path: string): string {
  if (isServicesPath(path)) return "'services' (and 'devices:core' for hosts and approvals)";
  if (/\/keys(\/|$)/.test(path)) return "'auth_keys'";
  if (/\/devices?(\/|$)/.test(path)) return "'devices:core'";
  if (/\/dns\//.test(path)) return "'dns'";
  return 'the one this endpoint needs';
}

interface HttpFailure {
  status: number;
  method: string;
  path: string;
  apiMessage: string;
  retryAfterMs?: number;
}

function explain(f: HttpFailure): Pick<TailscaleErrorInit, 'type' | 'message' | 'retryable'> {
  const what = `Tailscale API ${f.method} ${f.path} failed with ${f.status}`;
  const said = f.apiMessage ? ` ("${f.apiMessage}")` : '';
  const service = serviceNameIn(f.path);

  if (f.status === 400 && /name exists but is not a service/i.test(f.apiMessage)) {
    const label = (service && vipServiceLabel(service)) ?? 'the name';
    return {
      type: 'TailscaleNameClash',
      retryable: false,
      message:
        `${what}${said}: the name ${service ?? ''} clashes with a device in the tailnet whose machine name is ` +
        `"${label}". A Tailscale Service cannot reuse a device's name: rename or remove that device, or choose ` +
        `another service name.`,
    };
  }
  if (f.status === 400) {
    return {
      type: 'TailscaleBadRequest',
      retryable: false,
      message: `${what}${said}: the request was rejected as invalid.`,
    };
  }
  if (f.status === 401) {
    return {
      type: 'TailscaleUnauthorized',
      retryable: false,
      message:
        `${what}${said}: the access token was not accepted. Check that the OAuth client in the tailnet's ` +
        `credentials Secret still exists and that its client ID and secret are current.`,
    };
  }
  if (f.status === 403) {
    return {
      type: 'TailscaleForbidden',
      retryable: false,
      message:
        `${what}${said}: the OAuth client lacks the scope ${scopeHint(f.path)}, or (for auth keys) the requested ` +
        `tags are not owned by the OAuth client's tags.`,
    };
  }
  if (f.status === 404 && isServicesPath(f.path)) {
    const missingObject =
      f.method === 'GET' || f.method === 'DELETE' ? `${service ?? 'the service'} does not exist, or ` : '';
    return {
      type: 'TailscaleNotFound',
      retryable: false,
      message:
        `${what}${said}: ${missingObject}the OAuth client probably lacks the 'services' scope (Tailscale answers ` +
        `404, not 403, when it is missing), or Tailscale Services is not enabled for this tailnet.`,
    };
  }
  if (f.status === 404) {
    return {
      type: 'TailscaleNotFound',
      retryable: false,
      message: `${what}${said}: not found (already deleted, or a wrong ID or tailnet).`,
    };
  }
  if (f.status === 409) {
    return {
      type: 'TailscaleConflict',
      retryable: false,
      message: `${what}${said}: the change conflicts with the current state; re-read the object and apply the change again.`,
    };
  }
  if (f.status === 429) {
    const wait = f.retryAfterMs === undefined ? '' : ` Retry after ${Math.ceil(f.retryAfterMs / 1000)} s.`;
    return {
      type: 'TailscaleRateLimited',
      retryable: true,
      message: `${what}${said}: rate limited by Tailscale.${wait}`,
    };
  }
  if (f.status >= 500 && f.status !== 501) {
    return {
      type: 'TailscaleServerError',
      retryable: true,
      message: `${what}${said}: Tailscale had a server-side error; retrying.`,
    };
  }
  return { type: 'TailscaleHttpError', retryable: false, message: `${what}${said}.` };
}

export function httpError(f: HttpFailure): TailscaleApiError {
  const apiMessage = redact(f.apiMessage).slice(0, 300);
  return new TailscaleApiError({ ...explain({ ...f, apiMessage }), ...f, apiMessage });
}

/** A failure before any HTTP status: refused/reset connections, DNS, TLS, our timeout, or the caller's cancel. */
export function transportError(
  err: unknown,
  method: string,
  path: string,
  baseUrl: string,
  cancelled = false,
): TailscaleApiError {
  if (cancelled) {
    return new TailscaleApiError({
      type: 'TailscaleCancelled',
      retryable: false,
      method,
      path,
      message: `Tailscale API ${method} ${path} was cancelled by the caller.`,
    });
  }
  // Duck-typed: fetch's DOMExceptions may come from another realm (e.g. under jest), failing instanceof.
  const { name, cause } = (typeof err === 'object' && err !== null ? err : {}) as {
    name?: unknown;
    cause?: unknown;
  };
  const timedOut = name === 'TimeoutError' || name === 'AbortError';
  const causeCode = (cause as { code?: unknown } | undefined)?.code;
  const code = typeof causeCode === 'string' ? causeCode : typeof name === 'string' ? name : 'unknown';
  return new TailscaleApiError({
    type: timedOut ? 'TailscaleTimeout' : 'TailscaleNetworkError',
    retryable: true,
    method,
    path,
    message: timedOut
      ? `Tailscale API ${method} ${path} timed out (${baseUrl}); retrying.`
      : `Tailscale API ${method} ${path} could not be reached at ${baseUrl} (${code}); retrying.`,
  });
}

/**
 * The error as an activity failure: `type` names the failure (`TailscaleNotFound`...), non-retryable
 * errors stop Temporal's retries, and a Retry-After becomes the next retry delay.
 */
export function toActivityFailure(err: unknown): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  if (isTailscaleApiError(err)) {
    return ApplicationFailure.create({
      message: err.message,
      type: err.type,
      nonRetryable: !err.retryable,
      nextRetryDelay: err.retryable ? err.retryAfterMs : undefined,
      details: [{ status: err.status ?? null, method: err.method ?? null, path: err.path ?? null }],
    });
  }
  const message = err instanceof Error ? err.message : String(err);
  return ApplicationFailure.create({
    message: redact(message),
    type: 'TailscaleUnexpectedError',
    nonRetryable: false,
  });
}
