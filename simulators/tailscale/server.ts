/**
 * The Tailscale control-API simulator: an HTTP server on loopback serving `/api/v2/...` like the real
 * API (see docs/tailscale-api-facts.md §1.8), plus the admin API under `/__admin/...`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { createLogger, type Logger } from '../../runtime/logger';
import { AddressAllocator } from './addresses';
import {
  adminHttpRoutes,
  InProcessSimulatorAdmin,
  type AdminHttpRoute,
  type TailscaleSimulatorAdmin,
} from './admin';
import { ApiError } from './api-error';
import { authenticate } from './auth';
import { SimulatorClock } from './clock';
import {
  defaultCompat,
  type ApiRequest,
  type CompatOptions,
  type RouteSpec,
  type SimulatorCore,
} from './context';
import { countedRoute, RequestCounter, unmatchedRoute } from './counters';
import { deviceRoutes } from './devices';
import { FaultInjector, type FaultOutcome, type TerminalFault } from './faults';
import { hostRoutes } from './hosts';
import { readBody, RequestAbortedError, sendApiError, sendJson, sendText } from './http-io';
import { seededRandom } from './ids';
import { keyRoutes } from './keys';
import { oauthRoutes } from './oauth';
import { decodePathSegments, Router, type RouteMatch } from './router';
import { requireScopes } from './scopes';
import { SimulatorState, type StateDump, type TailnetRecord } from './state';
import { isValidDnsSuffix } from './validation';
import { vipServiceRoutes } from './vip-services';

export const defaultMaxBodyBytes = 1024 * 1024;
const adminMaxBodyBytes = 64 * 1024 * 1024;
const adminPrefix = '/__admin';

export interface TailscaleSimulatorOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** Base clock; the admin API can move it forward. Default Date.now. */
  now?: () => number;
  /** Random source for address allocation (scriptable in tests). */
  random?: () => number;
  /** Random source for fault rates. */
  faultRandom?: () => number;
  /** Seeds both random sources when they are not given. */
  seed?: number;
  /** Initial state (a dump or a live state). Default: one empty tailnet. */
  state?: StateDump | SimulatorState;
  /** MagicDNS suffix of the default tailnet when starting empty. */
  dnsSuffix?: string;
  compat?: Partial<CompatOptions>;
  /** Request bodies larger than this get 413. Default 1 MiB. */
  maxBodyBytes?: number;
  /** How long an offline ephemeral device survives. Default 30 min. */
  ephemeralTimeoutMs?: number;
  logger?: Logger;
}

export interface TailscaleSimulator {
  /** e.g. `http://127.0.0.1:41641`; the API is under `/api/v2`, the admin API under `/__admin`. */
  url: string;
  admin: TailscaleSimulatorAdmin;
  close(): Promise<void>;
}

function buildApiRouter(): Router<RouteSpec> {
  const router = new Router<RouteSpec>();
  for (const route of [
    ...oauthRoutes(),
    ...vipServiceRoutes(),
    ...hostRoutes(),
    ...deviceRoutes(),
    ...keyRoutes(),
  ]) {
    router.add(route.method, route.template, route);
  }
  return router;
}

function initialState(options: TailscaleSimulatorOptions): SimulatorState {
  if (options.state instanceof SimulatorState) return options.state;
  if (options.state !== undefined) return SimulatorState.load(options.state);
  const state = SimulatorState.empty();
  if (options.dnsSuffix !== undefined) {
    if (!isValidDnsSuffix(options.dnsSuffix)) throw new Error(`invalid DNS suffix ${options.dnsSuffix}`);
    state.findTailnet()!.dnsSuffix = options.dnsSuffix;
  }
  return state;
}

