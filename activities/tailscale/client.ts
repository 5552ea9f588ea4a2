/**
 * The Tailscale API client: OAuth client credentials exchanged for an access token (cached, refreshed
 * before it expires, one exchange shared by concurrent callers), JSON calls with timeouts, and every
 * failure turned into a classified `TailscaleApiError`. One client per tailnet credentials
 * (see client-registry.ts). Nothing secret is logged or put in an error.
 */
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { createLogger, type Logger } from '../../runtime/logger';
import { operatorTracer } from '../../runtime/spans';
import { httpError, TailscaleApiError, transportError, parseRetryAfter } from './errors';
import {
  operationOf,
  tailscaleRateLimitWaitSeconds,
  tailscaleRequests,
  tailscaleRequestSeconds,
} from './metrics';

export const defaultTailscaleBaseUrl = 'https://api.tailscale.com';

export interface TailscaleCredentials {
  clientId: string;
  clientSecret: string;
}

export interface TailscaleClientOptions extends TailscaleCredentials {
  /** API base URL; the simulator's URL locally. Default https://api.tailscale.com. */
  baseUrl?: string;
  /** Tailnet path segment; `-` is the credential's own tailnet. */
  tailnet?: string;
  /** Per-request timeout (connect to last body byte). Default 30 s. */
  requestTimeoutMs?: number;
  /** Refresh the access token this long before it expires. Default 60 s. */
  refreshMarginMs?: number;
  userAgent?: string;
  logger?: Logger;
  /** Clock for token expiry; tests share one with the simulator. */
  now?: () => number;
}

export type QueryValue = string | number | boolean | readonly string[] | undefined;

export interface RequestOptions {
  query?: Record<string, QueryValue>;
  body?: unknown;
  /** Cancels the call, e.g. the activity's cancellation signal. */
  signal?: AbortSignal;
  /**
   * The caller does not read the body of a success (as Go clients do not for writes): a body that
   * is not JSON then reads as no body instead of failing the call.
   */
  bodyUnused?: boolean;
}

export interface ApiResponse {
  status: number;
  /** Parsed JSON body; undefined for an empty body. */
  json: unknown;
}

interface CachedToken {
  value: string;
  expiresAt: number;
}

/**
 * Encodes one path segment the way Go's url.PathEscape does, leaving `:` alone, so service names go
 * out as `svc:web` (the form every Go client sends).
 */
export const pathSegment = (segment: string): string => encodeURIComponent(segment).replace(/%3A/gi, ':');

export class TailscaleClient {
  readonly baseUrl: string;
  readonly tailnet: string;
  readonly clientId: string;
  private readonly clientSecret: string;
  private readonly requestTimeoutMs: number;
  private readonly refreshMarginMs: number;
  private readonly userAgent: string;
  private readonly logger: Logger;
  private readonly now: () => number;
  private token: CachedToken | null = null;
  private pendingToken: Promise<CachedToken> | null = null;
  /** A token exchange answered with Retry-After: every caller waits it out instead of asking again. */
  private tokenBackoff: { until: number; error: TailscaleApiError } | null = null;

  constructor(options: TailscaleClientOptions) {
    this.baseUrl = (options.baseUrl ?? defaultTailscaleBaseUrl).replace(/\/+$/, '');
    this.tailnet = options.tailnet ?? '-';
    this.clientId = options.clientId;
    this.clientSecret = options.clientSecret;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.refreshMarginMs = options.refreshMarginMs ?? 60_000;
    this.userAgent = options.userAgent ?? 'tailscale-gateway-operator';
    this.logger = (options.logger ?? createLogger()).child({
      component: 'tailscale-client',
      clientId: this.clientId,
    });
    this.now = options.now ?? Date.now;
  }

  /** `/api/v2/tailnet/<tailnet>/<segments...>`, each segment escaped. */
  tailnetPath(...segments: string[]): string {
    return ['/api/v2/tailnet', pathSegment(this.tailnet), ...segments.map(pathSegment)].join('/');
  }

  /** Forgets the cached access token, so the next call fetches a new one. */
  invalidateToken(): void {
    this.token = null;
  }

  /**
   * One API call. A 401 on a cached token (revoked or expired early on the server's clock) is retried
   * once with a fresh token before it counts as a failure.
   */
  async request(method: string, path: string, options: RequestOptions = {}): Promise<ApiResponse> {
    const cachedBefore = this.token !== null && this.isFresh(this.token);
    const token = await this.accessToken();
    try {
      return await this.send(method, path, token.value, options);
    } catch (err) {
      if (!(err instanceof TailscaleApiError) || err.status !== 401 || !cachedBefore) throw err;
      this.logger.info('tailscale access token rejected; fetching a new one', { method, path });
      if (this.token === token) this.token = null;
      return this.send(method, path, (await this.accessToken()).value, options);
    }
  }

  private isFresh(token: CachedToken): boolean {
    return this.now() < token.expiresAt - this.refreshMarginMs;
  }

  // The exchange is shared by concurrent callers, so it takes no caller's cancellation signal.
  private async accessToken(): Promise<CachedToken> {
    if (this.token && this.isFresh(this.token)) return this.token;
    const backoff = this.tokenBackoff;
    if (backoff && this.now() < backoff.until) throw backoff.error.withRetryAfter(backoff.until - this.now());
    this.pendingToken ??= this.fetchToken()
      .catch((err: unknown) => {
        if (err instanceof TailscaleApiError && err.retryable && err.retryAfterMs) {
          this.tokenBackoff = { until: this.now() + err.retryAfterMs, error: err };
        }
        throw err;
      })
      .finally(() => {
        this.pendingToken = null;
      });
    this.token = await this.pendingToken;
    return this.token;
  }

