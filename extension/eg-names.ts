/**
 * Envoy Gateway's requests never say which Gateway or route a resource belongs to; its xDS names do
 * (default naming scheme): listener and route configuration `<ns>/<gateway>/<listener>`, virtual host
 * `<ns>/<gateway>/<listener>/<host_with_underscores>`, route
 * `httproute/<ns>/<route>/rule/<i>/match/<j>/<host>` and cluster `httproute/<ns>/<route>/rule/<i>`
 * (`tcproute/<ns>/<route>/rule/-1` for TCPRoute, TLSRoute and UDPRoute, which have one rule).
 * With EG's XDSNameSchemeV2 runtime flag the virtual host is only the hostname, and then we cannot
 * tell the Gateway: hooks treat that as "not ours".
 */
export interface GatewayRef {
  namespace: string;
  name: string;
}

export function gatewayOfVirtualHost(virtualHostName: string): GatewayRef | undefined {
  const parts = virtualHostName.split('/');
  if (parts.length < 4 || !parts[0] || !parts[1]) return undefined;
  return { namespace: parts[0], name: parts[1] };
}

export type RouteKind = 'HTTPRoute' | 'GRPCRoute' | 'TCPRoute' | 'TLSRoute' | 'UDPRoute';

export interface RouteRef {
  kind: RouteKind;
  namespace: string;
  name: string;
  /** -1 for TCPRoute, TLSRoute and UDPRoute: EG names their single rule `rule/-1`. */
  rule: number;
}

const routeName = /^(httproute|grpcroute|tcproute|tlsroute|udproute)\/([^/]+)\/([^/]+)\/rule\/(-1|\d+)(\/|$)/;
const kinds = {
  httproute: 'HTTPRoute',
  grpcroute: 'GRPCRoute',
  tcproute: 'TCPRoute',
  tlsroute: 'TLSRoute',
  udproute: 'UDPRoute',
} as const;

/**
 * Parses xDS route names and route-rule cluster names (`<kind>/<ns>/<route>/rule/<i>`, for TCPRoute,
 * TLSRoute and UDPRoute `<kind>/<ns>/<route>/rule/-1`).
 */
export function routeOfName(name: string): RouteRef | undefined {
  const m = routeName.exec(name);
  if (!m) return undefined;
  return { kind: kinds[m[1] as keyof typeof kinds], namespace: m[2]!, name: m[3]!, rule: Number(m[4]) };
}
