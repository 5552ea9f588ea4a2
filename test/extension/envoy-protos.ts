/**
 * Envoy's own .proto files (the trees @grpc/grpc-js-xds ships) loaded with protobufjs: the reference
 * our subsets are checked against, and the encoder that builds EG-shaped fixtures carrying fields our
 * subsets do not declare.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as protobuf from 'protobufjs';

const depsDir = join(dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
// protobufjs ships descriptor.proto (imported by Envoy's option annotations); the other well-known
// types are built into protobufjs.
const protobufjsDir = dirname(require.resolve('protobufjs/package.json'));
export const envoyIncludeDirs = [
  ...['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => join(depsDir, d)),
  protobufjsDir,
];

export function loadEnvoyRoot(files: string[], extraDirs: string[] = []): protobuf.Root {
  const root = new protobuf.Root();
  const dirs = [...extraDirs, ...envoyIncludeDirs];
  root.resolvePath = (_origin, target) => {
    for (const dir of dirs) {
      const candidate = join(dir, target);
      if (existsSync(candidate)) return candidate;
    }
    return target;
  };
  root.loadSync(files, { keepCase: false });
  root.resolveAll();
  return root;
}

let shared: protobuf.Root | undefined;

/** Cluster, endpoint, listener, HCM, route and secret types as Envoy declares them. */
export function envoyRoot(): protobuf.Root {
  shared ??= loadEnvoyRoot([
    'envoy/config/cluster/v3/cluster.proto',
    'envoy/config/endpoint/v3/endpoint.proto',
    'envoy/config/listener/v3/listener.proto',
    'envoy/config/route/v3/route.proto',
    'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
    'envoy/extensions/transport_sockets/tls/v3/secret.proto',
    'envoy/extensions/load_balancing_policies/least_request/v3/least_request.proto',
    'envoy/extensions/filters/http/router/v3/router.proto',
  ]);
  return shared;
}

/** Encodes a message given as JSON (proto3 JSON names, as EG's golden files write them). */
export function encodeEnvoy(typeName: string, json: Record<string, unknown>): Uint8Array {
  const type = envoyRoot().lookupType(typeName);
  const message = type.fromObject(json);
  return type.encode(message).finish();
}

export function decodeEnvoy(typeName: string, bytes: Uint8Array): Record<string, unknown> {
  const type = envoyRoot().lookupType(typeName);
  return type.toObject(type.decode(bytes), { longs: Number, enums: String, defaults: false });
}

/** Appends a varint field no .proto of ours or grpc-js-xds knows: stands for fields newer than both. */
export function withFutureField(bytes: Uint8Array, fieldNumber = 4242, value = 7): Uint8Array {
  const extra = protobuf.Writer.create()
    .uint32((fieldNumber << 3) | 0)
    .uint32(value)
    .finish();
  const out = new Uint8Array(bytes.length + extra.length);
  out.set(bytes);
  out.set(extra, bytes.length);
  return out;
}

export function packAny(
  typeName: string,
  json: Record<string, unknown>,
): { typeUrl: string; value: Uint8Array } {
  return { typeUrl: `type.googleapis.com/${typeName}`, value: encodeEnvoy(typeName, json) };
}
