/**
 * The extension server's whole view of the world: an immutable snapshot of what the workflows
 * published (TailscaleServices/TailscaleEndpoints status, TailscaleGateway and TailscaleRoutePolicy
 * specs), replaced atomically when a watch delivers a change. Hooks read one snapshot per call and never
 * call Tailscale, Temporal or the Kubernetes API, so their latency depends only on the request.
 */
import type { RouteKind } from './eg-names';

export type BackendKind = 'TailscaleServices' | 'TailscaleEndpoints';
export const backendKinds: readonly BackendKind[] = ['TailscaleServices', 'TailscaleEndpoints'];

export interface BackendEndpoint {
  /** An IP or a DNS name; names make the cluster STRICT_DNS. */
  address: string;
  port: number;
  /** local: a proxy in this cluster; remote: reached over the tailnet from elsewhere. */
  locality: 'local' | 'remote';
  healthy: boolean;
  /** The device or pod this endpoint stands for (logs, stats). */
  source: string;
}

export interface TailscaleBackend {
  kind: BackendKind;
  namespace: string;
  name: string;
  tailnet: string;
  /** `{service}` in generated routes: the VIP service name without `svc:`, or the object name. */
  serviceName: string;
  labels: Record<string, string>;
  ready: boolean;
  endpoints: BackendEndpoint[];
}

export interface RouteGeneration {
  /** e.g. `/tailscale/{service}/`; `{service}` and `{tailnet}` are substituted per backend. */
  pathPrefix: string;
  /** What the matched prefix is rewritten to before the request goes upstream. */
  rewritePrefix: string;
  /** Only backends whose labels match; undefined selects every backend in the gateway's namespace. */
  serviceSelector?: LabelSelectorModel;
}

export interface LabelSelectorModel {
  matchLabels?: Record<string, string>;
  matchExpressions?: {
    key: string;
    operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
    values?: string[];
  }[];
}

export interface GatewayBinding {
  namespace: string;
  name: string;
  /** The Gateway API Gateway this binds (same namespace unless given). */
  gateway: { namespace: string; name: string };
  tailnets: string[];
  routeGeneration?: RouteGeneration;
  /** The routes attached to the Gateway and the Tailscale backends each may use (status.routes). */
  routes?: RouteBackends[];
}

export interface BackendRef {
  kind: BackendKind;
  namespace: string;
  name: string;
}

export interface RouteBackends {
  route: { kind: RouteKind; namespace: string; name: string };
  backends: BackendRef[];
}

export interface PolicyMatch {
  path?: { type: 'PathPrefix' | 'Exact' | 'RegularExpression'; value: string };
  headers?: { name: string; type: 'Exact' | 'RegularExpression'; value: string }[];
  method?: string;
  tailnetDeviceTags?: string[];
}

export interface HeaderModifier {
  set?: { name: string; value: string }[];
  add?: { name: string; value: string }[];
  remove?: string[];
}

export type PolicyAction =
  | { type: 'Route'; backend: { kind: BackendKind; name: string }; rewritePrefix?: string }
  | {
      type: 'Redirect';
      scheme?: string;
      hostname?: string;
      port?: number;
      path?: string;
      statusCode: 301 | 302 | 303 | 307 | 308;
    }
  | { type: 'Deny'; statusCode: number; body?: string };

export interface PolicyRule {
  matches: PolicyMatch[];
  action?: PolicyAction;
  requestHeaderModifier?: HeaderModifier;
  responseHeaderModifier?: HeaderModifier;
}

export interface PolicyTarget {
  kind: 'HTTPRoute' | 'GRPCRoute' | 'Gateway';
  namespace: string;
  name: string;
}

export interface RoutePolicy {
  namespace: string;
  name: string;
  targets: PolicyTarget[];
  rules: PolicyRule[];
}

export interface IndexContent {
  backends: TailscaleBackend[];
  gateways: GatewayBinding[];
  policies: RoutePolicy[];
}

export function backendKey(kind: string, namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`;
}

export function targetKey(kind: string, namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`;
}

