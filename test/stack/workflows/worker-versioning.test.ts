import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { TailscaleTailnet } from '../../../api/v1alpha1';
import { repoRoot } from '../../../runtime/paths';
import { tailnetWorkflowId } from '../../../workflows/ids';
import { eventually } from '../../support/eventually';
import { waitUntilGone } from '../../support/objects';
import { instanceLabels, startOperator, type TestOperator } from '../../support/operator';
import {
  createTestNamespace,
  stackInfo,
  temporalClient,
  testKubeConfig,
  uniqueName,
} from '../../support/stack';
import { startTestTailnet, type TestTailnet } from '../../support/tailscale';
import { conditionOf } from '../../support/conditions';

const run = promisify(execFile);
const EventType = temporal.api.enums.v1.EventType;
const { VERSIONING_BEHAVIOR_AUTO_UPGRADE } = temporal.api.enums.v1.VersioningBehavior;
const group = 'gateway.tailscale.com';

/**
 * The worker as the chart runs it with worker.versioning.enabled: a version of a Worker Deployment that
 * receives no task until the chart's Job (tools/promote-worker-version.ts) makes it current, and a new
 * build that takes over every workflow, auto-upgrading, once it is promoted in turn.
 */
describe('Worker Versioning: a build takes workflow tasks once promoted, and the next build takes them over', () => {
  let kc: KubeConfig;
  let client: Client;
  let closeClient: (() => Promise<void>) | undefined;
  let operator: TestOperator | undefined;
  let tailnet: TestTailnet | undefined;
  const instance = uniqueName('wv');
  const deploymentName = `tsgw-${instance}`;

  beforeAll(async () => {
    kc = testKubeConfig();
    const temporal = await temporalClient();
    client = temporal.client;
    closeClient = () => temporal.close();
  });
  afterAll(async () => {
    await operator?.stop();
    await tailnet?.close();
    await closeClient?.();
  });

  const startBuild = (buildId: string, sim: TestTailnet['sim']) =>
    startOperator({
      instance,
      env: {
        TAILSCALE_API_BASE_URL: sim.url,
        TEMPORAL_WORKER_DEPLOYMENT_NAME: deploymentName,
        TEMPORAL_WORKER_BUILD_ID: buildId,
      },
    });
  /** The Job's command, as the chart runs it. */
  const promote = async (buildId: string) => {
    const { stdout } = await run('node', [join(repoRoot(), 'dist/tools/promote-worker-version.js')], {
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: stackInfo().temporalAddress,
        TEMPORAL_WORKER_DEPLOYMENT_NAME: deploymentName,
        TEMPORAL_WORKER_BUILD_ID: buildId,
        PROMOTE_TIMEOUT_SECONDS: '90',
      },
    });
    return stdout;
  };
  /** The build of every completed workflow task, in order, with its versioning behavior. */
  const taskBuilds = async (workflowId: string) => {
    const { events } = await client.workflow.getHandle(workflowId).fetchHistory();
    return (events ?? [])
      .filter((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
      .map((e) => ({
        buildId: e.workflowTaskCompletedEventAttributes?.deploymentVersion?.buildId,
        behavior: e.workflowTaskCompletedEventAttributes?.versioningBehavior,
      }));
  };

  it('runs the tailnet workflow on v1 once promoted, and its deletion on v2', async () => {
    const namespace = await createTestNamespace(kc, 'wv');
    const name = uniqueName('corp');
    tailnet = await startTestTailnet({ kc, namespace, name, labels: instanceLabels(instance) });
    operator = startBuild('v1', tailnet.sim);
    const workflowId = tailnetWorkflowId(name);
    await eventually('the tailnet workflow started', () => client.workflow.getHandle(workflowId).describe());
    // A versioned worker gets no task of a deployment whose current version is not its own.
    expect(await taskBuilds(workflowId)).toEqual([]);

    expect(await promote('v1')).toContain('build v1 is now the current version');
    const objects = kc.makeApiClient(CustomObjectsApi);
    const tailnetReady = async () => {
      const t = (await objects.getClusterCustomObject({
        group,
        version: 'v1alpha1',
        plural: 'tailscaletailnets',
        name,
      })) as TailscaleTailnet;
      return conditionOf(t)?.status === 'True' ? t : undefined;
    };
    await eventually('the tailnet Ready', tailnetReady, { timeoutMs: 60_000 });
    const onV1 = await taskBuilds(workflowId);
    expect(onV1.length).toBeGreaterThan(0);
    expect(onV1.every((t) => t.buildId === 'v1' && t.behavior === VERSIONING_BEHAVIOR_AUTO_UPGRADE)).toBe(
      true,
    );
    expect(await promote('v1')).toContain('already the current version');

    // The rollout: v2's worker replaces v1's, and the Job makes v2 current.
    await operator.stop();
    operator = startBuild('v2', tailnet.sim);
    expect(await promote('v2')).toContain('build v2 is now the current version of');
    const { workerDeploymentInfo } = await client.connection.workflowService.describeWorkerDeployment({
      namespace: 'default',
      deploymentName,
    });
    expect(workerDeploymentInfo?.routingConfig?.currentDeploymentVersion?.buildId).toBe('v2');

    await objects.deleteClusterCustomObject({
      group,
      version: 'v1alpha1',
      plural: 'tailscaletailnets',
      name,
    });
    await waitUntilGone('tailnet', () =>
      objects.getClusterCustomObject({ group, version: 'v1alpha1', plural: 'tailscaletailnets', name }),
    );
    // The workflow notices the deletion (the watchers' signal) and finishes: on v2.
    await eventually('the tailnet workflow finished', async () => {
      const { status } = await client.workflow.getHandle(workflowId).describe();
      return status.name === 'COMPLETED' ? true : undefined;
    });
    // Every task on v1 until v2 was promoted, every one after on v2 (the deletion included).
    const builds = (await taskBuilds(workflowId)).map((t) => t.buildId).join(',');
    expect(builds).toMatch(/^(v1,)+v2(,v2)*$/);
  });
});
