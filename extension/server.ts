/**
 * Constructs the extension server: the EnvoyGatewayExtension service over grpc-js with our own
 * (de)serializers, each hook timed and counted, plus grpc.health.v1 Check. Requests arrive as raw
 * bytes and are decoded inside the handler, so a malformed message is an INVALID_ARGUMENT answer
 * (counted as a failed call), never an exception escaping into grpc-js.
 */
import { context, propagation, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { operatorTracer } from '../runtime/spans';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../runtime/logger';
import type { BackendIndex } from './backend-index';
import { CallGate, defaultCallLimits, gateInterceptor, type CallGateOptions } from './call-gate';
import { extensionServiceName, healthCodecs, hookNames, rpcCodecs, type HookName } from './codec';
import type { HookHealth } from './health';
import { InvalidRequestError, type HookDeps } from './hook-context';
import { Gauge } from 'prom-client';
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
  /** Calls running at once and waiting (see call-gate.ts); with maxMessageBytes they bound RSS. */
  callLimits?: CallGateOptions;
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

/** A server span per hook call, a child of the caller's trace when its metadata carries one. */
function hookSpan(name: string, metadata: grpc.Metadata) {
  const parent = propagation.extract(context.active(), metadata, {
    keys: (carrier) => Object.keys(carrier.getMap()),
    get: (carrier, key) => carrier.get(key).map(String),
  });
  return operatorTracer().startSpan(
    `extension ${name}`,
    { kind: SpanKind.SERVER, attributes: { 'rpc.system': 'grpc', 'rpc.method': name } },
    parent,
  );
}

export function createExtensionServer(opts: ExtensionServerOptions): grpc.Server {
  const limits = opts.callLimits ?? defaultCallLimits;
  const gate = new CallGate(limits);
  const gateGauge = (name: string, help: string, read: () => number) =>
    new Gauge({
      name,
      help,
      registers: [opts.metrics.registry],
      collect() {
        this.set(read());
      },
    });
  gateGauge('tsgw_extension_calls_running', 'Calls admitted and not answered yet.', () => gate.running);
  gateGauge('tsgw_extension_calls_queued', 'Calls waiting for a slot.', () => gate.queued);
  const server = new grpc.Server({
    'grpc.max_receive_message_length': opts.maxMessageBytes,
    'grpc.max_send_message_length': -1,
    // One connection cannot hold more streams than the gate can place; more get REFUSED_STREAM.
    'grpc.max_concurrent_streams': limits.maxInFlight + limits.maxQueued,
    interceptors: [
      gateInterceptor(gate, (method) => {
        opts.metrics.callsRefused.inc({ method: method.slice(method.lastIndexOf('/') + 1) });
        opts.logger.warn('call refused: extension server busy', { method, ...limits });
      }),
    ],
  });
  const deps: HookDeps = { index: opts.index, logger: opts.logger, clusterDomain: opts.clusterDomain };
  const impl: grpc.UntypedServiceImplementation = {};
  for (const name of hookNames) {
    impl[name] = (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      const span = hookSpan(name, call.metadata);
      const result = runHook(name, call.request, deps, (outcome, seconds) => {
        opts.metrics.hookRequests.inc({ hook: name, outcome });
        opts.metrics.hookDuration.observe({ hook: name }, seconds);
        opts.health.record(outcome);
        span.setAttribute('tsgw.hook.outcome', outcome);
      });
      if ('error' in result) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
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

/** Binds and resolves with the bound port (0 picks a free one); plaintext unless credentials say otherwise. */
export function listen(
  server: grpc.Server,
  address: string,
  credentials: grpc.ServerCredentials = grpc.ServerCredentials.createInsecure(),
): Promise<number> {
  return new Promise((resolve, reject) =>
    server.bindAsync(address, credentials, (err, port) => (err ? reject(err) : resolve(port))),
  );
}
