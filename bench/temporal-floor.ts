/**
 * Temporal's own floor for 1,000 cold: the workflow tasks, local activities, signals and timers one
 * TailscaleServices takes to Ready (bench/floor/workflows.ts mirrors them), with every activity a no-op
 * but the signals. What is left of `bench:cold`'s time beside this run is ours: the Kubernetes and
 * Tailscale work and the code around it. The worker is a process of its own with the operator's worker
 * settings (WORKER_MAX_CACHED_WORKFLOWS and WORKER_MAX_CONCURRENT_WORKFLOW_TASKS apply to it too).
 *
 *   npm run build && node dist/bench/temporal-floor.js [--services 1000]
 */
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../runtime/paths';
import { floorTaskQueue } from './floor/activities';
import { resourceKindKey } from '../workflows/search-attributes';
import { actionsTable, countActions, type ActionReport } from './support/actions';
import { inParallel, sleep } from './support/objects';
import { machineLoad, ProcessSampler, type ProcessFigures } from './support/processes';
import { table } from './support/report';
import { runStackBench, uniqueName, type BenchStack } from './support/stack';

/** The VIP workflow's settle read comes 3 s after its report (bench/floor/workflows.ts). */
const settleMs = 4_000;

export const floorDefaults = {
  services: 1000,
  /** `ours`: the shape of bench:cold; `least`: two tasks per workflow (bench/floor/workflows.ts). */
  shape: 'ours',
  /** Workflows started at once, as the watchers start them. */
  startConcurrency: 32,
  timeoutMs: 600_000,
};
export type FloorOptions = typeof floorDefaults;

export interface FloorFigures {
  services: number;
  shape: string;
  seconds: number;
  actions: ActionReport;
  workflowTasksPerService: number;
  localActivitiesPerService: number;
  processes: Record<string, ProcessFigures>;
  loadBefore: ReturnType<typeof machineLoad>;
}

export async function runFloor(stack: BenchStack, opts: FloorOptions): Promise<FloorFigures> {
  const workflowType = serviceWorkflowOf(opts.shape);
  const run = uniqueName('floor');
  const worker = fork(join(repoRoot(), 'dist', 'bench', 'floor', 'worker.js'), [], {
    env: { ...process.env, TEMPORAL_ADDRESS: stack.info.temporalAddress },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ready = new Set<string>();
  let allReady: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (allReady = resolve));
  // A worker that dies ends the run at once, whether it is starting or half way.
  const exited = new Promise<never>((_, reject) =>
    worker.once('exit', (code) => reject(new Error(`the floor worker exited (${code})`))),
  );
  exited.catch(() => undefined);
  try {
    const started = new Promise<void>((resolve) => {
      worker.on('message', (m: { started?: boolean; ready?: string }) => {
        if (m.started) resolve();
        if (m.ready?.startsWith(run)) ready.add(m.ready);
        if (ready.size === opts.services) allReady();
      });
    });
    await Promise.race([started, exited]);
    const sampler = new ProcessSampler({ worker: worker.pid, ...temporalPid(stack) }).start();
    const loadBefore = machineLoad();
    const fromMs = Date.now();
    const t0 = performance.now();
    const ids = Array.from({ length: opts.services }, (_, i) => i);
    await inParallel(ids, opts.startConcurrency, async (i) => {
      await stack.temporal.workflow.start(workflowType, {
        workflowId: `${run}-services-${i}`,
        taskQueue: floorTaskQueue,
        args: [`${run}-vip-${i}`],
        typedSearchAttributes: [{ key: resourceKindKey, value: 'TailscaleServices' }],
      });
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${ready.size}/${opts.services} Ready after ${opts.timeoutMs} ms`)),
        opts.timeoutMs,
      );
    });
    await Promise.race([done, timeout, exited]).finally(() => clearTimeout(timer));
    const seconds = (performance.now() - t0) / 1000;
    const processes = sampler.stop();
    // The last reports and the settle reads (3 s after each) land after Ready: counted with the rest.
    await sleep(settleMs);
    const actions = await countActions(stack.temporal, floorTaskQueue, { fromMs, toMs: Date.now() });
    const localActivities = Object.entries(actions.byActivity)
      .filter(([name]) => name.endsWith('(local)'))
      .reduce((n, [, count]) => n + count, 0);
    await terminateRun(stack, run);
    return {
      services: opts.services,
      shape: opts.shape,
      seconds,
      actions,
      workflowTasksPerService: (actions.latencies['(workflow task)']?.n ?? 0) / opts.services,
      localActivitiesPerService: localActivities / opts.services,
      processes,
      loadBefore,
    };
  } finally {
    worker.kill('SIGTERM');
  }
}

function serviceWorkflowOf(shape: string): string {
  if (shape === 'ours') return 'floorServiceWorkflow';
  if (shape === 'least') return 'leastServiceWorkflow';
  throw new Error(`--shape: ${shape} is neither ours nor least`);
}

function temporalPid(stack: BenchStack): Record<string, number | undefined> {
  return stack.own ? { temporal: stack.info.pids.temporal } : {};
}

/** The run's workflows never finish on their own (as ours): terminated so a next run starts clean. */
async function terminateRun(stack: BenchStack, run: string): Promise<void> {
  const open: string[] = [];
  for await (const wf of stack.temporal.workflow.list({
    query: `TaskQueue = '${floorTaskQueue}' AND ExecutionStatus = 'Running'`,
  })) {
    if (wf.workflowId.startsWith(run)) open.push(wf.workflowId);
  }
  await inParallel(open, 16, async (id) => {
    await stack.temporal.workflow.getHandle(id).terminate('temporal-floor bench done');
  });
}

export function printFloor(f: FloorFigures): string {
  return [
    `Temporal floor: ${f.services} services through the ${f.shape} workflow shape with no-op activities → all Ready in ${f.seconds.toFixed(1)} s`,
    `workflow tasks: ${f.workflowTasksPerService.toFixed(1)} per service; local activities: ${f.localActivitiesPerService.toFixed(1)} per service; actions: ${(f.actions.total.total / f.services).toFixed(1)} per service`,
    actionsTable(f.actions),
    table(
      ['process', 'peak RSS MiB', 'CPU s', 'CPU ms per service'],
      Object.entries(f.processes).map(([name, p]) => [
        name,
        p.peakRssMiB,
        p.cpuSeconds,
        Math.round((p.cpuSeconds * 1000) / f.services),
      ]),
    ),
    `load average before ${f.loadBefore.loadavg.join(' ')} (${f.loadBefore.cores} cores)`,
  ].join('\n');
}

if (require.main === module) runStackBench('temporal-floor', floorDefaults, runFloor, printFloor);
