/**
 * Cold convergence (docs/architecture.md §7: < 60 s): N TailscaleServices created at once over a Ready pool of
 * TailscaleEndpoints, until every one is Ready with its VIP service's addresses published. Reports the
 * time, the Temporal actions spent (from the workflows' histories), the Tailscale API requests by route
 * (the simulator's counters), the Kubernetes requests by verb and resource (the API server's, everyone's)
 * and the peak memory and CPU of every process.
 *
 *   npm run build && node dist/bench/cold-convergence.js [--services 1000] [--endpoints 10] [--replicas 2]
 */
import { join } from 'node:path';
import { actionsTable, countActions } from './support/actions';
import { startFixture } from './support/fixture';
import { logProblems } from './support/logs';
import { kubeRequestCounts, requestDelta } from './support/kube-requests';
import { createServices, servicesBody, sleep } from './support/objects';
import { machineLoad, ProcessSampler, type ProcessFigures } from './support/processes';
import { table } from './support/report';
import { type BenchStack, runStackBench } from './support/stack';
import type { Fixture } from './support/fixture';

export const coldDefaults = {
  services: 1000,
  endpoints: 10,
  replicas: 2,
  createConcurrency: 32,
  timeoutMs: 900_000,
};
export type ColdOptions = typeof coldDefaults;

/** Creates the services and waits for all of them; shared with the worker-memory benchmark. */
export async function convergeServices(fixture: Fixture, opts: ColdOptions, log: (line: string) => void) {
  const names = Array.from({ length: opts.services }, (_, i) => `s-${i}`);
  const bodies = names.map((name, i) =>
    servicesBody({
      name,
      tailnet: fixture.tailnet.name,
      pool: fixture.pools[i % fixture.pools.length]!,
      labels: fixture.operator.labels,
    }),
  );
  await fixture.tailnet.sim.admin.resetRequestCounts();
  const kubeBefore = await kubeRequestCounts(fixture.stack.kc, { byResource: true });
  const fromMs = Date.now();
  const t0 = performance.now();
  const sampler = new ProcessSampler(fixture.pids()).start();
  const loadBefore = machineLoad();
  const milestones: Record<string, number> = {};
  await createServices(fixture.stack.kc, fixture.namespace, bodies, opts.createConcurrency);
  milestones.allCreated = (performance.now() - t0) / 1000;
  let lastLog = 0;
  let processes: Record<string, ProcessFigures>;
  try {
    for (;;) {
      const ready = fixture.tracker.countReady(names);
      const elapsed = (performance.now() - t0) / 1000;
      for (const share of [0.1, 0.5, 0.9]) {
        const key = `ready${share * 100}%`;
        if (milestones[key] === undefined && ready >= Math.ceil(share * names.length))
          milestones[key] = elapsed;
      }
      if (ready === names.length) break;
      if (elapsed * 1000 > opts.timeoutMs) {
        throw new Error(`only ${ready}/${names.length} Ready after ${elapsed.toFixed(0)} s`);
      }
      if (elapsed - lastLog >= 15) {
        lastLog = elapsed;
        log(`  ${elapsed.toFixed(0)} s: ${ready}/${names.length} Ready`);
      }
      await sleep(100);
    }
  } finally {
    processes = sampler.stop();
  }
  const lastReady = Math.max(...names.map((n) => fixture.tracker.readyAt.get(n)!.at));
  milestones.allReady = (lastReady - t0) / 1000;
  const toMs = fromMs + (lastReady - t0);
  const requests = await fixture.tailnet.sim.admin.requestCounts();
  const kube = requestDelta(kubeBefore, await kubeRequestCounts(fixture.stack.kc, { byResource: true }));
  return { names, fromMs, toMs, milestones, processes, requests, kube, loadBefore, loadAfter: machineLoad() };
}

