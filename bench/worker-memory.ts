/**
 * Worker memory with ~1,000 open workflows (docs/architecture.md §7: RSS < 500 MB): N TailscaleServices Ready (each
 * runs its own workflow and its VIP service's workflow, so N = 500 gives ~1,000 open workflows beside the
 * pool's, the tailnet's and the sweeper), then the worker's resident memory once the load has passed.
 * Side by side in one run: the operator's default workflow cache (WORKER_MAX_CACHED_WORKFLOWS unset)
 * and each other size of --caches ("sdk": every open workflow cached, the Temporal SDK's own default
 * under a large heap; give it TSGW_BENCH_OPERATOR_NODE_OPTIONS=--max-old-space-size=4096).
 *
 *   npm run build && node dist/bench/worker-memory.js [--services 500] [--caches default,500] [--steady-seconds 30]
 */
import { coldDefaults, convergeServices } from './cold-convergence';
import { startFixture } from './support/fixture';
import { sleep } from './support/objects';
import { machineLoad, rssMiB } from './support/processes';
import { table } from './support/report';
import { type BenchStack, runStackBench } from './support/stack';

export const memoryDefaults = {
  services: 500,
  endpoints: 5,
  replicas: 2,
  steadySeconds: 30,
  caches: 'default,500',
  timeoutMs: 900_000,
};
export type MemoryOptions = typeof memoryDefaults;

export async function runMemory(
  stack: BenchStack,
  opts: MemoryOptions,
  log: (line: string) => void = console.log,
) {
  const runs = [];
  for (const cache of opts.caches.split(',').map((c) => c.trim())) {
    log(`worker memory, workflow cache: ${cache}`);
    runs.push(await runWithCache(stack, opts, cache, log));
  }
  return { services: opts.services, runs };
}

async function runWithCache(
  stack: BenchStack,
  opts: MemoryOptions,
  cache: string,
  log: (line: string) => void,
) {
  // "sdk": a size no heap-derived default reaches here, i.e. every open workflow stays cached.
  const env: Record<string, string> =
    cache === 'default' ? {} : { WORKER_MAX_CACHED_WORKFLOWS: cache === 'sdk' ? '100000' : cache };
  const fixture = await startFixture({
    stack,
    name: 'bench-mem',
    endpoints: opts.endpoints,
    replicas: opts.replicas,
    env,
    log,
  });
  try {
    const workerPid = fixture.operator.worker.child.pid!;
    const idleRss = rssMiB(workerPid);
    const run = await convergeServices(fixture, { ...coldDefaults, ...opts }, log);
    log(
      `  all ${opts.services} Ready in ${run.milestones.allReady!.toFixed(1)} s; steady for ${opts.steadySeconds} s`,
    );
    const samples: number[] = [];
    for (let i = 0; i < opts.steadySeconds; i++) {
      samples.push(rssMiB(workerPid));
      await sleep(1000);
    }
    const open = await stack.temporal.workflow.count(
      `TaskQueue = '${fixture.operator.taskQueue}' AND ExecutionStatus = 'Running'`,
    );
    return {
      cache,
      openWorkflows: open.count,
      workerRssBeforeMiB: idleRss,
      workerRssSteadyMiB: Math.max(...samples),
      workerRssSteadyMinMiB: Math.min(...samples),
      workerPeakDuringConvergence: run.processes.worker,
      convergenceSeconds: run.milestones.allReady!,
      processes: run.processes,
      loadBefore: run.loadBefore,
      loadAfter: machineLoad(),
    };
  } finally {
    await fixture.close();
  }
}

export type MemoryFigures = Awaited<ReturnType<typeof runMemory>>;

/** The run with the operator's own default cache (what a user gets), else the first. */
export function defaultRun(f: MemoryFigures) {
  return f.runs.find((r) => r.cache === 'default') ?? f.runs[0];
}

export function printMemory(f: MemoryFigures): string {
  const rows = f.runs.map((r) => [
    r.cache,
    r.openWorkflows,
    r.workerRssBeforeMiB,
    r.workerPeakDuringConvergence?.peakRssMiB ?? NaN,
    r.workerRssSteadyMiB,
    r.workerRssSteadyMinMiB,
    r.convergenceSeconds,
  ]);
  return [
    `worker memory with ~${2 * f.services} open workflows (${f.services} services; target RSS < 500 MB)`,
    table(
      [
        'cache',
        'open',
        'RSS before MiB',
        'peak converging MiB',
        'steady max MiB',
        'steady min MiB',
        'Ready s',
      ],
      rows,
    ),
    ...f.runs.map(
      (r) =>
        `${r.cache}: load average before ${r.loadBefore.loadavg.join(' ')}, after ${r.loadAfter.loadavg.join(' ')}`,
    ),
  ].join('\n');
}

if (require.main === module) runStackBench('worker-memory', memoryDefaults, runMemory, printMemory);
