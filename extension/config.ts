/**
 * Configuration of the extension server process, from the environment, validated at start-up.
 */
import { ConfigError } from '../runtime/config';

export interface ExtensionConfig {
  kubeconfigPath: string | undefined;
  /** gRPC listen address for Envoy Gateway. */
  grpcAddress: string;
  /** HTTP side port: /metrics, /healthz, /ready, /health. */
  httpAddress: string;
  maxMessageBytes: number;
  clusterDomain: string;
  watchNamespaces: string[];
  watchLabelSelector: string | undefined;
  resyncIntervalMs: number;
  /** /health reports degraded when the index was not rebuilt or confirmed for this long. */
  indexStaleAfterMs: number;
  healthWindowMs: number;
}

type Env = Record<string, string | undefined>;

export function loadExtensionConfig(env: Env = process.env): ExtensionConfig {
  const resyncIntervalMs = positive(env, 'RESYNC_INTERVAL_SECONDS', 600) * 1000;
  return {
    kubeconfigPath: value(env, 'KUBECONFIG'),
    grpcAddress: value(env, 'EXTENSION_GRPC_ADDRESS') ?? '0.0.0.0:5005',
    httpAddress: value(env, 'EXTENSION_HTTP_ADDRESS') ?? '0.0.0.0:5006',
    maxMessageBytes: positive(env, 'EXTENSION_MAX_MESSAGE_BYTES', 16 * 1024 * 1024),
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
  };
}

/** host:port → [host, port] for the HTTP server (IPv6 in brackets allowed). */
export function splitHostPort(address: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(address);
  if (!m) throw new ConfigError(`${JSON.stringify(address)} is not host:port`);
  return { host: m[1] ?? m[2] ?? '0.0.0.0', port: Number(m[3]) };
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
