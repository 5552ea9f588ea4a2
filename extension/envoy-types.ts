/**
 * TypeScript shapes of the Envoy messages in proto/envoy-subset, as protobufjs decodes them (camelCase
 * fields). Only what the hooks read or write; undeclared fields ride along as protobufjs `$unknowns`.
 */
export interface UInt32Value {
  value: number;
}

export interface Duration {
  seconds: number;
  nanos?: number;
}

export const DiscoveryType = { STATIC: 0, STRICT_DNS: 1, LOGICAL_DNS: 2, EDS: 3, ORIGINAL_DST: 4 } as const;
export const DnsLookupFamily = { AUTO: 0, V4_ONLY: 1, V6_ONLY: 2, V4_PREFERRED: 3, ALL: 4 } as const;
export const HealthStatus = {
  UNKNOWN: 0,
  HEALTHY: 1,
  UNHEALTHY: 2,
  DRAINING: 3,
  TIMEOUT: 4,
  DEGRADED: 5,
} as const;
export const HeaderAppendAction = {
  APPEND_IF_EXISTS_OR_ADD: 0,
  ADD_IF_ABSENT: 1,
  OVERWRITE_IF_EXISTS_OR_ADD: 2,
  OVERWRITE_IF_EXISTS: 3,
} as const;
export const RedirectResponseCode = {
  MOVED_PERMANENTLY: 0,
  FOUND: 1,
  SEE_OTHER: 2,
  TEMPORARY_REDIRECT: 3,
  PERMANENT_REDIRECT: 4,
} as const;

export interface SocketAddress {
  protocol?: number;
  address: string;
  portValue: number;
}

export interface LbEndpoint {
  endpoint: { address: { socketAddress: SocketAddress }; hostname?: string };
  healthStatus?: number;
  loadBalancingWeight?: UInt32Value;
}

export interface LocalityLbEndpoints {
  locality?: { region?: string; zone?: string; subZone?: string };
  lbEndpoints: LbEndpoint[];
  loadBalancingWeight?: UInt32Value;
  priority?: number;
}

export interface ClusterLoadAssignment {
  clusterName: string;
  endpoints?: LocalityLbEndpoints[];
}

export interface OutlierDetection {
  consecutive_5xx?: UInt32Value;
  interval?: Duration;
  baseEjectionTime?: Duration;
  maxEjectionPercent?: UInt32Value;
  consecutiveGatewayFailure?: UInt32Value;
  enforcingConsecutiveGatewayFailure?: UInt32Value;
  splitExternalLocalOriginErrors?: boolean;
  consecutiveLocalOriginFailure?: UInt32Value;
}

export interface Cluster {
  name: string;
  type?: number;
  edsClusterConfig?: Uint8Array;
  connectTimeout?: Duration;
  dnsLookupFamily?: number;
  outlierDetection?: OutlierDetection;
  ignoreHealthOnHostRemoval?: boolean;
  loadAssignment?: ClusterLoadAssignment;
  clusterType?: Uint8Array;
  loadBalancingPolicy?: Uint8Array;
}

export interface StringMatcher {
  exact?: string;
  prefix?: string;
  suffix?: string;
  safeRegex?: { regex: string };
  ignoreCase?: boolean;
  contains?: string;
}

export interface HeaderMatcher {
  name: string;
  presentMatch?: boolean;
  invertMatch?: boolean;
  stringMatch?: StringMatcher;
}

export interface RouteMatch {
  prefix?: string;
  path?: string;
  headers?: HeaderMatcher[];
  safeRegex?: { regex: string };
  pathSeparatedPrefix?: string;
}

export interface HeaderValueOption {
  header: { key: string; value: string };
  appendAction?: number;
}

export interface RouteAction {
  cluster?: string;
  weightedClusters?: Uint8Array;
  prefixRewrite?: string;
  regexRewrite?: Uint8Array;
}

export interface RedirectAction {
  hostRedirect?: string;
  pathRedirect?: string;
  responseCode?: number;
  httpsRedirect?: boolean;
  prefixRewrite?: string;
  schemeRedirect?: string;
  portRedirect?: number;
}

export interface Route {
  name?: string;
  match?: RouteMatch;
  route?: RouteAction;
  redirect?: RedirectAction;
  directResponse?: { status: number; body?: { inlineString: string } };
  requestHeadersToAdd?: HeaderValueOption[];
  responseHeadersToAdd?: HeaderValueOption[];
  responseHeadersToRemove?: string[];
  requestHeadersToRemove?: string[];
}

export interface VirtualHost {
  name: string;
  domains?: string[];
  /** Each route as Envoy Gateway encoded it: untouched routes go back byte for byte. */
  routes?: Uint8Array[];
}
