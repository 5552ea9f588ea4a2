/**
 * Constructs the extension server: the EnvoyGatewayExtension service over grpc-js with our own
 * (de)serializers, each hook timed and counted, plus grpc.health.v1 Check. Requests arrive as raw
 * bytes and are decoded inside the handler, so a malformed message is an INVALID_ARGUMENT answer
 * (counted as a failed call), never an exception escaping into grpc-js.
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../runtime/logger';
import type { BackendIndex } from './backend-index';
import { extensionServiceName, healthCodecs, hookNames, rpcCodecs, type HookName } from './codec';
import type { HookHealth } from './health';
import { InvalidRequestError, type HookDeps } from './hook-context';
import type { ExtensionMetrics, HookOutcome } from './metrics';
import { postClusterModify } from './post-cluster-modify';
import { postEndpointsModify } from './post-endpoints-modify';
import { postHTTPListenerModify } from './post-http-listener-modify';
import { postRouteModify } from './post-route-modify';
import { postTranslateModify } from './post-translate-modify';
import { postTranslateModifyWire } from './post-translate-modify-wire';
import { postVirtualHostModify } from './post-virtual-host-modify';

type Handler = (req: never, deps: HookDeps) => unknown;

/** Hooks answered from the request bytes directly (each equal to its decoded handler's answer). */
const wireHooks: Partial<Record<HookName, (request: Buffer, deps: HookDeps) => Buffer>> = {
  PostTranslateModify: postTranslateModifyWire,
};

export const hooks: Record<HookName, Handler> = {
  PostRouteModify: postRouteModify,
  PostVirtualHostModify: postVirtualHostModify,
  PostHTTPListenerModify: postHTTPListenerModify,
  PostClusterModify: postClusterModify,
  PostEndpointsModify: postEndpointsModify,
  PostTranslateModify: postTranslateModify,
};

export interface ExtensionServerOptions {
  index: BackendIndex;
  logger: Logger;
  clusterDomain: string;
  metrics: ExtensionMetrics;
  health: HookHealth;
  /** Larger requests are refused with RESOURCE_EXHAUSTED by grpc-js (keep >= EG's maxMessageSize). */
  maxMessageBytes: number;
  /** Sees every call's raw request and response (tests, debugging). */
  observer?: (hook: HookName, request: Buffer, response: Buffer | undefined) => void;
}

const identity = (b: Buffer) => b;
const passBytes = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

/** Runs one hook on raw request bytes; the result is the encoded response or a gRPC error. */
export function runHook(
  name: HookName,
  request: Buffer,
  deps: HookDeps,
  observe: (outcome: HookOutcome, seconds: number) => void,
): { response: Buffer } | { error: Partial<grpc.StatusObject> } {
  const started = process.hrtime.bigint();
  const codec = rpcCodecs[name];
  let outcome: HookOutcome = 'ok';
  try {
    const onTheWire = wireHooks[name];
    if (onTheWire) return { response: onTheWire(request, deps) };
    let decoded: unknown;
    try {
      decoded = codec.request.decode(request);
    } catch (err) {
      throw new InvalidRequestError(`${name}Request is malformed: ${(err as Error).message}`);
    }
    const response = hooks[name](decoded as never, deps);
    return { response: passBytes(codec.response.encode(response as never)) };
  } catch (err) {
    const invalid = err instanceof InvalidRequestError;
    outcome = invalid ? 'invalid' : 'error';
    deps.logger.warn('hook failed', { hook: name, error: err, invalid });
    return {
      error: {
        code: invalid ? grpc.status.INVALID_ARGUMENT : grpc.status.INTERNAL,
        details: `${name}: ${(err as Error).message}`,
      },
    };
  } finally {
    observe(outcome, Number(process.hrtime.bigint() - started) / 1e9);
  }
}

function serviceDefinition(): grpc.ServiceDefinition {
  return Object.fromEntries(
    hookNames.map((name) => [
      name,
      {
        path: `/${extensionServiceName}/${name}`,
        requestStream: false,
        responseStream: false,
        requestDeserialize: identity,
        requestSerialize: identity,
        responseSerialize: identity,
        responseDeserialize: identity,
        originalName: name,
      },
    ]),
  );
}

const healthService: grpc.ServiceDefinition = {
  Check: {
    path: '/grpc.health.v1.Health/Check',
    requestStream: false,
    responseStream: false,
    requestDeserialize: identity,
    requestSerialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};

const ServingStatus = { SERVING: 1, NOT_SERVING: 2, SERVICE_UNKNOWN: 3 } as const;

export function createExtensionServer(opts: ExtensionServerOptions): grpc.Server {
  const server = new grpc.Server({
    'grpc.max_receive_message_length': opts.maxMessageBytes,
    'grpc.max_send_message_length': -1,
  });
  const deps: HookDeps = { index: opts.index, logger: opts.logger, clusterDomain: opts.clusterDomain };
  const impl: grpc.UntypedServiceImplementation = {};
  for (const name of hookNames) {
    impl[name] = (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      const result = runHook(name, call.request, deps, (outcome, seconds) => {
        opts.metrics.hookRequests.inc({ hook: name, outcome });
        opts.metrics.hookDuration.observe({ hook: name }, seconds);
        opts.health.record(outcome);
      });
      opts.observer?.(name, call.request, 'response' in result ? result.response : undefined);
      if ('error' in result) callback(result.error, null);
      else callback(null, result.response);
    };
  }
  server.addService(serviceDefinition(), impl);
  server.addService(healthService, {
    Check: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      let service = '';
      try {
        service = healthCodecs.request.decode(call.request).service ?? '';
      } catch {
        callback({ code: grpc.status.INVALID_ARGUMENT, details: 'malformed HealthCheckRequest' }, null);
        return;
      }
      const known = service === '' || service === extensionServiceName;
      // Serving only with a loaded index: answering hooks from an empty one would drop our clusters.
      const status = !known
        ? ServingStatus.SERVICE_UNKNOWN
        : opts.index.loaded
          ? ServingStatus.SERVING
          : ServingStatus.NOT_SERVING;
      callback(null, passBytes(healthCodecs.response.encode({ status })));
    },
  });
  return server;
}

/** Binds and resolves with the bound port (0 picks a free one). */
export function listen(server: grpc.Server, address: string): Promise<number> {
  return new Promise((resolve, reject) =>
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, port) =>
      err ? reject(err) : resolve(port),
    ),
  );
}
