import { Client, Connection } from '@temporalio/client';
import type { KubeConfig } from '@kubernetes/client-node';
import type { KubeObject } from '../api/common';
import { loadOperatorConfig, type OperatorConfig } from '../runtime/config';
import { operatorIdFromConfig } from '../runtime/identity';
import { startLeaderElection } from '../runtime/leader-election';
import { startHealthServerFromEnv } from '../runtime/health-server';
import { collectProcessMetrics, renderMetrics } from '../runtime/metrics';
import { sleep } from '../runtime/backoff';
import { loadKubeConfig } from '../runtime/kube';
import { createLogger, type Logger } from '../runtime/logger';
import { temporalConnectionOptions } from '../runtime/temporal';
import { clientInterceptors, startTracing } from '../runtime/tracing';
import { customResourceInformer } from './custom-resource-informer';
import type { Informer, Watchable } from './informer';
import { startDependencyInformers } from './dependency-informers';
import { tailscaleServicesWatch } from './tailscale-services';
import { tailscaleGatewayWatch } from './tailscale-gateway';
import { tailscaleRoutePolicyWatch } from './tailscale-route-policy';
import { readSeenFingerprints } from './seen-fingerprints';
import { WorkflowSignaler } from './signaler';
import { TemporalHealth } from './temporal-health';
import { proxyWatchedKinds } from './proxy-kinds';
import { tailscaleTailnetWatch } from './tailscale-tailnet';
import { changedDelivery, deletedDelivery, type WatchedKind } from './watched-kind';
import { loadLeaderElectionConfig } from './config';
import { registerWatcherMetrics } from './metrics';

const temporalProbeIntervalMs = 10_000;
// A restarted watcher holds its signals at most this long while it learns what the workflows hold; past
// it, it signals everything as before (a slow Temporal or an unlistable dependency must not stall it).
const seedTimeoutMs = 10_000;

const watchedKinds: WatchedKind<KubeObject<unknown, unknown>>[] = [
  tailscaleTailnetWatch,
  tailscaleServicesWatch,
  ...proxyWatchedKinds,
  tailscaleGatewayWatch,
  tailscaleRoutePolicyWatch,
];

export interface Watchers {
  signaler: WorkflowSignaler;
  temporalHealth: TemporalHealth;
  informers: Informer<Watchable>[];
  stop(): Promise<void>;
}

/**
 * Starts one informer per watched kind (and per namespace when scoped), all feeding one signaler, plus
 * the dependency informers (Secrets, endpoints) whose changes re-evaluate the kinds that depend on them.
 */
export function startWatchers(deps: {
  config: OperatorConfig;
  kc: KubeConfig;
  client: Client;
  logger: Logger;
}): Watchers {
  const { config, kc, client, logger } = deps;
  const temporalHealth = new TemporalHealth({
    logger,
    unreadyAfterMs: config.watchers.temporalUnreadyAfterMs,
  });
  const signaler = new WorkflowSignaler({
    client,
    taskQueue: config.temporal.taskQueue,
    logger,
    callTimeoutMs: config.watchers.temporalCallTimeoutMs,
    health: temporalHealth,
  });
  // Before the informers' first lists are signalled: what the workflows already hold is not sent again.
  // The read waits (briefly: a dependency it may not list must not hold every signal back) for the
  // dependencies' first lists: a delivery made before them has no related versions, so its fingerprint
  // would never match what the workflow saw.
  void signaler.seed(async () => {
    const deadline = Date.now() + seedTimeoutMs;
    do await sleep(50);
    while (Date.now() < deadline && !dependencies.informers.every((i) => i.hasSynced));
    return readSeenFingerprints(client, config.temporal.taskQueue, Math.max(2_000, deadline - Date.now()));
  });
  // Signals alone say nothing while no object changes: a health check keeps the verdict current.
  const probe = setInterval(() => {
    client
      .withDeadline(Date.now() + config.watchers.temporalCallTimeoutMs, () =>
        client.workflowService.getSystemInfo({}),
      )
      .then(
        () => temporalHealth.succeeded(),
        (err: unknown) => temporalHealth.failed(err),
      );
  }, temporalProbeIntervalMs);
  const namespaces = config.watchNamespaces.length ? config.watchNamespaces : [undefined];
  const kindInformers: {
    kind: WatchedKind<KubeObject<unknown, unknown>>;
    informer: Informer<KubeObject<unknown, unknown>>;
  }[] = [];

  const dependencies = startDependencyInformers({
    kc,
    sources: new Set(watchedKinds.flatMap((k) => k.dependsOn ?? [])),
    namespaces,
    operatorNamespace: config.operatorNamespace,
    resyncIntervalMs: config.resyncIntervalMs,
    logger,
    onChange: (source, namespace) => {
      for (const { kind, informer } of kindInformers) {
        if (!kind.dependsOn?.includes(source)) continue;
        for (const obj of informer.list()) {
          // Secrets may be referenced across namespaces (cluster-scoped tailnets); endpoints and backend
          // Services only locally; a proxy StatefulSet names its parent's namespace.
          if (
            (source === 'endpoints' || source === 'backendServices' || source === 'proxyStatefulSets') &&
            obj.metadata.namespace !== namespace
          )
            continue;
          signaler.enqueue(changedDelivery(kind, obj, dependencies.lookups));
        }
      }
    },
  });

  for (const kind of watchedKinds) {
    for (const namespace of kind.resource.namespaced ? namespaces : [undefined]) {
      const informer = customResourceInformer<KubeObject<unknown, unknown>>({
        kc,
        resource: kind.resource,
        namespace,
        labelSelector: config.watchLabelSelector,
        resyncIntervalMs: config.resyncIntervalMs,
        logger,
        onUpsert: (obj) => signaler.enqueue(changedDelivery(kind, obj, dependencies.lookups)),
        onDelete: (obj) => signaler.enqueue(deletedDelivery(kind, obj)),
      });
      kindInformers.push({ kind, informer });
      informer.start();
    }
  }
  const informers = [
    ...kindInformers.map((k) => k.informer as Informer<Watchable>),
    ...dependencies.informers,
  ];
  return {
    signaler,
    temporalHealth,
    informers,
    async stop() {
      clearInterval(probe);
      signaler.stop();
      await Promise.all(informers.map((i) => i.stop()));
    },
  };
}