export async function runCold(
  stack: BenchStack,
  opts: ColdOptions,
  log: (line: string) => void = console.log,
) {
  const fixture = await startFixture({
    stack,
    name: 'bench-cold',
    endpoints: opts.endpoints,
    replicas: opts.replicas,
    log,
  });
  try {
    const run = await convergeServices(fixture, opts, log);
    log(
      `  all ${opts.services} Ready in ${run.milestones.allReady!.toFixed(1)} s; counting Temporal actions ...`,
    );
    const actions = await countActions(stack.temporal, fixture.operator.taskQueue, {
      fromMs: run.fromMs,
      toMs: run.toMs,
    });
    return {
      services: opts.services,
      seconds: run.milestones.allReady!,
      milestones: run.milestones,
      actions,
      actionsPerService: actions.total.total / opts.services,
      // Each a round trip through the Temporal server and a worker (N=1: the single-change path's count).
      workflowTasksPerService: (actions.latencies['(workflow task)']?.n ?? 0) / opts.services,
      tailscaleRequests: run.requests,
      kubeRequests: run.kube,
      kubeWritesPerService: run.kube.writes / opts.services,
      vipServices: [...fixture.tailnet.writes.keys()].length,
      processes: run.processes,
      logProblems: {
        worker: logProblems(join(fixture.operator.logDir, 'worker-0.log')),
        watchers: logProblems(join(fixture.operator.logDir, 'watchers.log')),
      },
      loadBefore: run.loadBefore,
      loadAfter: run.loadAfter,
    };
  } finally {
    await fixture.close();
  }
}

export function processTable(processes: Record<string, ProcessFigures>): string {
  return table(
    ['process', 'peak RSS MiB', 'end RSS MiB', 'VmHWM MiB', 'CPU s'],
    Object.entries(processes).map(([name, p]) => [name, p.peakRssMiB, p.endRssMiB, p.hwmMiB, p.cpuSeconds]),
  );
}

export function printCold(f: Awaited<ReturnType<typeof runCold>>): string {
  const routes = Object.entries(f.tailscaleRequests.routes).sort((a, b) => b[1] - a[1]);
  return [
    `cold convergence: ${f.services} TailscaleServices created at once → all Ready in ${f.seconds.toFixed(1)} s (target < 60 s)`,
    table(
      ['milestone', 's'],
      Object.entries(f.milestones).map(([k, v]) => [k, v]),
    ),
    '',
    `Temporal actions: ${f.actions.total.total} (${f.actionsPerService.toFixed(1)} per service) over ${f.actions.workflows} workflows, ${f.actions.runs} runs; workflow tasks: ${f.workflowTasksPerService.toFixed(1)} per service`,
    actionsTable(f.actions),
    '',
    'where the time goes (ms, from the histories): task queue wait and run time',
    table(
      ['task', 'n', 'queue p50', 'queue p99', 'run p50', 'run p99'],
      Object.entries(f.actions.latencies).map(([k, l]) => [
        k,
        l.n,
        l.queueP50,
        l.queueP99,
        l.runP50,
        l.runP99,
      ]),
    ),
    '',
    `Tailscale API requests: ${f.tailscaleRequests.total} (${f.tailscaleRequests.writes} writes)`,
    table(['route', 'requests'], routes),
    '',
    `Kubernetes requests (everyone's: the proxy simulator and the bench's watches too): ${f.kubeRequests.total}, writes ${f.kubeRequests.writes} (${f.kubeWritesPerService.toFixed(1)} per service)`,
    table(
      ['verb resource', 'requests'],
      Object.entries(f.kubeRequests.byKey)
        .sort((a, b) => b[1] - a[1])
        .slice(0, 15),
    ),
    '',
    processTable(f.processes),
    `load average before ${f.loadBefore.loadavg.join(' ')}, after ${f.loadAfter.loadavg.join(' ')} (${f.loadAfter.cores} cores)`,
    `operator warnings: ${JSON.stringify(f.logProblems)}`,
  ].join('\n');
}

if (require.main === module) runStackBench('cold-convergence', coldDefaults, runCold, printCold);