/** One consistent view. Never mutated after construction, except its memo of derived values. */
export class IndexSnapshot {
  readonly backends = new Map<string, TailscaleBackend>();
  readonly gatewaysByGateway = new Map<string, GatewayBinding[]>();
  readonly policiesByTarget = new Map<string, RoutePolicy[]>();
  readonly backendsByRoute = new Map<string, BackendRef[]>();
  readonly policyCount: number;
  private readonly memo = new Map<string, unknown>();

  constructor(
    content: IndexContent,
    readonly version: number,
    readonly builtAt: number,
  ) {
    for (const b of content.backends) this.backends.set(backendKey(b.kind, b.namespace, b.name), b);
    for (const g of content.gateways) {
      pushTo(this.gatewaysByGateway, `${g.gateway.namespace}/${g.gateway.name}`, g);
      // A route attached to several bound Gateways is listed by each: one entry per backend.
      for (const { route, backends } of g.routes ?? []) {
        const key = targetKey(route.kind, route.namespace, route.name);
        const known = this.backendsByRoute.get(key) ?? [];
        for (const b of backends) {
          const k = backendKey(b.kind, b.namespace, b.name);
          if (!known.some((o) => backendKey(o.kind, o.namespace, o.name) === k)) known.push(b);
        }
        this.backendsByRoute.set(key, known);
      }
    }
    // Sorted so that overlapping policies apply in a stable order (Gateway API: oldest wins; we lack
    // timestamps here, so namespace/name order stands in for it).
    const policies = [...content.policies].sort((a, b) =>
      `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`),
    );
    for (const p of policies) {
      for (const t of p.targets) pushTo(this.policiesByTarget, targetKey(t.kind, t.namespace, t.name), p);
    }
    this.policyCount = policies.length;
  }

  backend(kind: string, namespace: string, name: string): TailscaleBackend | undefined {
    return this.backends.get(backendKey(kind, namespace, name));
  }

  gatewayBindings(gatewayNamespace: string, gatewayName: string): GatewayBinding[] {
    return this.gatewaysByGateway.get(`${gatewayNamespace}/${gatewayName}`) ?? [];
  }

  /** The Tailscale backends a route may use, from the bound TailscaleGateways' status. */
  backendsOfRoute(kind: string, namespace: string, name: string): BackendRef[] {
    return this.backendsByRoute.get(targetKey(kind, namespace, name)) ?? [];
  }

  policiesFor(kind: string, namespace: string, name: string): RoutePolicy[] {
    return this.policiesByTarget.get(targetKey(kind, namespace, name)) ?? [];
  }

  get size(): number {
    return this.backends.size + [...this.gatewaysByGateway.values()].flat().length + this.policyCount;
  }

  /** Caches a value derived from this snapshot (encoded clusters, generated routes). */
  memoize<T>(key: string, compute: () => T): T {
    if (this.memo.has(key)) return this.memo.get(key) as T;
    const value = compute();
    this.memo.set(key, value);
    return value;
  }
}

function pushTo<K, V>(map: Map<K, V[]>, key: K, value: V) {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

const emptySnapshot = new IndexSnapshot({ backends: [], gateways: [], policies: [] }, 0, 0);

/** Holds the current snapshot; `replace` swaps it in one assignment, so a hook sees old or new, never half. */
export class BackendIndex {
  private snapshot: IndexSnapshot = emptySnapshot;
  private loadedFlag = false;
  private confirmedAt = 0;
  private nextVersion = 1;

  constructor(private readonly now: () => number = Date.now) {}

  current(): IndexSnapshot {
    return this.snapshot;
  }

  replace(content: IndexContent): IndexSnapshot {
    this.snapshot = new IndexSnapshot(content, this.nextVersion++, this.now());
    this.confirmedAt = this.snapshot.builtAt;
    return this.snapshot;
  }

  /** Every watched kind has listed once: until then hooks would answer from a partial view. */
  markLoaded(): void {
    this.loadedFlag = true;
  }

  get loaded(): boolean {
    return this.loadedFlag;
  }

  /** Milliseconds since the snapshot was last confirmed current (rebuilt or re-confirmed by a relist). */
  ageMs(): number {
    return this.loadedFlag ? this.now() - this.confirmedAt : Number.POSITIVE_INFINITY;
  }

  /** The watches are alive and nothing changed: the snapshot is still current. */
  confirm(): void {
    this.confirmedAt = this.now();
  }
}
