/**
 * `npm run replay -- --workflow-id <id>` as README "Replaying a workflow" runs it: a real operator
 * runs a TailscaleTailnet's workflow on the test stack's Temporal, then the CLI (node dist/tools/replay.js,
 * a child process that knows the server only through TEMPORAL_ADDRESS) fetches that workflow's history
 * by id and replays it, once against the current bundle and once against a bundle that schedules an
 * extra activity first.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { temporal } from '@temporalio/proto';
import { bundleWorkflowCode } from '@temporalio/worker';
import type { TailscaleTailnet } from '../../../api/v1alpha1';
import { repoRoot } from '../../../runtime/paths';
import { startTailscaleSimulator, type TailscaleSimulator } from '../../../simulators/tailscale/server';
import { tailnetWorkflowId } from '../../../workflows/ids';
import { eventually } from '../../support/eventually';
import { startOperator, type TestOperator } from '../../support/operator';
import {
  createTestNamespace,
  stackInfo,
  temporalClient,
  testKubeConfig,
  uniqueName,
} from '../../support/stack';
import { startTestTailnet, type TestTailnet } from '../../support/tailscale';
import { conditionOf, isConditionTrue } from '../../support/conditions';

const execFileAsync = promisify(execFile);
const root = repoRoot();
const cli = join(root, 'dist', 'tools', 'replay.js');
const EventType = temporal.api.enums.v1.EventType;

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The CLI's environment: the test stack's Temporal and nothing inherited that could point elsewhere. */
function cliEnv(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TEMPORAL_')));
  return { ...env, TEMPORAL_ADDRESS: stackInfo().temporalAddress, TEMPORAL_NAMESPACE: 'default' };
}

async function runReplayCli(args: string[]): Promise<CliResult> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [cli, ...args], {
      env: cliEnv(),
      timeout: 90_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failed = err as { code?: unknown; stdout?: string; stderr?: string };
    return {
      code: typeof failed.code === 'number' ? failed.code : -1,
      stdout: failed.stdout ?? '',
      stderr: failed.stderr ?? '',
    };
  }
}

/**
 * The real workflows with one edit to the tailnet workflow: each reconcile asks for the sweeper settings
 * before checking the credentials, so a recorded run's first ActivityTaskScheduled (checkTailnetCredentials)
 * no longer matches the first command. Built from the current source, so it is the product plus that edit.
 */
async function bundleWithReorderedTailnetActivities(dir: string): Promise<string> {
  const workflows = join(root, 'workflows');
  const source = readFileSync(join(workflows, 'tailscale-tailnet.ts'), 'utf8');
  const call = 'const check = await checkTailnetCredentials(';
  if (!source.includes(call) || !source.includes('sweeperSettings'))
    throw new Error('workflows/tailscale-tailnet.ts changed shape: update this test');
  const edited = source
    .replace(call, `await sweeperSettings();\n  ${call}`)
    // The copy lives elsewhere: its relative imports must still reach the real modules.
    .replace(/from '\.\/([^']+)'/g, (_, m: string) => `from '${join(workflows, m)}'`)
    .replace(/from '\.\.\/([^']+)'/g, (_, m: string) => `from '${join(root, m)}'`);
  const srcDir = join(dir, 'workflows');
  mkdirSync(srcDir, { recursive: true });
  writeFileSync(join(srcDir, 'tailscale-tailnet.ts'), edited);
  // The named re-export wins over the same name from `export *`; every other workflow is untouched.
  writeFileSync(
    join(srcDir, 'index.ts'),
    `export * from '${workflows}';\nexport { tailscaleTailnetWorkflow } from './tailscale-tailnet';\n`,
  );
  const { code } = await bundleWorkflowCode({
    workflowsPath: join(srcDir, 'index.ts'),
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: console.error },
  });
  const bundlePath = join(dir, 'workflow-bundle.js');
  writeFileSync(bundlePath, code);
  return bundlePath;
}

