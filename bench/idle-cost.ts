/**
 * Idle cost (docs/architecture.md §7: 0 Tailscale writes, ≤ 50 Temporal actions per service per day): N services Ready
 * on a pool of TailscaleEndpoints, then nothing changes for one simulated day. The operator runs with
 * TIMER_SCALE = daySeconds / 86400, which multiplies every workflow timer (the worker bundles a timer
 * interceptor for it; no workflow input carries the scale), the sweeper's pass interval included, and
 * with the stale-consumer age and resync interval scaled alike; counts in the window are per simulated
 * day as they stand.
 *
 *   npm run build && node dist/bench/idle-cost.js [--services 100] [--endpoints 1] [--day-seconds 480]
 */
import { countActions, type ActionCounts } from './support/actions';
import { startFixture } from './support/fixture';
import { createServices, isReadyAt, listServices, servicesBody, sleep, waitFor } from './support/objects';
import { machineLoad, ProcessSampler } from './support/processes';
import { table } from './support/report';
import { type BenchStack, runStackBench } from './support/stack';
import { processTable } from './cold-convergence';

export const idleDefaults = {
  services: 100,
  endpoints: 1,
  replicas: 2,
  /** Wall-clock seconds one simulated day lasts. */
  daySeconds: 480,
  /** Simulated hours between all-Ready and the start of the measured day (adaptive timers reach their maximum). */
  settleHours: 3,
  days: 1,
};
export type IdleOptions = typeof idleDefaults;

const day = 86_400;

export async function runIdle(
  stack: BenchStack,
  opts: IdleOptions,
  log: (line: string) => void = console.log,
) {
  const scale = opts.daySeconds / day;
  const scaled = (seconds: number) => String(seconds * scale);
  const fixture = await startFixture({
    stack,
    name: 'bench-idle',
    endpoints: opts.endpoints,
    replicas: opts.replicas,
    env: {
      TIMER_SCALE: String(scale),
      STALE_CONSUMER_SECONDS: scaled(1800),
      RESYNC_INTERVAL_SECONDS: scaled(600),
    },
    log,
  });
  try {
    const names = Array.from({ length: opts.services }, (_, i) => `i-${i}`);
    await createServices(
      stack.kc,
      fixture.namespace,
      names.map((name, i) =>
        servicesBody({
          name,
          tailnet: fixture.tailnet.name,
          pool: fixture.pools[i % fixture.pools.length]!,
          labels: fixture.operator.labels,
        }),
      ),
      16,
    );
    await waitFor(
      `${names.length} services Ready`,
      () => Promise.resolve(fixture.tracker.countReady(names) === names.length || undefined),
      600_000,
      200,
    );
    const settle = opts.settleHours * 3600 * scale;
    log(
      `  all ${names.length} Ready; settling for ${opts.settleHours} simulated hours (${settle.toFixed(0)} s)`,
    );
    await sleep(settle * 1000);

    await fixture.tailnet.sim.admin.resetRequestCounts();
    const writesBefore = new Map([...fixture.tailnet.writes].map(([k, v]) => [k, v.length]));
    const sampler = new ProcessSampler(fixture.pids()).start();
    const loadBefore = machineLoad();
    const fromMs = Date.now();
    const windowSeconds = opts.days * opts.daySeconds;
    log(`  measuring ${opts.days} simulated day(s): ${windowSeconds} s`);
    await sleep(windowSeconds * 1000);
    const toMs = Date.now();
    const processes = sampler.stop();
    const requests = await fixture.tailnet.sim.admin.requestCounts();
    const vipWrites = [...fixture.tailnet.writes].reduce(
      (n, [k, v]) => n + v.length - (writesBefore.get(k) ?? 0),
      0,
    );
    const actions = await countActions(stack.temporal, fixture.operator.taskQueue, { fromMs, toMs });
    const days = (toMs - fromMs) / 1000 / opts.daySeconds;
    const perDay = (c: ActionCounts) => c.total / days;
    const byType = Object.fromEntries(
      Object.entries(actions.byWorkflowType).map(([type, c]) => [
        type,
        { ...c, perWorkflowPerDay: perDay(c) / Math.max(1, c.workflows) },
      ]),
    );
    const marginal =
      ((actions.byWorkflowType.tailscaleServicesWorkflow?.total ?? 0) +
        (actions.byWorkflowType.vipServiceWorkflow?.total ?? 0)) /
      days /
      opts.services;
    const stillReady = (await listServices(stack, fixture.namespace)).filter((svc) =>
      isReadyAt(svc, svc.metadata.generation ?? 1),
    ).length;
    return {
      services: opts.services,
      endpoints: opts.endpoints,
      timerScale: scale,
      simulatedDays: days,
      tailscaleWrites: requests.writes,
      vipServiceWrites: vipWrites,
      tailscaleRequests: requests,
      actionsPerServicePerDay: perDay(actions.total) / opts.services,
      marginalActionsPerServicePerDay: marginal,
      actions: { ...actions, byWorkflowType: byType },
      stillReady,
      processes,
      loadBefore,
      loadAfter: machineLoad(),
    };
  } finally {
    await fixture.close();
  }
}

export function printIdle(f: Awaited<ReturnType<typeof runIdle>>): string {
  return [
    `idle cost: ${f.services} services on ${f.endpoints} TailscaleEndpoints, nothing changing for ${f.simulatedDays.toFixed(2)} simulated day(s) (timers × ${f.timerScale.toPrecision(3)})`,
    `Tailscale writes: ${f.tailscaleWrites} (target 0); requests ${f.tailscaleRequests.total}`,
    `Temporal actions per service per day: ${f.actionsPerServicePerDay.toFixed(1)} all workflows / services (target ≤ 50); ${f.marginalActionsPerServicePerDay.toFixed(1)} in the services' own and VIP workflows`,
    table(
      [
        'workflow type',
        'workflows',
        'signals',
        'timers',
        'activities',
        'retries',
        'starts',
        'total',
        'per workflow per day',
      ],
      Object.entries(f.actions.byWorkflowType).map(([t, c]) => [
        t,
        c.workflows,
        c.signals,
        c.timers,
        c.activities,
        c.activityRetries,
        c.starts,
        c.total,
        c.perWorkflowPerDay,
      ]),
    ),
    table(
      ['activity', 'scheduled'],
      Object.entries(f.actions.byActivity).sort((a, b) => b[1] - a[1]),
    ),
    table(['Tailscale route', 'requests'], Object.entries(f.tailscaleRequests.routes)),
    processTable(f.processes),
    `still Ready at the end: ${f.stillReady}/${f.services}; load average before ${f.loadBefore.loadavg.join(' ')}, after ${f.loadAfter.loadavg.join(' ')}`,
  ].join('\n');
}

if (require.main === module) runStackBench('idle-cost', idleDefaults, runIdle, printIdle);
