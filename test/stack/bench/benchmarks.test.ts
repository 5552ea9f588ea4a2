/**
 * Every benchmark of bench/ at toy sizes on the test stack, so none of them rots: each must run end
 * to end and produce its figures. No timing is asserted (the numbers come from `npm run bench`).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkTargets, printTargets } from '../../../bench/all';
import { printCold, runCold } from '../../../bench/cold-convergence';
import { printFloor, runFloor } from '../../../bench/temporal-floor';
import { printHooks, runHooks } from '../../../bench/extension-hooks';
import { printIdle, runIdle } from '../../../bench/idle-cost';
import { printPropagation, runPropagation } from '../../../bench/propagation';
import { printMemory, runMemory } from '../../../bench/worker-memory';
import { saveResult } from '../../../bench/support/report';
import { benchStack, type BenchStack } from '../../../bench/support/stack';

const quiet = () => undefined;

describe('benchmarks at toy sizes (figures produced, nothing timed)', () => {
  let stack: BenchStack;
  let results: string;

  beforeAll(async () => {
    stack = await benchStack(quiet);
    results = mkdtempSync(join(tmpdir(), 'tsgw-bench-results-'));
    process.env.TSGW_BENCH_RESULTS_DIR = results;
  });
  afterAll(async () => {
    await stack?.stop();
    delete process.env.TSGW_BENCH_RESULTS_DIR;
    rmSync(results, { recursive: true, force: true });
  });

  const saved = (name: string, figures: unknown) => {
    const file = saveResult(name, {}, figures);
    const json = JSON.parse(readFileSync(file, 'utf8')) as { figures: unknown; machine: { cores: number } };
    expect(json.machine.cores).toBeGreaterThan(0);
    return json.figures;
  };

  it('extension hooks: ours and the echo side by side', async () => {
    const f = await runHooks({ iterations: 10, sizes: '10' });
    expect(f.rows).toHaveLength(4);
    for (const row of f.rows) {
      expect(row.ours.p99).toBeGreaterThan(0);
      expect(row.echo.p99).toBeGreaterThan(0);
      expect(Number.isFinite(row.ratioP99)).toBe(true);
    }
    expect(printHooks(f)).toContain('PostTranslateModify');
    saved('extension-hooks', f);
  });

  it('propagation: every leg of every change timestamped', async () => {
    const f = await runPropagation(
      stack,
      { changes: 4, endpoints: 2, replicas: 1, gapMs: 0, timeoutMs: 60_000 },
      quiet,
    );
    expect(f.failures).toEqual([]);
    expect(f.samples).toHaveLength(4);
    expect(f.samples.map((s) => s.kind)).toEqual(['create', 'move', 'create', 'move']);
    for (const s of f.samples) {
      expect(s.tailscale).toBeGreaterThan(0);
      expect(s.status).toBeGreaterThan(0);
      expect(s.index).toBeGreaterThan(0);
    }
    expect(printPropagation(f)).toContain('apply → extension index updated');
    saved('propagation', f);
  });

  it('cold convergence: time, Temporal actions, Tailscale requests, memory of each process', async () => {
    const f = await runCold(
      stack,
      { services: 6, endpoints: 1, replicas: 1, createConcurrency: 6, timeoutMs: 90_000 },
      quiet,
    );
    expect(f.seconds).toBeGreaterThan(0);
    expect(f.actions.byWorkflowType.tailscaleServicesWorkflow?.workflows).toBe(6);
    expect(f.actions.total.total).toBeGreaterThan(0);
    expect(f.tailscaleRequests.routes['PUT /api/v2/tailnet/-/vip-services/{name}']).toBeGreaterThanOrEqual(6);
    expect(f.processes.worker?.peakRssMiB).toBeGreaterThan(0);
    expect(printCold(f)).toContain('Temporal actions');
    saved('cold-convergence', f);
  });

  it('Temporal floor: our workflow shape and the least one, every activity a no-op', async () => {
    for (const [shape, localActivities] of [
      ['ours', 15],
      ['least', 9],
    ] as const) {
      const f = await runFloor(stack, { services: 4, shape, startConcurrency: 4, timeoutMs: 60_000 });
      expect(f.seconds).toBeGreaterThan(0);
      expect(
        f.actions.byWorkflowType[`${shape === 'ours' ? 'floor' : 'least'}ServiceWorkflow`]?.workflows,
      ).toBe(4);
      expect(f.localActivitiesPerService).toBe(localActivities);
      expect(f.processes.worker?.cpuSeconds).toBeGreaterThan(0);
      expect(printFloor(f)).toContain(`the ${shape} workflow shape`);
    }
    await expect(
      runFloor(stack, { services: 1, shape: 'fewest', startConcurrency: 1, timeoutMs: 1 }),
    ).rejects.toThrow('--shape: fewest is neither ours nor least');
  });

  it('idle cost: a simulated day with scaled timers, writes and actions counted', async () => {
    const f = await runIdle(
      stack,
      { services: 3, endpoints: 1, replicas: 1, daySeconds: 24, settleHours: 1, days: 1 },
      quiet,
    );
    expect(f.simulatedDays).toBeGreaterThan(0.9);
    expect(Number.isFinite(f.actionsPerServicePerDay)).toBe(true);
    // The sweeper's timer fires many times in a scaled day: proof the scale reached the workflows.
    expect(f.actions.byWorkflowType.sweeperWorkflow?.timers).toBeGreaterThan(10);
    expect(f.stillReady).toBe(3);
    expect(printIdle(f)).toContain('Tailscale writes');
    saved('idle-cost', f);
  });

  it('worker memory: RSS with every workflow open', async () => {
    const f = await runMemory(
      stack,
      { services: 4, endpoints: 1, replicas: 1, steadySeconds: 2, caches: 'default,2', timeoutMs: 90_000 },
      quiet,
    );
    expect(f.runs.map((r) => r.cache)).toEqual(['default', '2']);
    for (const r of f.runs) {
      expect(r.openWorkflows).toBeGreaterThanOrEqual(8);
      expect(r.workerRssSteadyMiB).toBeGreaterThan(0);
    }
    expect(printMemory(f)).toContain('open workflows');
    saved('worker-memory', f);
    expect(printTargets(checkTargets({ memory: f }))).toContain('Worker RSS');
  });
});
