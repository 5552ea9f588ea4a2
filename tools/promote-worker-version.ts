/**
 * Makes this release's worker build the current version of its Worker Deployment, so workflow tasks go
 * to it; running workflows (auto-upgrade) move to it at their next task. The Helm chart runs it as a
 * post-install/post-upgrade Job when worker.versioning.enabled (docs/worker-versioning.md).
 *
 * Temporal refuses the change until the build's workers poll (the version is unknown, or a task queue
 * the current version polled is not polled by the new one yet), so it retries until PROMOTE_TIMEOUT_SECONDS.
 * Connection settings: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_TLS*, TEMPORAL_API_KEY; the version:
 * TEMPORAL_WORKER_DEPLOYMENT_NAME, TEMPORAL_WORKER_BUILD_ID.
 */
import { status as grpcStatus } from '@grpc/grpc-js';
import { Connection } from '@temporalio/client';
import {
  loadTemporalConfig,
  loadWorkerDeploymentVersion,
  secondsEnv,
  type WorkerDeploymentVersion,
} from '../runtime/config';
import { temporalConnectionOptions } from '../runtime/temporal';

export interface PromotionResult {
  /** The build that was current before, if any. */
  previousBuildId: string | undefined;
  /** Already current: nothing was changed. */
  alreadyCurrent: boolean;
  attempts: number;
}

export interface PromotionOptions {
  timeoutMs: number;
  retryIntervalMs: number;
  /** Called before each retry with why Temporal refused. */
  onWaiting?: (reason: string) => void;
}

/** Refusals that mean "its workers have not polled yet": worth waiting for. */
const notYet = new Set<number>([grpcStatus.NOT_FOUND, grpcStatus.FAILED_PRECONDITION]);

export async function promoteWorkerVersion(
  connection: Connection,
  namespace: string,
  version: WorkerDeploymentVersion,
  opts: PromotionOptions,
): Promise<PromotionResult> {
  const deadline = Date.now() + opts.timeoutMs;
  for (let attempts = 1; ; attempts++) {
    try {
      const current = await currentBuildId(connection, namespace, version.deploymentName);
      if (current === version.buildId) return { previousBuildId: current, alreadyCurrent: true, attempts };
      const res = await connection.workflowService.setWorkerDeploymentCurrentVersion({
        namespace,
        deploymentName: version.deploymentName,
        buildId: version.buildId,
        identity: 'tailscale-gateway-operator/promote-worker-version',
      });
      return {
        previousBuildId: res.previousDeploymentVersion?.buildId || undefined,
        alreadyCurrent: false,
        attempts,
      };
    } catch (err) {
      const code = (err as { code?: number }).code;
      const reason = err instanceof Error ? err.message : String(err);
      if (code === grpcStatus.UNIMPLEMENTED) {
        throw new Error(
          `this Temporal server does not serve the Worker Deployment API (${reason}): upgrade it, or ` +
            'install with worker.versioning.enabled=false (an unversioned worker)',
        );
      }
      if (code === undefined || !notYet.has(code)) throw err;
      if (Date.now() + opts.retryIntervalMs > deadline) {
        throw new Error(
          `build ${version.buildId} of Worker Deployment ${version.deploymentName} did not become current ` +
            `within ${Math.round(opts.timeoutMs / 1000)} s: ${reason}. Are the new worker pods running and ` +
            `connected to Temporal? Once they poll: temporal worker deployment set-current-version ` +
            `--deployment-name ${version.deploymentName} --build-id ${version.buildId}`,
        );
      }
      opts.onWaiting?.(reason);
      await new Promise((r) => setTimeout(r, opts.retryIntervalMs));
    }
  }
}

/** The current build of a deployment; undefined when it has none, or the deployment does not exist yet. */
async function currentBuildId(
  connection: Connection,
  namespace: string,
  deploymentName: string,
): Promise<string | undefined> {
  try {
    const { workerDeploymentInfo } = await connection.workflowService.describeWorkerDeployment({
      namespace,
      deploymentName,
    });
    return workerDeploymentInfo?.routingConfig?.currentDeploymentVersion?.buildId || undefined;
  } catch (err) {
    if ((err as { code?: number }).code === grpcStatus.NOT_FOUND) return undefined;
    throw err;
  }
}

async function main() {
  const config = loadTemporalConfig();
  const version = loadWorkerDeploymentVersion();
  if (!version) {
    throw new Error(
      'TEMPORAL_WORKER_DEPLOYMENT_NAME and TEMPORAL_WORKER_BUILD_ID are unset: nothing to promote',
    );
  }
  const timeoutSeconds = secondsEnv(process.env, 'PROMOTE_TIMEOUT_SECONDS', 240);
  const connection = await Connection.connect(temporalConnectionOptions(config));
  try {
    const result = await promoteWorkerVersion(connection, config.namespace, version, {
      timeoutMs: timeoutSeconds * 1000,
      retryIntervalMs: 2_000,
      onWaiting: (reason) => console.log(`waiting for build ${version.buildId}'s workers to poll: ${reason}`),
    });
    console.log(
      result.alreadyCurrent
        ? `build ${version.buildId} is already the current version of ${version.deploymentName}`
        : `build ${version.buildId} is now the current version of ${version.deploymentName}` +
            (result.previousBuildId ? ` (was ${result.previousBuildId})` : ' (was unversioned)'),
    );
  } finally {
    await connection.close();
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(`promoting the worker version failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
