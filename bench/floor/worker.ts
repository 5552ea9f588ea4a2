/**
 * The floor bench's worker, a process of its own as the operator's is: the same SDK, the same cache
 * and slot settings (runtime/config.ts defaults or the same environment variables), no-op activities.
 * Tells its parent (bench/temporal-floor.ts) over IPC each time a service workflow publishes Ready.
 */
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker, bundleWorkflowCode } from '@temporalio/worker';
import { loadOperatorConfig } from '../../runtime/config';
import { temporalConnectionOptions } from '../../runtime/temporal';
import { floorActivities, floorTaskQueue } from './activities';

async function main() {
  const config = loadOperatorConfig();
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('./workflows'),
    logger: new DefaultLogger('WARN'),
  });
  const connection = await NativeConnection.connect(temporalConnectionOptions(config.temporal));
  const client = new Client({
    connection: await Connection.connect(temporalConnectionOptions(config.temporal)),
  });
  const worker = await Worker.create({
    connection,
    taskQueue: floorTaskQueue,
    workflowBundle: { code },
    maxCachedWorkflows: config.worker.maxCachedWorkflows,
    maxConcurrentWorkflowTaskExecutions: config.worker.maxConcurrentWorkflowTasks,
    activities: floorActivities(client, (workflowId) => process.send?.({ ready: workflowId })),
  });
  process.send?.({ started: true });
  await worker.run();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
