/**
 * Worker memory with ~1,000 open workflows (DESIGN §7: RSS < 500 MB): N TailscaleServices Ready (each
 * runs its own workflow and its VIP service's workflow, so N = 500 gives ~1,000 open workflows beside the
 * pool's, the tailnet's and the sweeper), then the worker's resident memory once the load has passed.
 *
 *   npm run build && node dist/bench/worker-memory.js [--services 500] [--endpoints 5] [--steady-seconds 30]
 */
import { coldDefaults, convergeServices } from './cold-convergence';
import { startFixture } from './support/fixture';
import { sleep } from './support/objects';
import { machineLoad, rssMiB } from './support/processes';
import { parseFlags, runMain, saveResult, table } from './support/report';
import { benchStack, type BenchStack } from './support/stack';

export const memoryDefaults = {
  services: 500,
  endpoints: 5,
  replicas: 2,
  steadySeconds: 30,
  timeoutMs: 900_000,
};
export type MemoryOptions = typeof memoryDefaults;

export async function runMemory(
  stack: BenchStack,
  opts: MemoryOptions,
  log: (line: string) => void = console.log,
) {
  const fixture = await startFixture({
    stack,
    name: 'bench-mem',
    endpoints: opts.endpoints,
    replicas: opts.replicas,
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
      services: opts.services,
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

export function printMemory(f: Awaited<ReturnType<typeof runMemory>>): string {
  return [
    `worker memory with ${f.openWorkflows} open workflows (${f.services} services; target RSS < 500 MB)`,
    table(
      ['worker', 'MiB'],
      [
        ['RSS before the services', f.workerRssBeforeMiB],
        ['peak RSS while converging', f.workerPeakDuringConvergence?.peakRssMiB ?? NaN],
        ['RSS steady, all open (max)', f.workerRssSteadyMiB],
        ['RSS steady, all open (min)', f.workerRssSteadyMinMiB],
      ],
    ),
    `load average before ${f.loadBefore.loadavg.join(' ')}, after ${f.loadAfter.loadavg.join(' ')}`,
  ].join('\n');
}

async function main() {
  const opts = parseFlags(process.argv.slice(2), memoryDefaults);
  const stack = await benchStack();
  try {
    const figures = await runMemory(stack, opts);
    console.log(printMemory(figures));
    console.log(`→ ${saveResult('worker-memory', opts, figures)}`);
  } finally {
    await stack.stop();
  }
}

if (require.main === module) runMain(main);
