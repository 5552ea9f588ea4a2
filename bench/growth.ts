/**
 * Growth (issue 17 §3): the cold-convergence run at several sizes, each on a fresh fixture, side by side:
 * time to all Ready, time and Temporal actions per service, Tailscale requests per service, worker and
 * Temporal peak RSS, and the largest workflow history. The last line compares the time per service at the
 * largest size with that at the size before it (issue 17: 5,000 within 1.3× of 1,000).
 *
 *   npm run build && node dist/bench/growth.js [--sizes 100,1000,5000] [--endpoints 10]
 */
import { coldDefaults, runCold } from './cold-convergence';
import { parseFlags, runMain, saveResult, table } from './support/report';
import { benchStack, type BenchStack } from './support/stack';

export const growthDefaults = {
  sizes: '100,1000,5000',
  endpoints: 10,
  replicas: 2,
  createConcurrency: 32,
  timeoutMs: 3_600_000,
};
export type GrowthOptions = typeof growthDefaults;

/** One size on `stack` (the jest stack), or each size on a fresh stack of its own when `stack` is absent. */
export async function runGrowth(
  stack: BenchStack | undefined,
  opts: GrowthOptions,
  log: (line: string) => void = console.log,
) {
  const rows = [];
  for (const services of opts.sizes.split(',').map(Number)) {
    log(`growth: ${services} services`);
    const own = stack ?? (await benchStack(log));
    try {
      const f = await runCold(own, { ...coldDefaults, ...opts, services }, log);
      rows.push({
        services,
        seconds: f.seconds,
        msPerService: (f.seconds * 1000) / services,
        actionsPerService: f.actionsPerService,
        tailscaleRequestsPerService: f.tailscaleRequests.total / services,
        tailscaleWritesPerService: f.tailscaleRequests.writes / services,
        workerPeakRssMiB: f.processes.worker?.peakRssMiB ?? NaN,
        temporalPeakRssMiB: f.processes.temporal?.peakRssMiB ?? NaN,
        largestHistory: f.actions.largestHistory,
        loadBefore: f.loadBefore.loadavg,
        loadAfter: f.loadAfter.loadavg,
      });
    } finally {
      if (!stack) await own.stop();
    }
  }
  const [prev, last] = rows.slice(-2);
  return {
    rows,
    /** Time per service at the largest size over that at the size before it. */
    perServiceRatio: prev && last ? last.msPerService / prev.msPerService : NaN,
  };
}

export type GrowthFigures = Awaited<ReturnType<typeof runGrowth>>;

export function printGrowth(f: GrowthFigures): string {
  const [prev, last] = f.rows.slice(-2);
  return [
    'growth: N TailscaleServices created at once, cold, to all Ready',
    table(
      [
        'N',
        'Ready s',
        'ms/service',
        'actions/service',
        'Tailscale req/service',
        'TS writes/service',
        'worker RSS MiB',
        'Temporal RSS MiB',
        'largest history',
        'events',
        'KiB',
        'load before',
        'load after',
      ],
      f.rows.map((r) => [
        r.services,
        r.seconds,
        r.msPerService,
        r.actionsPerService,
        r.tailscaleRequestsPerService,
        r.tailscaleWritesPerService,
        r.workerPeakRssMiB,
        r.temporalPeakRssMiB,
        r.largestHistory.type,
        r.largestHistory.events,
        r.largestHistory.bytes / 1024,
        r.loadBefore.join(' '),
        r.loadAfter.join(' '),
      ]),
    ),
    prev && last
      ? `time per service at ${last.services} vs ${prev.services}: ${f.perServiceRatio.toFixed(2)}× (target ≤ 1.3× for 5,000 vs 1,000)`
      : 'one size only: no ratio',
  ].join('\n');
}

async function main() {
  const opts = parseFlags(process.argv.slice(2), growthDefaults);
  const figures = await runGrowth(undefined, opts);
  console.log(printGrowth(figures));
  console.log(`→ ${saveResult('growth', opts, figures)}`);
}

if (require.main === module) runMain(main);
