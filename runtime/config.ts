/**
 * Process configuration from the environment, validated once at start-up so a bad value fails fast
 * with a message naming the variable, instead of surfacing later as a confusing runtime error.
 */
export interface OperatorConfig {
  /** Path of a kubeconfig file; unset means in-cluster service-account credentials. Never ~/.kube/config. */
  kubeconfigPath: string | undefined;
  temporal: TemporalConfig;
  /**
   * Identifies this operator in VIP service registries shared by several clusters; unset: derived from
   * the install's namespace and release name (runtime/identity.ts).
   */
  operatorId: string | undefined;
  /** This cluster's id in VIP service registries; unset: derived from the kube-system namespace's UID. */
  clusterId: string | undefined;
  /** The Helm release name of the install; with the namespace, it names the install. */
  releaseName: string | undefined;
  tailscaleApiBaseUrl: string;
  /**
   * Namespaces to watch; empty means all. The chart then binds each process's RBAC in these namespaces
   * only, and Gateways, routes, backends and OAuth Secrets elsewhere are reported rather than read.
   */
  watchNamespaces: string[];
  /**
   * The operator's own namespace (the chart sets it from the pod's metadata.namespace; with the release
   * name it also names the install, runtime/identity.ts): every proxy
   * StatefulSet, Service, ServiceAccount, Role, RoleBinding and Secret lives here, where tenants cannot
   * read auth keys or proxy state.
   */
  operatorNamespace: string;
  /** Optional label selector applied to every watched custom resource (sharding, test isolation). */
  watchLabelSelector: string | undefined;
  /** Periodic full relist of every watch, on top of the watch stream (level-triggered safety net). */
  resyncIntervalMs: number;
  /**
   * Admin allow-list of tags: a proxy's tags when its TailscaleProxyClass sets none (or there is no
   * class), and every VIP service's tags. Empty: any tag the tailnet's OAuth client owns.
   */
  allowedTags: string[];
  /** Time between two passes of a tailnet's stale-consumer sweeper. */
  sweepIntervalMs: number;
  /** A consumer unseen this long, with no live device, is removed from a VIP service registry. */
  staleConsumerMs: number;
  /** Multiplies every workflow timer through a worker-bundled interceptor (runtime/timer-scale.ts): tests and benchmarks only; keep 1. */
  timerScale: number;
  worker: WorkerTuning;
  watchers: WatchersTuning;
}

export interface WatchersTuning {
  /** Deadline of each Temporal call from the watchers (signals, health checks). */
  temporalCallTimeoutMs: number;
  /** The watchers turn unready (/ready 503) once Temporal calls have failed this long. */
  temporalUnreadyAfterMs: number;
}

export interface WorkerTuning {
  /**
   * Workflows kept in memory between their tasks (about 0.4 MiB each); one evicted replays its history
   * on its next task. With 1,000 open workflows: 250 keeps the worker near 400 MiB, all cached 650 MiB.
   */
  maxCachedWorkflows: number;
  /** Workflow tasks in progress at once; unset: the Temporal SDK's default (40). */
  maxConcurrentWorkflowTasks: number | undefined;
  /**
   * host:port where the Temporal SDK's own Prometheus exporter listens (workflow task latency, sticky
   * cache, poll and slot metrics); the worker's `/metrics` includes its output. Unset: off.
   */
  temporalMetricsAddress: string | undefined;
  /** The Worker Deployment version this worker polls as (Worker Versioning); unset: unversioned. */
  deployment: WorkerDeploymentVersion | undefined;
}

/** docs/worker-versioning.md: the chart sets both, from the release and the image tag. */
export interface WorkerDeploymentVersion {
  deploymentName: string;
  buildId: string;
}

