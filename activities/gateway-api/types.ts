/**
 * The parts of Gateway API objects (sigs.k8s.io/gateway-api, group gateway.networking.k8s.io) the
 * operator reads. Only what attachment, backend resolution and policy targets need; everything else
 * in these user-owned objects is left alone.
 */
import type { KubeObject, LabelSelector } from '../../api/common';

export const gatewayApiGroup = 'gateway.networking.k8s.io';
export const tailscaleGroup = 'gateway.tailscale.com';

export type RouteKind = 'HTTPRoute' | 'GRPCRoute' | 'TCPRoute' | 'TLSRoute' | 'UDPRoute';
export const routeKinds: readonly RouteKind[] = [
  'HTTPRoute',
  'GRPCRoute',
  'TCPRoute',
  'TLSRoute',
  'UDPRoute',
];

export type TailscaleBackendKind = 'TailscaleServices' | 'TailscaleEndpoints';
export const tailscaleBackendKinds: readonly TailscaleBackendKind[] = [
  'TailscaleServices',
  'TailscaleEndpoints',
];

export interface ParentReference {
  group?: string;
  kind?: string;
  namespace?: string;
  name: string;
  sectionName?: string;
  port?: number;
}

export interface BackendReference {
  group?: string;
  kind?: string;
  namespace?: string;
  name: string;
  port?: number;
  weight?: number;
}

export interface RouteRule {
  name?: string;
  backendRefs?: BackendReference[];
}

export interface RouteSpec {
  parentRefs?: ParentReference[];
  hostnames?: string[];
  rules?: RouteRule[];
}

export type RouteObject = KubeObject<RouteSpec, unknown>;

export interface Listener {
  name: string;
  port: number;
  protocol: string;
  hostname?: string;
  allowedRoutes?: {
    namespaces?: { from?: 'All' | 'Same' | 'Selector' | 'None'; selector?: LabelSelector };
    kinds?: { group?: string; kind: string }[];
  };
}

export type GatewayObject = KubeObject<{ gatewayClassName?: string; listeners?: Listener[] }, unknown>;

export type ReferenceGrantObject = KubeObject<
  {
    from: { group: string; kind: string; namespace: string }[];
    to: { group: string; kind: string; name?: string }[];
  },
  unknown
>;

/** `<kind>/<namespace>/<name>`: how routes are named in status, registries and logs. */
export const routeKeyOf = (kind: string, namespace: string, name: string) => `${kind}/${namespace}/${name}`;
