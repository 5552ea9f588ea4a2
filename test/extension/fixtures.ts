/**
 * Envoy Gateway-shaped xDS resources for the hook tests, modelled on EG v1.9's golden outputs
 * (internal/xds/translator/testdata/out/extension-xds-ir/http-route-custom-backend*.yaml and the
 * gateway-api naming of internal/gatewayapi), encoded with Envoy's full .proto files plus one field no
 * .proto here knows, so pass-through tests prove nothing is lost.
 */
import * as protobuf from 'protobufjs';
import { BackendIndex, type IndexContent, type TailscaleBackend } from '../../extension/backend-index';
import type { HookDeps } from '../../extension/hook-context';
import { createLogger, type LogFields } from '../../runtime/logger';
import { encodeEnvoy, packAny, withFutureField } from './envoy-protos';

export const ns = 'default';
export const gatewayName = 'eg';
export const routeClusterName = `httproute/${ns}/web/rule/0`;

/** The EDS cluster EG emits for a route rule whose backendRefs are custom backends. */
export function egCustomBackendCluster(name = routeClusterName): Uint8Array {
  return withFutureField(
    encodeEnvoy('envoy.config.cluster.v3.Cluster', {
      name,
      type: 'EDS',
      edsClusterConfig: { edsConfig: { ads: {}, resourceApiVersion: 'V3' }, serviceName: name },
      connectTimeout: { seconds: 10 },
      perConnectionBufferLimitBytes: { value: 32768 },
      dnsLookupFamily: 'V4_PREFERRED',
      ignoreHealthOnHostRemoval: true,
      circuitBreakers: { thresholds: [{ maxRetries: { value: 1024 } }] },
      loadBalancingPolicy: {
        policies: [
          {
            typedExtensionConfig: {
              name: 'envoy.load_balancing_policies.least_request',
              typedConfig: packAny('envoy.extensions.load_balancing_policies.least_request.v3.LeastRequest', {
                localityLbConfig: { localityWeightedLbConfig: {} },
              }),
            },
          },
        ],
      },
    }),
  );
}

/** A plain Service-backed cluster of another route: never ours. */
export function egServiceCluster(name = `httproute/${ns}/other/rule/0`): Uint8Array {
  return withFutureField(
    encodeEnvoy('envoy.config.cluster.v3.Cluster', {
      name,
      type: 'EDS',
      edsClusterConfig: { edsConfig: { ads: {}, resourceApiVersion: 'V3' }, serviceName: name },
      connectTimeout: { seconds: 10 },
      dnsLookupFamily: 'V4_PREFERRED',
    }),
    4243,
  );
}

export function egRoute(
  opts: { route?: string; prefix?: string; cluster?: string; host?: string } = {},
): Uint8Array {
  const route = opts.route ?? 'web';
  const host = opts.host ?? 'www_example_com';
  return withFutureField(
    encodeEnvoy('envoy.config.route.v3.Route', {
      name: `httproute/${ns}/${route}/rule/0/match/0/${host}`,
      match: { prefix: opts.prefix ?? '/' },
      route: {
        cluster: opts.cluster ?? `httproute/${ns}/${route}/rule/0`,
        upgradeConfigs: [{ upgradeType: 'websocket' }],
      },
    }),
    4244,
  );
}

export function egVirtualHost(
  routes: Uint8Array[],
  name = `${ns}/${gatewayName}/http/www_example_com`,
): Uint8Array {
  // Routes are spliced in as raw bytes (VirtualHost.routes = 3) so their future fields survive.
  const head = encodeEnvoy('envoy.config.route.v3.VirtualHost', { name, domains: ['www.example.com'] });
  const parts = [head, ...routes.map((r) => lengthDelimited(3, r))];
  return withFutureField(concat(parts), 4245);
}

