/**
 * Where the time of one change goes (issue 17 point 2): one TailscaleServices created on an idle stack
 * (one endpoints pool of 2 proxies), then, from the histories, every workflow task, local activity and
 * signal between the create and Ready on one timeline. Per round it sums the time workflow tasks
 * waited in the task queue and ran (their local activities, the Kubernetes and Tailscale calls,
 * included), over every workflow of the path; the timeline shows which of it lies on the way to Ready
 * and what lies between (the watchers, signals in flight, the proxies).
 *
 *   npm run build && node dist/bench/single-change.js [--rounds 5] [--gap-ms 3000]
 */
import type { Client } from '@temporalio/client';
import { eventMs, localActivityType, taskTimes, type EventLike } from './support/actions';
import { startFixture, type Fixture } from './support/fixture';
import { createServices, servicesBody, sleep } from './support/objects';
import { fmt, percentile, table } from './support/report';
import { type BenchStack, runStackBench } from './support/stack';

export const singleChangeDefaults = {
  rounds: 5,
  replicas: 2,
  /** Quiet time before each round, so that no pass of the last one falls into the next. */
  gapMs: 3_000,
};
export type SingleChangeOptions = typeof singleChangeDefaults;

interface Step {
  /** ms after the create. */
  at: number;
  workflow: string;
  what: string;
  ms?: number;
}

interface RoundFigures {
  readyMs: number;
  workflowTasks: number;
  localActivities: number;
  /** Sums over every workflow of the path (tasks of different workflows may overlap). */
  queuedMs: number;
  taskMs: number;
  steps: Step[];
}

/** Every step of the workflows on `taskQueue` between `t0` and `t0 + untilMs` (wall clock). */
export async function pathSteps(
  client: Client,
  taskQueue: string,
  t0: number,
  untilMs: number,
): Promise<Omit<RoundFigures, 'readyMs'>> {
  const steps: Step[] = [];
  const figures = { workflowTasks: 0, localActivities: 0, queuedMs: 0, taskMs: 0 };
  for await (const wf of client.workflow.list({ query: `TaskQueue = '${taskQueue}'` })) {
    const idParts = wf.workflowId.split('/');
    const workflow = `${idParts[0]} ${idParts.at(-1)}`;
    const events = ((await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory()).events ??
      []) as EventLike[];
    const byId = new Map(events.map((e) => [String(e.eventId), e]));
    // A task's local activities are recorded as markers when it completes (the markers' own times are
    // workflow time, not when each ran), so each task lists the ones it ran.
    const localsOf = new Map<string, string[]>();
    for (const e of events) {
      const marker = e.markerRecordedEventAttributes;
      if (marker?.markerName !== 'core_local_activity') continue;
      const task = String(marker.workflowTaskCompletedEventId);
      localsOf.set(task, [...(localsOf.get(task) ?? []), localActivityType(marker)]);
    }
    const inWindow = (ms: number) => ms >= t0 - 5 && ms <= t0 + untilMs;
    for (const e of events) {
      const at = eventMs(e);
      if (!inWindow(at)) continue;
      const done = e.workflowTaskCompletedEventAttributes;
      const task = done && taskTimes(byId, e, done);
      if (task) {
        const queued = task.startedMs - task.scheduledMs;
        const locals = localsOf.get(String(e.eventId)) ?? [];
        figures.workflowTasks++;
        figures.localActivities += locals.length;
        figures.queuedMs += queued;
        figures.taskMs += task.closedMs - task.startedMs;
        steps.push({
          at: task.startedMs - t0,
          workflow,
          what: `workflow task (queued ${queued} ms)${locals.length ? `: ${locals.join(', ')}` : ''}`,
          ms: task.closedMs - task.startedMs,
        });
      }
      const signal = e.workflowExecutionSignaledEventAttributes?.signalName;
      if (signal) steps.push({ at: at - t0, workflow, what: `signal ${signal} arrives` });
    }
  }
  steps.sort((a, b) => a.at - b.at);
  return { ...figures, steps };
}

async function oneRound(stack: BenchStack, fixture: Fixture, name: string): Promise<RoundFigures> {
  const t0 = Date.now();
  const p0 = performance.now();
  await createServices(
    stack.kc,
    fixture.namespace,
    [
      servicesBody({
        name,
        tailnet: fixture.tailnet.name,
        pool: fixture.pools[0]!,
        labels: fixture.operator.labels,
      }),
    ],
    1,
  );
  while (!fixture.tracker.readyAt.get(name)) await sleep(2);
  const readyMs = fixture.tracker.readyAt.get(name)!.at - p0;
  // Histories are written as the tasks complete; the last one may lag the status write a little.
  await sleep(500);
  const path = await pathSteps(stack.temporal, fixture.operator.taskQueue, t0, readyMs);
  return { readyMs, ...path };
}

export async function runSingleChange(
  stack: BenchStack,
  opts: SingleChangeOptions,
  log: (line: string) => void = console.log,
) {
  const fixture = await startFixture({
    stack,
    name: 'bench-single',
    endpoints: 1,
    replicas: opts.replicas,
    log,
  });
  try {
    const rounds: RoundFigures[] = [];
    for (let i = 0; i < opts.rounds; i++) {
      await sleep(opts.gapMs);
      const round = await oneRound(stack, fixture, `s-${i}`);
      log(`  round ${i + 1}: Ready after ${fmt(round.readyMs)} ms`);
      rounds.push(round);
    }
    const readySorted = rounds.map((r) => r.readyMs).sort((a, b) => a - b);
    return { rounds, readyP50Ms: percentile(readySorted, 0.5) };
  } finally {
    await fixture.close();
  }
}

export type SingleChangeFigures = Awaited<ReturnType<typeof runSingleChange>>;

export function printSingleChange(f: SingleChangeFigures): string {
  const summary = table(
    ['round', 'Ready ms', 'workflow tasks', 'queued ms', 'in tasks ms', 'local activities'],
    f.rounds.map((r, i) => [
      String(i + 1),
      r.readyMs,
      r.workflowTasks,
      r.queuedMs,
      r.taskMs,
      r.localActivities,
    ]),
  );
  const last = f.rounds.at(-1);
  const timeline = last
    ? table(
        ['ms', 'workflow', 'step', 'took ms'],
        last.steps.map((s) => [fmt(s.at), s.workflow, s.what, s.ms === undefined ? '' : fmt(s.ms)]),
      )
    : '';
  return [
    `one TailscaleServices created, to Ready: p50 ${fmt(f.readyP50Ms)} ms over ${f.rounds.length} rounds`,
    summary,
    'the last round, step by step (ms after the create):',
    timeline,
  ].join('\n');
}

if (require.main === module)
  runStackBench('single-change', singleChangeDefaults, runSingleChange, printSingleChange);
