/**
 * Every benchmark of docs/architecture.md §7, one after the other, each on a fresh local stack (real Temporal dev
 * server, real kube-apiserver + etcd, the simulators): prints each table, writes each JSON under
 * bench/results/, then a summary of the targets (bench/results/summary.json).
 *
 *   npm run bench                      # setup, build, everything (about an hour on 2 busy cores)
 *   node dist/bench/all.js --only propagation,hooks
 */
import { printCold, runCold, coldDefaults } from './cold-convergence';
import { hooksDefaults, printHooks, runHooks } from './extension-hooks';
import { idleDefaults, printIdle, runIdle } from './idle-cost';
import { printPropagation, propagationDefaults, runPropagation } from './propagation';
import { defaultRun, memoryDefaults, printMemory, runMemory } from './worker-memory';
import { growthDefaults, printGrowth, runGrowth } from './growth';
import { printRestart, restartDefaults, runRestart } from './restart';
import { floorDefaults, printFloor, runFloor } from './temporal-floor';
import { parseFlags, runMain, saveResult, table } from './support/report';
import { benchStack, type BenchStack } from './support/stack';

export interface TargetCheck {
  what: string;
  target: string;
  measured: string;
  met: boolean;
}

type Figures = {
  propagation?: Awaited<ReturnType<typeof runPropagation>>;
  cold?: Awaited<ReturnType<typeof runCold>>;
  hooks?: Awaited<ReturnType<typeof runHooks>>;
  idle?: Awaited<ReturnType<typeof runIdle>>;
  memory?: Awaited<ReturnType<typeof runMemory>>;
  growth?: Awaited<ReturnType<typeof runGrowth>>;
  restart?: Awaited<ReturnType<typeof runRestart>>;
  /** Temporal alone through our workflow shape and through the least one (bench/temporal-floor.ts). */
  floor?: { ours: Awaited<ReturnType<typeof runFloor>>; least: Awaited<ReturnType<typeof runFloor>> };
};

/** docs/architecture.md §7, target by target, against whatever of `f` was measured. */
export function checkTargets(f: Figures): TargetCheck[] {
  const out: TargetCheck[] = [];
  if (f.propagation) {
    const { p50, p99 } = f.propagation.applyToIndex;
    out.push({
      what: 'CR applied → VIP service → status → extension index',
      target: 'p50 < 300 ms, p99 < 1 s',
      measured: `p50 ${p50.toFixed(0)} ms, p99 ${p99.toFixed(0)} ms (${f.propagation.changes} changes)`,
      met: p50 < 300 && p99 < 1000,
    });
  }
  if (f.cold) {
    out.push({
      what: `${f.cold.services} TailscaleServices created at once, cold, to all Ready`,
      target: '< 60 s',
      measured:
        `${f.cold.seconds.toFixed(1)} s` +
        (f.floor
          ? ` (Temporal alone: ${f.floor.ours.seconds.toFixed(1)} s through our workflow shape, ${f.floor.least.seconds.toFixed(1)} s through the least)`
          : ''),
      met: f.cold.seconds < 60,
    });
  }
  if (f.hooks) {
    const rows = f.hooks.rows.filter((r) => r.hook === 'PostTranslateModify');
    const largest = Math.max(...rows.map((r) => r.backends));
    const worst = rows.filter((r) => r.backends === largest).sort((a, b) => b.ratioP99 - a.ratioP99)[0];
    if (worst) {
      out.push({
        what: `PostTranslateModify with ${largest} Tailscale backends vs a no-op echo`,
        target: 'p99 ≤ 1.5× echo',
        measured: `p99 ${worst.ours.p99.toFixed(2)} ms vs ${worst.echo.p99.toFixed(2)} ms = ${worst.ratioP99.toFixed(2)}× (route generation ${worst.routeGeneration ? 'on' : 'off'}, the worse row)`,
        met: worst.ratioP99 <= 1.5,
      });
    }
  }
  if (f.idle) {
    out.push({
      what: `Idle, ${f.idle.services} services: Tailscale writes`,
      target: '0',
      measured: String(f.idle.tailscaleWrites),
      met: f.idle.tailscaleWrites === 0,
    });
    out.push({
      what: 'Idle: Temporal actions per service per day',
      target: '≤ 50',
      measured: f.idle.actionsPerServicePerDay.toFixed(1),
      met: f.idle.actionsPerServicePerDay <= 50,
    });
  }
  const memory = f.memory && defaultRun(f.memory);
  if (memory) {
    out.push({
      what: `Worker RSS with ${memory.openWorkflows} open workflows (workflow cache: ${memory.cache})`,
      target: '< 500 MB',
      measured: `${memory.workerRssSteadyMiB.toFixed(0)} MiB`,
      met: memory.workerRssSteadyMiB * 1.048576 < 500,
    });
  }
  const [prev, last] = f.growth?.rows.slice(-2) ?? [];
  if (f.growth && prev && last) {
    out.push({
      what: `Time per service at ${last.services} vs ${prev.services} services`,
      target: '≤ 1.3×',
      measured: `${f.growth.perServiceRatio.toFixed(2)}×`,
      met: f.growth.perServiceRatio <= 1.3,
    });
  }
  if (f.restart) {
    out.push(
      {
        what: `Restart with ${f.restart.services} converged services: until quiet`,
        target: '< 15 s',
        measured: `${f.restart.quietSeconds.toFixed(1)} s`,
        met: f.restart.quietSeconds < 15,
      },
      {
        what: 'Restart: Temporal actions per service',
        target: '< 3',
        measured: f.restart.actionsPerService.toFixed(2),
        met: f.restart.actionsPerService < 3,
      },
      {
        what: 'Restart: Tailscale writes',
        target: '0',
        measured: String(f.restart.tailscaleWrites),
        met: f.restart.tailscaleWrites === 0,
      },
    );
  }
  return out;
}