export function egListener(): Uint8Array {
  return withFutureField(
    encodeEnvoy('envoy.config.listener.v3.Listener', {
      name: `${ns}/${gatewayName}/http`,
      address: { socketAddress: { address: '0.0.0.0', portValue: 10080 } },
      defaultFilterChain: {
        filters: [
          {
            name: 'envoy.filters.network.http_connection_manager',
            typedConfig: {
              typeUrl:
                'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
              // HCM with a field newer than the protos (like EG 1.9's http1_safe_max_connection_duration).
              value: withFutureField(
                encodeEnvoy(
                  'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
                  {
                    statPrefix: 'http-10080',
                    rds: {
                      configSource: { ads: {}, resourceApiVersion: 'V3' },
                      routeConfigName: `${ns}/${gatewayName}/http`,
                    },
                    httpFilters: [
                      {
                        name: 'envoy.filters.http.router',
                        typedConfig: packAny('envoy.extensions.filters.http.router.v3.Router', {
                          suppressEnvoyHeaders: true,
                        }),
                      },
                    ],
                    useRemoteAddress: { value: true },
                  },
                ),
                58,
                1,
              ),
            },
          },
        ],
      },
    }),
  );
}

export function egSecret(name = `${ns}/tls-cert`): Uint8Array {
  return withFutureField(
    encodeEnvoy('envoy.extensions.transport_sockets.tls.v3.Secret', {
      name,
      tlsCertificate: {
        certificateChain: { inlineBytes: Buffer.from('-----BEGIN CERTIFICATE-----\n...') },
        privateKey: { inlineBytes: Buffer.from('not-a-real-key') },
      },
    }),
  );
}

export function egRouteConfiguration(): Uint8Array {
  return withFutureField(
    encodeEnvoy('envoy.config.route.v3.RouteConfiguration', {
      name: `${ns}/${gatewayName}/http`,
      ignorePortInHostMatching: true,
    }),
  );
}

function lengthDelimited(field: number, bytes: Uint8Array): Uint8Array {
  return protobuf.Writer.create()
    .uint32((field << 3) | 2)
    .bytes(bytes)
    .finish();
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** An ExtensionResource as EG sends it: the object as JSON. */
export function extensionResource(obj: Record<string, unknown>) {
  return { unstructuredBytes: Buffer.from(JSON.stringify(obj)) };
}

export function tailscaleServicesObject(name = 'web', status?: Record<string, unknown>) {
  return {
    apiVersion: 'gateway.tailscale.com/v1alpha1',
    kind: 'TailscaleServices',
    metadata: { name, namespace: ns },
    spec: {
      tailnet: 'corp',
      selector: { matchLabels: { app: name } },
      vipService: { ports: ['tcp:80'], tags: ['tag:web'] },
    },
    ...(status ? { status } : {}),
  };
}

export function webBackend(overrides: Partial<TailscaleBackend> = {}): TailscaleBackend {
  return {
    kind: 'TailscaleServices',
    namespace: ns,
    name: 'web',
    tailnet: 'corp',
    serviceName: 'web',
    labels: { app: 'web' },
    ready: true,
    endpoints: [
      {
        address: 'web-ep-0.web-ep.default.svc.cluster.local',
        port: 80,
        locality: 'local',
        healthy: true,
        source: 'web-ep-0',
      },
      {
        address: 'web-ep-1.web-ep.default.svc.cluster.local',
        port: 80,
        locality: 'local',
        healthy: false,
        source: 'web-ep-1',
      },
      { address: '100.100.1.5', port: 80, locality: 'remote', healthy: true, source: 'svc:web' },
    ],
    ...overrides,
  };
}

export interface TestDeps extends HookDeps {
  logs: LogFields[];
}

export function depsWith(content: Partial<IndexContent> = {}, loaded = true): TestDeps {
  const index = new BackendIndex();
  index.replace({ backends: [], gateways: [], policies: [], ...content });
  if (loaded) index.markLoaded();
  const logs: LogFields[] = [];
  const logger = createLogger({ level: 'debug', write: (line) => logs.push(JSON.parse(line) as LogFields) });
  return { index, logger, clusterDomain: 'cluster.local', logs };
}

export const bytesEqual = (a: Uint8Array | undefined, b: Uint8Array | undefined) =>
  a !== undefined && b !== undefined && Buffer.from(a).equals(Buffer.from(b));
