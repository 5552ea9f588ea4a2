import { existsSync } from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, Worker, makeTelemetryFilterString } from '@temporalio/worker';
import { createActivities } from '../activities';
import { loadOperatorConfig } from '../runtime/config';
import { startHealthServerFromEnv } from '../runtime/health-server';
import { loadKubeConfig } from '../runtime/kube';
import { createLogger, type Logger } from '../runtime/logger';
import { workflowBundlePath } from '../runtime/paths';
import { temporalConnectionOptions } from '../runtime/temporal';
import { TemporalLogger } from './temporal-logger';

async function main() {
  const config = loadOperatorConfig();
  const logger = createLogger({ fields: { component: 'worker', operatorId: config.operatorId } });
  Runtime.install({
    logger: new TemporalLogger(logger),
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} } },
  });
  if (!existsSync(workflowBundlePath())) {
    throw new Error(`workflow bundle ${workflowBundlePath()} is missing: run npm run build`);
  }
  const connection = await NativeConnection.connect(temporalConnectionOptions(config.temporal));
  const clientConnection = await Connection.connect(temporalConnectionOptions(config.temporal));
  const client = new Client({ connection: clientConnection, namespace: config.temporal.namespace });
  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    workflowBundle: { codePath: workflowBundlePath() },
    maxCachedWorkflows: config.worker.maxCachedWorkflows,
    maxConcurrentWorkflowTaskExecutions: config.worker.maxConcurrentWorkflowTasks,
    activities: createActivities({
      kube: loadKubeConfig(config.kubeconfigPath),
      logger,
      identity: { operatorId: config.operatorId, clusterId: config.clusterId },
      watchNamespaces: config.watchNamespaces,
      tailscaleApiBaseUrl: config.tailscaleApiBaseUrl,
      temporal: { client, taskQueue: config.temporal.taskQueue, timerScale: config.timerScale },
      sweeper: { intervalMs: config.sweepIntervalMs, staleAfterMs: config.staleConsumerMs },
    }),
  });
  const health = await startHealthServerFromEnv({
    logger,
    ready: () => (worker.getState() === 'RUNNING' ? undefined : `worker is ${worker.getState()}`),
  });
  logger.info('worker started', {
    taskQueue: config.temporal.taskQueue,
    namespace: config.temporal.namespace,
  });
  await worker.run();
  await health?.close();
  await Promise.all([connection.close(), clientConnection.close()]);
  logger.info('worker stopped');
}

function fail(logger: Logger, err: unknown) {
  logger.error('worker failed', { error: err });
  process.exit(1);
}

if (require.main === module) {
  main().catch((err: unknown) => fail(createLogger({ fields: { component: 'worker' } }), err));
}