export interface TemporalConfig {
  address: string;
  namespace: string;
  taskQueue: string;
  /** Connect with TLS (Temporal Cloud or an mTLS cluster). */
  tls: boolean;
  clientCertPath: string | undefined;
  clientKeyPath: string | undefined;
  apiKey: string | undefined;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

export function loadOperatorConfig(env: Env = process.env): OperatorConfig {
  return {
    kubeconfigPath: optional(env, 'KUBECONFIG'),
    temporal: loadTemporalConfig(env),
    operatorId: dnsLabel(env, 'OPERATOR_ID'),
    clusterId: dnsLabel(env, 'CLUSTER_ID'),
    releaseName: optional(env, 'RELEASE_NAME'),
    tailscaleApiBaseUrl: url(env, 'TAILSCALE_API_BASE_URL', 'https://api.tailscale.com'),
    watchNamespaces: list(env, 'WATCH_NAMESPACES'),
    operatorNamespace: dnsLabel(env, 'OPERATOR_NAMESPACE') ?? 'tailscale-gateway',
    watchLabelSelector: optional(env, 'WATCH_LABEL_SELECTOR'),
    allowedTags: tags(env, 'PROXY_ALLOWED_TAGS'),
    resyncIntervalMs: seconds(env, 'RESYNC_INTERVAL_SECONDS', 600) * 1000,
    sweepIntervalMs: seconds(env, 'SWEEP_INTERVAL_SECONDS', 600) * 1000,
    staleConsumerMs: seconds(env, 'STALE_CONSUMER_SECONDS', 1800) * 1000,
    timerScale: positiveNumber(env, 'TIMER_SCALE', 1),
    worker: {
      maxCachedWorkflows: count(env, 'WORKER_MAX_CACHED_WORKFLOWS') ?? 250,
      maxConcurrentWorkflowTasks: count(env, 'WORKER_MAX_CONCURRENT_WORKFLOW_TASKS'),
      temporalMetricsAddress: optional(env, 'TEMPORAL_METRICS_ADDRESS'),
      deployment: loadWorkerDeploymentVersion(env),
    },
    watchers: {
      temporalCallTimeoutMs: seconds(env, 'WATCHERS_TEMPORAL_TIMEOUT_SECONDS', 10) * 1000,
      temporalUnreadyAfterMs: seconds(env, 'WATCHERS_TEMPORAL_UNREADY_AFTER_SECONDS', 60) * 1000,
    },
  };
}

export function loadTemporalConfig(env: Env = process.env): TemporalConfig {
  const clientCertPath = optional(env, 'TEMPORAL_TLS_CERT');
  const clientKeyPath = optional(env, 'TEMPORAL_TLS_KEY');
  if (Boolean(clientCertPath) !== Boolean(clientKeyPath)) {
    throw new ConfigError(
      'TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY must be set together (mTLS client certificate and key)',
    );
  }
  const apiKey = optional(env, 'TEMPORAL_API_KEY');
  return {
    address: optional(env, 'TEMPORAL_ADDRESS') ?? '127.0.0.1:7233',
    namespace: optional(env, 'TEMPORAL_NAMESPACE') ?? 'default',
    taskQueue: optional(env, 'TEMPORAL_TASK_QUEUE') ?? 'tailscale-gateway-operator',
    tls: bool(env, 'TEMPORAL_TLS', Boolean(clientCertPath) || Boolean(apiKey)),
    clientCertPath,
    clientKeyPath,
    apiKey,
  };
}

export function loadWorkerDeploymentVersion(env: Env = process.env): WorkerDeploymentVersion | undefined {
  const deploymentName = optional(env, 'TEMPORAL_WORKER_DEPLOYMENT_NAME');
  const buildId = optional(env, 'TEMPORAL_WORKER_BUILD_ID');
  if (Boolean(deploymentName) !== Boolean(buildId)) {
    throw new ConfigError(
      'TEMPORAL_WORKER_DEPLOYMENT_NAME and TEMPORAL_WORKER_BUILD_ID must be set together (Worker Versioning)',
    );
  }
  if (deploymentName?.includes('.')) {
    throw new ConfigError(
      `TEMPORAL_WORKER_DEPLOYMENT_NAME: ${JSON.stringify(deploymentName)} may not contain "."`,
    );
  }
  return deploymentName && buildId ? { deploymentName, buildId } : undefined;
}

function optional(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

function list(env: Env, name: string): string[] {
  return (optional(env, name) ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function tags(env: Env, name: string): string[] {
  const values = list(env, name);
  const bad = values.find((t) => !/^tag:[A-Za-z0-9][-A-Za-z0-9]*$/.test(t));
  if (bad !== undefined) {
    throw new ConfigError(
      `${name}: ${JSON.stringify(bad)} is not a Tailscale tag (tag:<name>, comma-separated)`,
    );
  }
  return values;
}

/** A DNS label: lower-case letters, digits and '-', at most 63 characters. */
export const dnsLabelPattern = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

function dnsLabel(env: Env, name: string): string | undefined {
  const value = optional(env, name);
  if (value === undefined) return undefined;
  if (!dnsLabelPattern.test(value)) {
    throw new ConfigError(
      `${name}=${JSON.stringify(value)} must be a DNS label: lower-case letters, digits and '-', at most 63 characters`,
    );
  }
  return value;
}

function url(env: Env, name: string, fallback: string): string {
  const value = optional(env, name) ?? fallback;
  try {
    const parsed = new URL(value);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('scheme');
  } catch {
    throw new ConfigError(
      `${name}=${JSON.stringify(value)} must be an http(s) URL, e.g. https://api.tailscale.com`,
    );
  }
  return value.replace(/\/+$/, '');
}

function seconds(env: Env, name: string, fallback: number): number {
  const raw = optional(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) {
    throw new ConfigError(`${name}=${JSON.stringify(raw)} must be a positive number of seconds`);
  }
  return value;
}

function count(env: Env, name: string): number | undefined {
  const raw = optional(env, name);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 2) {
    throw new ConfigError(`${name}=${JSON.stringify(raw)} must be a whole number of at least 2`);
  }
  return value;
}

function positiveNumber(env: Env, name: string, fallback: number): number {
  const raw = optional(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) {
    throw new ConfigError(`${name}=${JSON.stringify(raw)} must be a positive number`);
  }
  return value;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = optional(env, name);
  if (raw === undefined) return fallback;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new ConfigError(`${name}=${JSON.stringify(raw)} must be true or false`);
}

/** The readers above, for process-specific config modules (watchers/config.ts). */
export { optional as optionalEnv, seconds as secondsEnv };
