/**
 * Configuration of the extension server process, from the environment, validated at start-up.
 */
import { ConfigError } from '../runtime/config';
import { defaultCallLimits } from './call-gate';

export interface ExtensionConfig {
  kubeconfigPath: string | undefined;
  /** gRPC listen address for Envoy Gateway. */
  grpcAddress: string;
  /** HTTP side port: /metrics, /healthz, /ready, /health. */
  httpAddress: string;
  maxMessageBytes: number;
  /** Hook calls running at once; each holds its request (up to maxMessageBytes) and its answer. */
  maxConcurrentCalls: number;
  /** Calls waiting for a slot (their bodies not read yet); more are answered RESOURCE_EXHAUSTED. */
  maxQueuedCalls: number;
  clusterDomain: string;
  watchNamespaces: string[];
  watchLabelSelector: string | undefined;
  resyncIntervalMs: number;
  /** /health reports degraded when the index was not rebuilt or confirmed for this long. */
  indexStaleAfterMs: number;
  healthWindowMs: number;
  /** Unset: plaintext gRPC (local runs only; the chart always sets it). */
  tls: ExtensionTlsConfig | undefined;
}

/** PEM files, re-read when they change (cert-manager renews in place). */
export interface ExtensionTlsConfig {
  certFile: string;
  keyFile: string;
  /** Set: mutual TLS, every client must present a certificate this CA signed. */
  clientCaFile: string | undefined;
}

type Env = Record<string, string | undefined>;

export function loadExtensionConfig(env: Env = process.env): ExtensionConfig {
  const resyncIntervalMs = positive(env, 'RESYNC_INTERVAL_SECONDS', 600) * 1000;
  return {
    kubeconfigPath: value(env, 'KUBECONFIG'),
    // On the pod IP (downward API) in a cluster, so only the pod network reaches it, not every
    // interface of the pod; 0.0.0.0 locally.
    grpcAddress:
      value(env, 'EXTENSION_GRPC_ADDRESS') ??
      joinHostPort(value(env, 'POD_IP') ?? '0.0.0.0', positiveInteger(env, 'EXTENSION_GRPC_PORT', 5005)),
    httpAddress: value(env, 'EXTENSION_HTTP_ADDRESS') ?? '0.0.0.0:5006',
    maxMessageBytes: positive(env, 'EXTENSION_MAX_MESSAGE_BYTES', 16 * 1024 * 1024),
    maxConcurrentCalls: positiveInteger(env, 'EXTENSION_MAX_CONCURRENT_CALLS', defaultCallLimits.maxInFlight),
    maxQueuedCalls: positiveInteger(env, 'EXTENSION_MAX_QUEUED_CALLS', defaultCallLimits.maxQueued),
    clusterDomain: value(env, 'CLUSTER_DOMAIN') ?? 'cluster.local',
    watchNamespaces: (value(env, 'WATCH_NAMESPACES') ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    watchLabelSelector: value(env, 'WATCH_LABEL_SELECTOR'),
    resyncIntervalMs,
    // A relist confirms the index at least once per resync interval; two missed ones mean trouble.
    indexStaleAfterMs:
      positive(env, 'EXTENSION_INDEX_STALE_SECONDS', (2 * resyncIntervalMs) / 1000 + 60) * 1000,
    healthWindowMs: positive(env, 'EXTENSION_HEALTH_WINDOW_SECONDS', 60) * 1000,
    tls: tlsConfig(env),
  };
}

function tlsConfig(env: Env): ExtensionTlsConfig | undefined {
  const certFile = value(env, 'EXTENSION_TLS_CERT_FILE');
  const keyFile = value(env, 'EXTENSION_TLS_KEY_FILE');
  const clientCaFile = value(env, 'EXTENSION_TLS_CLIENT_CA_FILE');
  if (!certFile && !keyFile) {
    if (clientCaFile)
      throw new ConfigError(
        'EXTENSION_TLS_CLIENT_CA_FILE needs EXTENSION_TLS_CERT_FILE and EXTENSION_TLS_KEY_FILE',
      );
    return undefined;
  }
  if (!certFile || !keyFile)
    throw new ConfigError(
      'EXTENSION_TLS_CERT_FILE and EXTENSION_TLS_KEY_FILE are set together or not at all',
    );
  return { certFile, keyFile, clientCaFile };
}

/** host:port → [host, port] for the HTTP server (IPv6 in brackets allowed). */
export function splitHostPort(address: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(address);
  if (!m) throw new ConfigError(`${JSON.stringify(address)} is not host:port`);
  return { host: m[1] ?? m[2] ?? '0.0.0.0', port: Number(m[3]) };
}

/** host:port, with an IPv6 host in brackets. */
export function joinHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function value(env: Env, name: string): string | undefined {
  const v = env[name]?.trim();
  return v ? v : undefined;
}

function positive(env: Env, name: string, fallback: number): number {
  const raw = value(env, name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0)
    throw new ConfigError(`${name}=${JSON.stringify(raw)} must be a positive number`);
  return n;
}

function positiveInteger(env: Env, name: string, fallback: number): number {
  const n = positive(env, name, fallback);
  if (!Number.isInteger(n)) throw new ConfigError(`${name}=${n} must be a whole number`);
  return n;
}