describe('replay --workflow-id against a workflow that ran on the test stack', () => {
  // Under dist/ (ignored by git) so the edited copy resolves node_modules like the real workflows.
  const fixtureDir = join(root, 'dist', 'test-fixtures', `replay-by-id-${process.pid}`);
  let kc: KubeConfig;
  let sim: TailscaleSimulator;
  let operator: TestOperator;
  let tailnet: TestTailnet;
  let workflowId: string;
  let editedBundle: string;
  /** Event id of the first checkTailnetCredentials scheduled in the recorded run. */
  let firstCheckEventId: number;

  beforeAll(async () => {
    kc = testKubeConfig();
    const namespace = await createTestNamespace(kc, 'replay');
    sim = await startTailscaleSimulator({ dnsSuffix: 'tail9b2d.ts.net' });
    const instance = uniqueName('replay');
    operator = startOperator({ instance, env: { TAILSCALE_API_BASE_URL: sim.url } });
    // Bundling runs while the operator starts and reconciles.
    const bundling = bundleWithReorderedTailnetActivities(fixtureDir);
    const name = uniqueName('replayed');
    tailnet = await startTestTailnet({ kc, namespace, name, labels: operator.labels, sim });
    workflowId = tailnetWorkflowId(name);

    const objects = kc.makeApiClient(CustomObjectsApi);
    await eventually(
      'tailnet Ready',
      async () => {
        const obj = (await objects.getClusterCustomObject({
          group: 'gateway.tailscale.com',
          version: 'v1alpha1',
          plural: 'tailscaletailnets',
          name,
        })) as TailscaleTailnet;
        return isConditionTrue(obj) ? conditionOf(obj) : undefined;
      },
      { timeoutMs: 60_000 },
    );

    // Wait until the workflow is parked on its recheck timer, so the history the CLI fetches is settled.
    const conn = await temporalClient();
    try {
      const events = await eventually('workflow waiting on its recheck timer', async () => {
        const history = await conn.client.workflow.getHandle(workflowId).fetchHistory();
        const all = history.events ?? [];
        return all.at(-1)?.eventType === EventType.EVENT_TYPE_TIMER_STARTED ? all : undefined;
      });
      const firstCheck = events.find(
        (e) =>
          e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED &&
          e.activityTaskScheduledEventAttributes?.activityType?.name === 'checkTailnetCredentials',
      );
      if (!firstCheck) throw new Error(`no checkTailnetCredentials in the history of ${workflowId}`);
      firstCheckEventId = Number(firstCheck.eventId);
    } finally {
      await conn.close();
    }
    editedBundle = await bundling;
  }, 240_000);

  afterAll(async () => {
    await operator?.stop();
    await tailnet?.close();
    await sim?.close();
    rmSync(fixtureDir, { recursive: true, force: true });
  });

  it('fetches the history by id and says OK under the current bundle (exit 0)', async () => {
    const result = await runReplayCli(['--workflow-id', workflowId]);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const match = /^replay OK: (\S+) \((\d+) events\) is deterministic under the current code\n$/.exec(
      result.stdout,
    );
    expect(match?.[1]).toBe(workflowId);
    // A real fetched run: more than the start event, and at least up to the activity found above.
    expect(Number(match?.[2])).toBeGreaterThan(firstCheckEventId);
  });

  it('names the diverging event and exits 1 under a bundle with a non-deterministic change', async () => {
    const result = await runReplayCli(['--workflow-id', workflowId, '--bundle', editedBundle]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`replay FAILED: ${workflowId} diverges from the current code\n`);
    expect(result.stdout).toContain(
      `  at event ${firstCheckEventId}: ActivityTaskScheduled (checkTailnetCredentials)\n`,
    );
    expect(result.stdout).toContain(
      "[TMPRL1100] Nondeterminism error: Activity type of scheduled event 'checkTailnetCredentials' does not match activity type of activity command 'sweeperSettings'",
    );
  });

  it('says in one line that the server does not know the id, without a verdict or a stack', async () => {
    const unknown = `${workflowId}-never-started`;
    const result = await runReplayCli(['--workflow-id', unknown]);
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: `replay: no workflow ${unknown} in namespace default at ${stackInfo().temporalAddress}\n`,
    });
  });
});
