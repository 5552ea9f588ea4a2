/**
 * Restart at scale (issue 17 §4): N TailscaleServices converged, then every operator process is stopped
 * (SIGTERM, as a rollout does) and a fresh set started. Reports the time until the operator is quiet
 * again, what the restart cost in Temporal actions (from the histories) and Kubernetes requests (the
 * API server's counters), and the Tailscale writes, which must be 0.
 *
 * "Quiet": every restarted watcher informer has listed, and for --quiet-seconds neither the worker has
 * run a workflow task or an activity (the SDK's own counters) nor the watchers handled a change (their
 * signal counters); and every service is still Ready at its generation. The time reported is from the
 * restart to the last task before that quiet stretch. The extension holds no Temporal or Tailscale state
 * (it indexes objects from Kubernetes) and is not part of this fixture.
 *
 *   npm run build && node dist/bench/restart.js [--services 1000] [--endpoints 10] [--quiet-seconds 5]
 */
import { actionsTable, countActions } from './support/actions';
import { coldDefaults, convergeServices, processTable } from './cold-convergence';
import { startFixture } from './support/fixture';
import { kubeRequestCounts, requestDelta } from './support/kube-requests';
import { isReadyAt, listServices, sleep } from './support/objects';
import { machineLoad, ProcessSampler } from './support/processes';
import { table } from './support/report';
import { type BenchStack, runStackBench } from './support/stack';
import { freeAddress, watchersProgress, workerTaskCount } from './support/worker-tasks';

export const restartDefaults = {
  services: 1000,
  endpoints: 10,
  replicas: 2,
  createConcurrency: 32,
  /** Seconds without a workflow task or activity that count as quiet. */
  quietSeconds: 5,
  /** Seconds to let the converged operator settle before the restart. */
  settleSeconds: 5,
  timeoutMs: 900_000,
};
export type RestartOptions = typeof restartDefaults;

export async function runRestart(
  stack: BenchStack,
  opts: RestartOptions,
  log: (line: string) => void = console.log,
) {
  const metrics = await freeAddress();
  const watchersHealth = await freeAddress();
  const fixture = await startFixture({
    stack,
    name: 'bench-restart',
    endpoints: opts.endpoints,
    replicas: opts.replicas,
    env: { TEMPORAL_METRICS_ADDRESS: metrics },
    watchersEnv: { HEALTH_ADDRESS: watchersHealth },
    log,
  });
  try {
    const cold = await convergeServices(fixture, { ...coldDefaults, ...opts }, log);
    log(
      `  all ${opts.services} Ready in ${cold.milestones.allReady!.toFixed(1)} s; settling, then restarting`,
    );
    await sleep(opts.settleSeconds * 1000);

    await fixture.tailnet.sim.admin.resetRequestCounts();
    const kubeBefore = await kubeRequestCounts(stack.kc);
    const loadBefore = machineLoad();
    const fromMs = Date.now();
    const t0 = performance.now();
    const operator = await fixture.restartOperator();
    const sampler = new ProcessSampler(fixture.pids()).start();
    const stopped = (performance.now() - t0) / 1000;
    let workerTasks = 0;
    let signalsHandled = 0;

    // Progress of both processes as one string: any change restarts the quiet stretch.
    let last = '';
    let lastChange = performance.now();
    let quietAt: number | undefined;
    for (;;) {
      const elapsed = (performance.now() - t0) / 1000;
      if (elapsed * 1000 > opts.timeoutMs) throw new Error(`not quiet after ${elapsed.toFixed(0)} s`);
      const [tasks, watchers] = await Promise.all([
        workerTaskCount(metrics),
        watchersProgress(watchersHealth),
      ]);
      const now = performance.now();
      const progress = JSON.stringify([tasks, watchers]);
      if (progress !== last) {
        last = progress;
        lastChange = now;
      } else if (tasks !== undefined && watchers?.synced && now - lastChange >= opts.quietSeconds * 1000) {
        const services = await listServices(stack, fixture.namespace);
        const ready = services.filter((s) => isReadyAt(s, s.metadata.generation ?? 1)).length;
        if (ready === opts.services) {
          quietAt = lastChange;
          workerTasks = tasks;
          signalsHandled = watchers.signals;
          break;
        }
      }
      await sleep(250);
    }
    const processes = sampler.stop();
    const toMs = Date.now();
    const quietSeconds = ((quietAt ?? performance.now()) - t0) / 1000;
    const requests = await fixture.tailnet.sim.admin.requestCounts();
    const kube = requestDelta(kubeBefore, await kubeRequestCounts(stack.kc));
    log(`  quiet ${quietSeconds.toFixed(1)} s after the restart; counting Temporal actions ...`);
    const actions = await countActions(stack.temporal, operator.taskQueue, { fromMs, toMs });
    return {
      services: opts.services,
      convergedSeconds: cold.milestones.allReady!,
      stopSeconds: stopped,
      quietSeconds,
      quietWindowSeconds: opts.quietSeconds,
      workerTasks,
      watcherChangesHandled: signalsHandled,
      actions,
      actionsPerService: actions.total.total / opts.services,
      kubeRequests: kube,
      kubeRequestsPerService: kube.total / opts.services,
      tailscaleRequests: requests,
      tailscaleWrites: requests.writes,
      processes,
      loadBefore,
      loadAfter: machineLoad(),
    };
  } finally {
    await fixture.close();
  }
}

export type RestartFigures = Awaited<ReturnType<typeof runRestart>>;

export function printRestart(f: RestartFigures): string {
  return [
    `restart at scale: ${f.services} converged services, every operator process restarted`,
    `quiet again after ${f.quietSeconds.toFixed(1)} s (target < 15 s; quiet = no workflow task or activity for ${f.quietWindowSeconds} s and all Ready); stopping took ${f.stopSeconds.toFixed(1)} s`,
    `Temporal actions: ${f.actions.total.total} (${f.actionsPerService.toFixed(2)} per service, target < 3); workflow tasks + activities run: ${f.workerTasks}; watcher changes handled: ${f.watcherChangesHandled}`,
    actionsTable(f.actions),
    `Kubernetes requests (everyone's): ${f.kubeRequests.total} (${f.kubeRequestsPerService.toFixed(2)} per service), writes ${f.kubeRequests.writes}`,
    table(['verb', 'requests'], Object.entries(f.kubeRequests.byKey)),
    `Tailscale requests: ${f.tailscaleRequests.total}, writes: ${f.tailscaleWrites} (must be 0)`,
    processTable(f.processes),
    `load average before ${f.loadBefore.loadavg.join(' ')}, after ${f.loadAfter.loadavg.join(' ')} (${f.loadAfter.cores} cores)`,
  ].join('\n');
}

if (require.main === module) runStackBench('restart', restartDefaults, runRestart, printRestart);