  private async fetchToken(): Promise<CachedToken> {
    const path = '/api/v2/oauth/token';
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: this.clientId,
      client_secret: this.clientSecret,
    });
    const requestedAt = this.now();
    const response = await this.fetchWithTimeout('POST', path, undefined, {
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: form.toString(),
    });
    const text = await this.readText(response, 'POST', path);
    if (!response.ok) {
      const err = httpError({
        status: response.status,
        method: 'POST',
        path,
        apiMessage: errorMessageOf(text),
        retryAfterMs: parseRetryAfter(response.headers.get('retry-after')),
      });
      throw response.status === 401 || response.status === 400
        ? new TailscaleApiError({
            type: 'TailscaleUnauthorized',
            retryable: false,
            status: response.status,
            method: 'POST',
            path,
            apiMessage: err.apiMessage,
            message:
              `Tailscale OAuth token request for client ${this.clientId} failed with ${response.status}` +
              `${err.apiMessage ? ` ("${err.apiMessage}")` : ''}: the client ID or secret is wrong, or the OAuth ` +
              `client was deleted. Check the tailnet's credentials Secret.`,
          })
        : err;
    }
    const body = parseJson(text) as { access_token?: unknown; expires_in?: unknown } | undefined;
    if (typeof body?.access_token !== 'string' || body.access_token === '') {
      throw new TailscaleApiError({
        type: 'TailscaleUnexpectedResponse',
        retryable: false,
        status: response.status,
        method: 'POST',
        path,
        message: `Tailscale OAuth token response from ${this.baseUrl} has no access_token.`,
      });
    }
    const expiresInS = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 3600;
    this.logger.info('fetched tailscale access token', { expiresInS });
    return { value: body.access_token, expiresAt: requestedAt + expiresInS * 1000 };
  }

  private async send(
    method: string,
    path: string,
    token: string,
    options: RequestOptions,
  ): Promise<ApiResponse> {
    const started = Date.now();
    const operation = operationOf(method, path);
    const hasBody = options.body !== undefined;
    let response: Response;
    try {
      response = await this.fetchWithTimeout(method, path + queryString(options.query), options.signal, {
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          ...(hasBody ? { 'content-type': 'application/json' } : {}),
        },
        body: hasBody ? JSON.stringify(options.body) : undefined,
      });
    } catch (err) {
      tailscaleRequests.inc({ operation, status: '0' });
      throw err;
    }
    tailscaleRequests.inc({ operation, status: String(response.status) });
    tailscaleRequestSeconds.observe({ operation }, (Date.now() - started) / 1000);
    const text = await this.readText(response, method, path, options.signal);
    this.logger.debug('tailscale api call', {
      method,
      path,
      status: response.status,
      durationMs: Date.now() - started,
    });
    if (!response.ok) {
      const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
      if (response.status === 429 && retryAfterMs) tailscaleRateLimitWaitSeconds.inc(retryAfterMs / 1000);
      throw httpError({
        status: response.status,
        method,
        path,
        apiMessage: errorMessageOf(text),
        retryAfterMs,
      });
    }
    const json = text === '' ? undefined : parseJson(text);
    if (text !== '' && json === undefined && !options.bodyUnused) {
      throw new TailscaleApiError({
        type: 'TailscaleUnexpectedResponse',
        retryable: false,
        status: response.status,
        method,
        path,
        message: `Tailscale API ${method} ${path} answered ${response.status} with a body that is not JSON.`,
      });
    }
    return { status: response.status, json };
  }

  private async fetchWithTimeout(
    method: string,
    pathAndQuery: string,
    signal: AbortSignal | undefined,
    init: { headers: Record<string, string>; body?: string },
  ): Promise<Response> {
    const timeout = AbortSignal.timeout(this.requestTimeoutMs);
    const path = stripQuery(pathAndQuery);
    // Method, path and status only: the token, the form body and the query stay out of the span.
    const span = operatorTracer().startSpan(`tailscale ${operationOf(method, path)}`, {
      kind: SpanKind.CLIENT,
      attributes: { 'http.request.method': method, 'url.path': path, 'server.address': this.baseUrl },
    });
    try {
      const response = await fetch(this.baseUrl + pathAndQuery, {
        method,
        headers: { 'user-agent': this.userAgent, ...init.headers },
        body: init.body,
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
      span.setAttribute('http.response.status_code', response.status);
      if (response.status >= 400) span.setStatus({ code: SpanStatusCode.ERROR });
      return response;
    } catch (err) {
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw transportError(err, method, path, this.baseUrl, signal?.aborted === true);
    } finally {
      span.end();
    }
  }

  private async readText(
    response: Response,
    method: string,
    path: string,
    signal?: AbortSignal,
  ): Promise<string> {
    try {
      return await response.text();
    } catch (err) {
      throw transportError(err, method, path, this.baseUrl, signal?.aborted === true);
    }
  }
}

function queryString(query: Record<string, QueryValue> | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const item of value as readonly string[]) params.append(key, item);
    else params.append(key, String(value));
  }
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

const stripQuery = (pathAndQuery: string): string => pathAndQuery.split('?')[0]!;

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** The API's `message` (or an OAuth `error_description`), else the start of a non-JSON body. */
function errorMessageOf(text: string): string {
  const body = parseJson(text) as
    { message?: unknown; error_description?: unknown; error?: unknown } | undefined;
  for (const field of [body?.message, body?.error_description, body?.error]) {
    if (typeof field === 'string' && field !== '') return field;
  }
  return text.trim().slice(0, 200);
}