export function printTargets(checks: TargetCheck[]): string {
  return table(
    ['docs/architecture.md §7', 'target', 'measured', 'met'],
    checks.map((c) => [c.what, c.target, c.measured, c.met ? 'yes' : 'NO']),
  );
}

const all = ['hooks', 'propagation', 'cold', 'floor', 'idle', 'memory', 'growth', 'restart'] as const;

async function withStack<T>(work: (stack: BenchStack) => Promise<T>): Promise<T> {
  const stack = await benchStack();
  try {
    return await work(stack);
  } finally {
    await stack.stop();
  }
}

async function main() {
  const flags = parseFlags(process.argv.slice(2), { only: all.join(',') });
  const only = new Set(flags.only.split(','));
  const f: Figures = {};
  for (const name of all) {
    if (!only.has(name)) continue;
    console.log(`\n=== ${name} ===`);
    if (name === 'hooks') {
      f.hooks = await runHooks(hooksDefaults);
      console.log(printHooks(f.hooks));
      saveResult('extension-hooks', hooksDefaults, f.hooks);
    } else if (name === 'propagation') {
      f.propagation = await withStack((s) => runPropagation(s, propagationDefaults));
      console.log(printPropagation(f.propagation));
      saveResult('propagation', propagationDefaults, f.propagation);
    } else if (name === 'cold') {
      f.cold = await withStack((s) => runCold(s, coldDefaults));
      console.log(printCold(f.cold));
      saveResult('cold-convergence', coldDefaults, f.cold);
    } else if (name === 'floor') {
      f.floor = await withStack(async (s) => ({
        ours: await runFloor(s, floorDefaults),
        least: await runFloor(s, { ...floorDefaults, shape: 'least' }),
      }));
      console.log(printFloor(f.floor.ours));
      console.log(printFloor(f.floor.least));
      saveResult('temporal-floor', floorDefaults, f.floor);
    } else if (name === 'idle') {
      f.idle = await withStack((s) => runIdle(s, idleDefaults));
      console.log(printIdle(f.idle));
      saveResult('idle-cost', idleDefaults, f.idle);
    } else if (name === 'memory') {
      f.memory = await withStack((s) => runMemory(s, memoryDefaults));
      console.log(printMemory(f.memory));
      saveResult('worker-memory', memoryDefaults, f.memory);
    } else if (name === 'growth') {
      f.growth = await runGrowth(undefined, growthDefaults);
      console.log(printGrowth(f.growth));
      saveResult('growth', growthDefaults, f.growth);
    } else {
      f.restart = await withStack((s) => runRestart(s, restartDefaults));
      console.log(printRestart(f.restart));
      saveResult('restart', restartDefaults, f.restart);
    }
  }
  const checks = checkTargets(f);
  console.log(`\n=== docs/architecture.md §7 targets ===\n${printTargets(checks)}`);
  console.log(`→ ${saveResult('summary', { only: [...only] }, checks)}`);
}

if (require.main === module) runMain(main);
