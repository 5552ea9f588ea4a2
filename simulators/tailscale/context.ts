/** Types shared by the server and the per-resource route modules. */
import type { IncomingHttpHeaders } from 'node:http';
import type { AddressAllocator } from './addresses';
import type { SimulatorClock } from './clock';
import type { LostUpdate } from './faults';
import type { AccessTokenRecord, SimulatorState, TailnetRecord } from './state';

/**
 * Behaviours the reference marks as unverified (docs/tailscale-api-facts.md §5): adjustable defaults, so a
 * test can pin the simulator to whichever variant the real API turns out to use.
 */
export interface CompatOptions {
  /** 404 message for a missing VIP service: SPEC's standard `not found`, or `service not found` as once seen. */
  missingServiceMessage: string;
  /** GET /vip-services on a tailnet without services: 200 with an empty list, or 404. */
  emptyServiceListStatus: 200 | 404;
  /**
   * Unknown routes and wrong methods: JSON `{"message":"not found"}` 404s (true), or what Go's
   * ServeMux answers, a plain-text `404 page not found` and a `405 Method Not Allowed` (false).
   */
  unknownRouteJson: boolean;
}

export const defaultCompat: CompatOptions = {
  missingServiceMessage: 'not found',
  emptyServiceListStatus: 200,
  unknownRouteJson: true,
};

/** Everything the handlers share: the model, time, address allocation and compatibility switches. */
export interface SimulatorCore {
  state: SimulatorState;
  clock: SimulatorClock;
  allocator: AddressAllocator;
  compat: CompatOptions;
  /** How long an offline ephemeral device survives before the control plane removes it. */
  ephemeralTimeoutMs: number;
  /** Pending deferred work (delayed lost-update reverts), cleared on close. */
  timers: Set<NodeJS.Timeout>;
}

export interface ApiRequest {
  method: string;
  /** Decoded path, e.g. `/api/v2/tailnet/-/vip-services/svc:web`. */
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  rawBody: Buffer;
}

export interface ApiContext {
  core: SimulatorCore;
  req: ApiRequest;
  auth: AccessTokenRecord;
  tailnet: TailnetRecord;
  /** Set when a lost-update fault matched this write. */
  lostUpdate: LostUpdate | null;
}

export interface ApiResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface ScopeRequirement {
  scope: string;
  /** The real API answers 404, not 403, when the `services` scope is missing. */
  whenMissing: 403 | 404;
}

export interface AuthedRoute {
  kind: 'authed';
  method: string;
  template: string;
  scopes: ScopeRequirement[];
  /** Routes of the Tailscale Services feature answer 404 when the tailnet has it switched off. */
  servicesFeature?: boolean;
  handler: (ctx: ApiContext) => ApiResult;
}

export interface PublicRoute {
  kind: 'public';
  method: string;
  template: string;
  handler: (core: SimulatorCore, req: ApiRequest) => ApiResult;
}

export type RouteSpec = AuthedRoute | PublicRoute;

export const ok = (body?: unknown): ApiResult => ({ status: 200, body });