export async function startTailscaleSimulator(
  options: TailscaleSimulatorOptions = {},
): Promise<TailscaleSimulator> {
  const seed = options.seed;
  const core: SimulatorCore = {
    state: initialState(options),
    clock: new SimulatorClock(options.now),
    allocator: new AddressAllocator(
      options.random ?? (seed === undefined ? Math.random : seededRandom(seed)),
    ),
    compat: { ...defaultCompat, ...options.compat },
    ephemeralTimeoutMs: options.ephemeralTimeoutMs ?? 30 * 60_000,
    timers: new Set(),
  };
  const faults = new FaultInjector(
    options.faultRandom ?? (seed === undefined ? Math.random : seededRandom(seed + 1)),
  );
  const counter = new RequestCounter();
  const admin = new InProcessSimulatorAdmin({ core, faults, counter });
  const logger =
    options.logger ?? createLogger({ level: 'warn', write: (line) => process.stderr.write(line + '\n') });
  const handler = new RequestHandler({
    core,
    faults,
    counter,
    admin,
    logger,
    maxBodyBytes: options.maxBodyBytes ?? defaultMaxBodyBytes,
  });

  const server = createServer({ keepAliveTimeout: 5_000 }, (req, res) => void handler.handle(req, res));
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  return {
    url: `http://${urlHost}:${port}`,
    admin,
    close: async () => {
      for (const timer of core.timers) clearTimeout(timer);
      core.timers.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

interface HandlerDeps {
  core: SimulatorCore;
  faults: FaultInjector;
  counter: RequestCounter;
  admin: TailscaleSimulatorAdmin;
  logger: Logger;
  maxBodyBytes: number;
}

class RequestHandler {
  private readonly apiRouter = buildApiRouter();
  private readonly adminRouter = new Router<AdminHttpRoute>();

  constructor(private readonly deps: HandlerDeps) {
    for (const route of adminHttpRoutes) this.adminRouter.add(route.method, route.template, route);
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const target = req.url ?? '/';
      const queryStart = target.indexOf('?');
      const rawPath = queryStart < 0 ? target : target.slice(0, queryStart);
      const query = new URLSearchParams(queryStart < 0 ? '' : target.slice(queryStart + 1));
      const segments = rawPath.startsWith('/') ? decodePathSegments(rawPath) : null;
      if (segments === null) {
        req.resume();
        throw new ApiError(400, 'malformed request path');
      }
      if (rawPath === adminPrefix || rawPath.startsWith(`${adminPrefix}/`)) {
        await this.handleAdmin(req, res, segments);
      } else {
        await this.handleApi(req, res, segments, query);
      }
    } catch (err) {
      this.fail(res, err);
    }
  }

  private fail(res: ServerResponse, err: unknown): void {
    if (err instanceof ApiError) return sendApiError(res, err);
    if (err instanceof RequestAbortedError) return;
    this.deps.logger.error('simulator: unexpected error', {
      error: err instanceof Error ? err.stack : String(err),
    });
    sendApiError(res, new ApiError(500));
  }

  private async handleApi(
    req: IncomingMessage,
    res: ServerResponse,
    segments: string[],
    query: URLSearchParams,
  ): Promise<void> {
    const { core, counter, faults } = this.deps;
    const method = req.method ?? 'GET';
    const lookup = this.apiRouter.lookup(method, segments);
    counter.record(
      method,
      lookup.kind === 'match'
        ? countedRoute(lookup.match.template, lookup.match.params)
        : lookup.kind === 'method-not-allowed'
          ? lookup.template
          : unmatchedRoute,
    );
    const rawBody = await readBody(req, this.deps.maxBodyBytes);
    const path = `/${segments.join('/')}`;

    const fault = faults.evaluate(method, path);
    if (fault.latencyMs > 0) await delay(fault.latencyMs);
    if (fault.terminal) return this.answerFault(req, fault.terminal);

    if (lookup.kind !== 'match') {
      if (core.compat.unknownRouteJson) throw new ApiError(404);
      if (lookup.kind === 'no-route') return sendText(res, 404, '404 page not found\n');
      return sendText(res, 405, 'Method Not Allowed\n', { allow: lookup.allow.join(', ') });
    }
    const apiRequest: ApiRequest = {
      method,
      path,
      params: lookup.match.params,
      query,
      headers: req.headers,
      rawBody,
    };
    const result = this.dispatch(lookup.match, apiRequest, fault);
    if (fault.lostResponse) return this.answerFault(req, fault.lostResponse);
    sendJson(res, result.status, result.body, result.headers);
  }

  /** A reset destroys the socket; an error status is thrown for the caller's error response. */
  private answerFault(req: IncomingMessage, fault: TerminalFault): void {
    if (fault.kind === 'reset') {
      req.socket.destroy();
      return;
    }
    const headers: Record<string, string> =
      fault.retryAfterSeconds === undefined ? {} : { 'retry-after': String(fault.retryAfterSeconds) };
    throw new ApiError(fault.status, fault.message, headers);
  }

  private dispatch(match: RouteMatch<RouteSpec>, apiRequest: ApiRequest, fault: FaultOutcome) {
    const { core } = this.deps;
    const route = match.handler;
    if (route.kind === 'public') return route.handler(core, apiRequest);
    const auth = authenticate(apiRequest.headers, core.state, core.clock.now());
    const tailnet = resolveTailnet(core, auth.tailnetId, apiRequest.params.tailnet);
    requireScopes(auth.scopes, route.scopes);
    if (route.servicesFeature && !tailnet.settings.servicesEnabled) throw new ApiError(404);
    return route.handler({ core, req: apiRequest, auth, tailnet, lostUpdate: fault.lostUpdate });
  }

  private async handleAdmin(req: IncomingMessage, res: ServerResponse, segments: string[]): Promise<void> {
    const rawBody = await readBody(req, adminMaxBodyBytes);
    const lookup = this.adminRouter.lookup(req.method ?? 'GET', segments);
    if (lookup.kind === 'no-route') throw new ApiError(404, 'no such admin endpoint');
    if (lookup.kind === 'method-not-allowed') {
      throw new ApiError(405, 'method not allowed', { allow: lookup.allow.join(', ') });
    }
    let body: Record<string, unknown> = {};
    if (rawBody.length > 0) {
      try {
        body = JSON.parse(rawBody.toString('utf8')) as Record<string, unknown>;
      } catch {
        throw new ApiError(400, 'invalid JSON in request body');
      }
      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        throw new ApiError(400, 'request body must be a JSON object');
      }
    }
    const result = await lookup.match.handler.invoke(this.deps.admin, lookup.match.params, body);
    sendJson(res, 200, result ?? {});
  }
}

function resolveTailnet(core: SimulatorCore, ownTailnetId: string, param: string | undefined): TailnetRecord {
  const own = core.state.tailnets.get(ownTailnetId)!;
  if (param === undefined || param === '-' || param === own.id || param === own.name) return own;
  throw new ApiError(404, 'Tailnet not found');
}
