/**
 * Protobuf encoding for the extension API without losing anything Envoy Gateway sends. The outer
 * messages come from proto/wire, where every Envoy resource is opaque bytes, so resources we do not
 * change go back byte for byte. The few we change are decoded with proto/envoy-subset, keeping fields
 * those .proto files do not declare as protobufjs `$unknowns`, which the encoder writes back.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as protobuf from 'protobufjs';
import { repoRoot } from '../runtime/paths';
import type { Cluster, ClusterLoadAssignment, Route, VirtualHost } from './envoy-types';

const includeDirs = ['wire', 'api', 'envoy-subset', 'grpc-health'];

function loadRoot(): protobuf.Root {
  const protoDir = join(repoRoot(), 'proto');
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    for (const dir of includeDirs) {
      const candidate = join(protoDir, dir, target);
      if (existsSync(candidate)) return candidate;
    }
    return target; // google/protobuf/*: protobufjs's bundled well-known types
  };
  root.loadSync(
    [
      'envoygateway/extension/service.proto',
      'envoy/config/cluster/v3/cluster.proto',
      'envoy/config/route/v3/route_components.proto',
      'grpc/health/v1/health.proto',
    ],
    { keepCase: false },
  );
  root.resolveAll();
  return root;
}

const root = loadRoot();

export class MessageCodec<T> {
  private readonly type: protobuf.Type;

  constructor(readonly typeName: string) {
    this.type = root.lookupType(typeName);
  }

  /** Throws on malformed input (protobufjs RangeError/Error); callers map that to INVALID_ARGUMENT. */
  decode(bytes: Uint8Array): T {
    const reader = protobuf.Reader.create(bytes);
    reader.discardUnknown = false;
    return this.type.decode(reader) as unknown as T;
  }

  encode(message: T): Uint8Array {
    return this.type.encode(message as unknown as protobuf.Message).finish();
  }
}

export const clusterCodec = new MessageCodec<Cluster>('envoy.config.cluster.v3.Cluster');
export const loadAssignmentCodec = new MessageCodec<ClusterLoadAssignment>(
  'envoy.config.endpoint.v3.ClusterLoadAssignment',
);
export const routeCodec = new MessageCodec<Route>('envoy.config.route.v3.Route');
export const virtualHostCodec = new MessageCodec<VirtualHost>('envoy.config.route.v3.VirtualHost');

// Outer messages of the extension API (proto/wire): Envoy resources stay Uint8Array.
export interface ExtensionResource {
  unstructuredBytes: Uint8Array;
}

export interface PostRouteModifyRequest {
  route?: Uint8Array;
  postRouteContext?: {
    extensionResources?: ExtensionResource[];
    hostnames?: string[];
    extensionPolicies?: ExtensionResource[];
  };
}
export interface PostVirtualHostModifyRequest {
  virtualHost?: Uint8Array;
}
export interface PostHTTPListenerModifyRequest {
  listener?: Uint8Array;
  postListenerContext?: { extensionResources?: ExtensionResource[] };
}
export interface PostClusterModifyRequest {
  cluster?: Uint8Array;
  postClusterContext?: { backendExtensionResources?: ExtensionResource[] };
}
export interface PostEndpointsModifyRequest {
  loadAssignment?: Uint8Array;
}
export interface PostTranslateModifyRequest {
  postTranslateContext?: { extensionResources?: ExtensionResource[] };
  clusters?: Uint8Array[];
  secrets?: Uint8Array[];
  listeners?: Uint8Array[];
  routes?: Uint8Array[];
}
export interface PostTranslateModifyResponse {
  clusters: Uint8Array[];
  secrets: Uint8Array[];
  listeners: Uint8Array[];
  routes: Uint8Array[];
}

const pkg = 'envoygateway.extension';

export interface RpcCodec<Req, Res> {
  request: MessageCodec<Req>;
  response: MessageCodec<Res>;
}

function rpc<Req, Res>(name: string): RpcCodec<Req, Res> {
  return {
    request: new MessageCodec<Req>(`${pkg}.${name}Request`),
    response: new MessageCodec<Res>(`${pkg}.${name}Response`),
  };
}

export const rpcCodecs = {
  PostRouteModify: rpc<PostRouteModifyRequest, { route?: Uint8Array }>('PostRouteModify'),
  PostVirtualHostModify: rpc<PostVirtualHostModifyRequest, { virtualHost?: Uint8Array }>(
    'PostVirtualHostModify',
  ),
  PostHTTPListenerModify: rpc<PostHTTPListenerModifyRequest, { listener?: Uint8Array }>(
    'PostHTTPListenerModify',
  ),
  PostClusterModify: rpc<PostClusterModifyRequest, { cluster?: Uint8Array }>('PostClusterModify'),
  PostEndpointsModify: rpc<PostEndpointsModifyRequest, { loadAssignment?: Uint8Array }>(
    'PostEndpointsModify',
  ),
  PostTranslateModify: rpc<PostTranslateModifyRequest, PostTranslateModifyResponse>('PostTranslateModify'),
};

export type HookName = keyof typeof rpcCodecs;
export const hookNames = Object.keys(rpcCodecs) as HookName[];
export const extensionServiceName = `${pkg}.EnvoyGatewayExtension`;

export const healthCodecs: RpcCodec<{ service?: string }, { status: number }> = {
  request: new MessageCodec('grpc.health.v1.HealthCheckRequest'),
  response: new MessageCodec('grpc.health.v1.HealthCheckResponse'),
};

/** The protobufjs root, for tests that compare our .proto files with Envoy's. */
export function protoRoot(): protobuf.Root {
  return root;
}

/**
 * Reads one top-level string field of an encoded message without decoding the rest (e.g. Route.name,
 * field 14, for every route of a large virtual host). Undefined when absent or malformed.
 */
export function peekStringField(bytes: Uint8Array, fieldNumber: number): string | undefined {
  try {
    const reader = protobuf.Reader.create(bytes);
    let found: string | undefined;
    while (reader.pos < reader.len) {
      const tag = reader.uint32();
      if (tag >>> 3 === fieldNumber && (tag & 7) === 2) found = reader.string();
      else reader.skipType(tag & 7);
    }
    return found;
  } catch {
    return undefined;
  }
}
