import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { bundleWorkflowCode } from '@temporalio/worker';
import { repoRoot } from '../../runtime/paths';
import { loadHistoryFile, replayHistory } from '../../tools/replay';

const run = promisify(execFile);
const root = repoRoot();
const history = join(
  root,
  'test',
  'replay',
  'vip-service',
  'create-update-delete-before-fewer-round-trips.json',
);

/**
 * The workflow code with one deliberate non-deterministic change: the VIP service workflow schedules
 * detachVipService where its recorded history scheduled attachVipService (event 6). Generated from the
 * real source at test time, so it stays the real workflow plus exactly that edit.
 */
function writeNonDeterministicWorkflows(dir: string): string {
  const source = readFileSync(join(root, 'workflows', 'vip-service.ts'), 'utf8');
  const edited = source.replace('.attachVipService({', '.detachVipService({');
  if (edited === source)
    throw new Error('workflows/vip-service.ts no longer calls attachVipService: update this test');
  // The copy lives elsewhere, so its relative imports point back at the real modules.
  const absolute = edited
    .replace(/from '\.\/([^']+)'/g, (_, m: string) => `from '${join(root, 'workflows', m)}'`)
    .replace(/from '\.\.\/([^']+)'/g, (_, m: string) => `from '${join(root, m)}'`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'vip-service.ts'), absolute);
  // An explicit export shadows the same name from `export *`: every other workflow stays as it is.
  writeFileSync(
    join(dir, 'index.ts'),
    `export * from '${join(root, 'workflows')}';\nexport { vipServiceWorkflow } from './vip-service';\n`,
  );
  return join(dir, 'index.ts');
}

describe('the replay command finds a deliberately introduced non-determinism', () => {
  // Under dist/ (ignored by git) so the generated copy resolves node_modules like the real workflows.
  const dir = join(root, 'dist', 'test-fixtures', `replay-${process.pid}`);
  const bundlePath = join(dir, 'workflow-bundle.js');

  beforeAll(async () => {
    const { code } = await bundleWorkflowCode({
      workflowsPath: writeNonDeterministicWorkflows(join(dir, 'workflows')),
      logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: console.error },
    });
    mkdirSync(dirname(bundlePath), { recursive: true });
    writeFileSync(bundlePath, code);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('the recorded history replays cleanly against the real code', async () => {
    const outcome = await replayHistory(loadHistoryFile(history), 'vip-service');
    expect(outcome).toMatchObject({ ok: true });
  });

  it('replayHistory reports the divergence with the event it diverged at', async () => {
    const outcome = await replayHistory(loadHistoryFile(history), 'vip-service', bundlePath);
    expect(outcome.ok).toBe(false);
    expect(outcome.error).toMatch(/Nondeterminism/i);
    expect(outcome.error).toContain('attachVipService');
    expect(outcome.error).toContain('detachVipService');
    expect(outcome.divergingEvent).toEqual({
      eventId: 6,
      eventType: 'ActivityTaskScheduled',
      detail: 'attachVipService',
    });
  });

  it('the CLI prints only the verdict and the divergence, and exits 1', async () => {
    const cli = join(root, 'dist', 'tools', 'replay.js');
    const result = await run(process.execPath, [cli, '--file', history, '--bundle', bundlePath]).then(
      () => ({ code: 0, stdout: '', stderr: '' }),
      (err: { code: number; stdout: string; stderr: string }) => err,
    );
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(
      /^replay FAILED: .*create-update-delete-before-fewer-round-trips\.json diverges from the current code\n/,
    );
    expect(result.stdout).toContain('  at event 6: ActivityTaskScheduled (attachVipService)\n');
    expect(result.stdout).toContain(
      "  [TMPRL1100] Nondeterminism error: Activity type of scheduled event 'attachVipService' does not match activity type of activity command 'detachVipService'\n",
    );
    expect(`${result.stdout}${result.stderr}`).not.toContain('Worker state changed');
  });

  it('the CLI says OK for the real code', async () => {
    const { stdout } = await run(process.execPath, [
      join(root, 'dist', 'tools', 'replay.js'),
      '--file',
      history,
    ]);
    expect(stdout).toMatch(/^replay OK: .* \(\d+ events\) is deterministic under the current code\n$/);
  });
});