async function main() {
  const config = loadOperatorConfig();
  const election = loadLeaderElectionConfig();
  const logger = createLogger({
    fields: { component: 'watchers', operatorId: operatorIdFromConfig(config) },
  });
  const kc = loadKubeConfig(config.kubeconfigPath);
  const connection = await Connection.connect(temporalConnectionOptions(config.temporal));
  const tracing = startTracing('watchers');
  const client = new Client({
    connection,
    namespace: config.temporal.namespace,
    interceptors: clientInterceptors(tracing),
  });
  // Set once this process leads (at once without leader election).
  const running: { watchers?: Watchers } = {};
  const elector = election && startLeaderElection({ kc, logger, ...election });
  collectProcessMetrics();
  registerWatcherMetrics({
    informers: () => running.watchers?.informers ?? [],
    signaler: () => running.watchers?.signaler,
    temporalHealth: () => running.watchers?.temporalHealth,
    isLeader: () => (elector ? elector.isLeader() : true),
  });
  const health = await startHealthServerFromEnv({
    logger,
    metrics: () => renderMetrics(),
    // A standby is ready: it is exactly what a rollout or a drain needs next to the leader.
    ready: () => {
      if (!running.watchers) return undefined;
      const listing = running.watchers.informers.filter((i) => !i.hasSynced).length;
      if (listing) return `${listing} informer(s) have not listed yet`;
      return running.watchers.temporalHealth.unready();
    },
  });

  let stopping = false;
  const shutdown = async (signal: string, code = 0) => {
    if (stopping) return;
    stopping = true;
    logger.info('shutting down', { signal });
    await running.watchers?.stop();
    await elector?.stop();
    await health?.close();
    await connection.close();
    await tracing?.shutdown();
    process.exit(code);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));

  if (elector) {
    logger.info('waiting to become leader', { lease: `${election.namespace}/${election.leaseName}` });
    void elector.lost.then(() => shutdown('lost leadership', 1));
    await elector.acquired;
    if (stopping) return;
  }
  running.watchers = startWatchers({ config, kc, client, logger });
  logger.info('watchers started', {
    kinds: watchedKinds.map((k) => k.resource.kind),
    namespaces: config.watchNamespaces.length ? config.watchNamespaces : 'all',
    labelSelector: config.watchLabelSelector,
    taskQueue: config.temporal.taskQueue,
    leaderElection: election ? election.identity : 'off',
  });
}

if (require.main === module) {
  main().catch((err: unknown) => {
    createLogger({ fields: { component: 'watchers' } }).error('watchers failed to start', { error: err });
    process.exit(1);
  });
}
