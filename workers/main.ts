import { existsSync } from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import {
  NativeConnection,
  Runtime,
  Worker,
  bundleWorkflowCode,
  makeTelemetryFilterString,
} from '@temporalio/worker';
import { createActivities } from '../activities';
import { loadOperatorConfig } from '../runtime/config';
import { startHealthServerFromEnv } from '../runtime/health-server';
import { collectProcessMetrics, renderMetrics } from '../runtime/metrics';
import { kubeSystemUidReader, operatorIdFromConfig, resolveIdentity } from '../runtime/identity';
import { loadKubeConfig } from '../runtime/kube';
import { createLogger, type Logger } from '../runtime/logger';
import { temporalConnectionOptions } from '../runtime/temporal';
import { timerScaleBundleOptions } from '../runtime/timer-scale';
import { clientInterceptors, startTracing } from '../runtime/tracing';
import { TemporalLogger } from './temporal-logger';
import { heartbeatInterceptors } from './heartbeat';
import { workerTracingOptions } from './tracing';

async function main() {
  const config = loadOperatorConfig();
  const logger = createLogger({ fields: { component: 'worker', operatorId: operatorIdFromConfig(config) } });
  collectProcessMetrics();
  const tracing = startTracing('worker');
  const { bundlePath, interceptors, ...tracingOptions } = workerTracingOptions(tracing);
  const sdkMetricsAddress = config.worker.temporalMetricsAddress;
  Runtime.install({
    logger: new TemporalLogger(logger),
    telemetryOptions: {
      logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} },
      ...(sdkMetricsAddress
        ? { metrics: { prometheus: { bindAddress: sdkMetricsAddress, useSecondsForDurations: true } } }
        : {}),
    },
  });
  if (!existsSync(bundlePath)) {
    throw new Error(`workflow bundle ${bundlePath} is missing: run npm run build`);
  }
  const kube = loadKubeConfig(config.kubeconfigPath);
  const { derived, ...identity } = await resolveIdentity(config, kubeSystemUidReader(kube));
  logger.info('identity', { ...identity, derived });
  if (!identity.instance) {
    logger.warn(
      'OPERATOR_NAMESPACE and RELEASE_NAME are unset: this install cannot tell another install using ' +
        `identity ${identity.clusterId}/${identity.operatorId} from itself`,
    );
  }
  const connection = await NativeConnection.connect(temporalConnectionOptions(config.temporal));
  const clientConnection = await Connection.connect(temporalConnectionOptions(config.temporal));
  const client = new Client({
    connection: clientConnection,
    namespace: config.temporal.namespace,
    interceptors: clientInterceptors(tracing),
  });
  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    workflowBundle: await workflowBundle(bundlePath, config.timerScale),
    ...tracingOptions,
    interceptors: { ...interceptors, activity: [heartbeatInterceptors, ...(interceptors?.activity ?? [])] },
    maxCachedWorkflows: config.worker.maxCachedWorkflows,
    maxConcurrentWorkflowTaskExecutions: config.worker.maxConcurrentWorkflowTasks,
    ...(config.worker.deployment
      ? {
          // Auto-upgrade: our workflows never finish, so a pinned version would have to run forever;
          // they move to each new current version at their next task (docs/worker-versioning.md).
          workerDeploymentOptions: {
            useWorkerVersioning: true,
            version: config.worker.deployment,
            defaultVersioningBehavior: 'AUTO_UPGRADE',
          },
        }
      : {}),
    activities: createActivities({
      kube,
      logger,
      identity,
      watchNamespaces: config.watchNamespaces,
      operatorNamespace: config.operatorNamespace,
      allowedTags: config.allowedTags,
      tailscaleApiBaseUrl: config.tailscaleApiBaseUrl,
      temporal: { client, taskQueue: config.temporal.taskQueue },
      sweeper: { intervalMs: config.sweepIntervalMs, staleAfterMs: config.staleConsumerMs },
    }),
  });
  const health = await startHealthServerFromEnv({
    logger,
    metrics: () => renderMetrics(sdkMetricsAddress ? [() => scrapeSdkMetrics(sdkMetricsAddress)] : []),
    ready: () => (worker.getState() === 'RUNNING' ? undefined : `worker is ${worker.getState()}`),
  });
  logger.info('worker started', {
    taskQueue: config.temporal.taskQueue,
    namespace: config.temporal.namespace,
    ...(config.worker.deployment ? { deploymentVersion: config.worker.deployment } : {}),
  });
  await worker.run();
  await health?.close();
  await Promise.all([connection.close(), clientConnection.close(), tracing?.shutdown()]);
  logger.info('worker stopped');
}

/**
 * The prebuilt bundle, or (TIMER_SCALE other than 1: tests and benchmarks) the workflows bundled again
 * with the timer-scaling interceptor, so no workflow input carries the scale. Scaled runs are untraced.
 */
async function workflowBundle(
  bundlePath: string,
  timerScale: number,
): Promise<{ codePath: string } | { code: string }> {
  if (timerScale === 1) return { codePath: bundlePath };
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../workflows'),
    ...(await timerScaleBundleOptions(timerScale)),
  });
  return { code };
}

/** The Temporal SDK exporter's text, so one scrape of the worker covers both. */
async function scrapeSdkMetrics(address: string): Promise<string> {
  const host = address.replace(/^0\.0\.0\.0:/, '127.0.0.1:').replace(/^\[::\]:/, '127.0.0.1:');
  const response = await fetch(`http://${host}/metrics`, { signal: AbortSignal.timeout(5_000) });
  if (!response.ok) throw new Error(`the Temporal SDK's exporter answered ${response.status}`);
  return response.text();
}

function fail(logger: Logger, err: unknown) {
  logger.error('worker failed', { error: err });
  process.exit(1);
}

if (require.main === module) {
  main().catch((err: unknown) => fail(createLogger({ fields: { component: 'worker' } }), err));
}
